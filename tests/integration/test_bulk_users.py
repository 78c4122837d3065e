"""The bulk user insert's storage contract (BulkUserStore), on SQLite and PostgreSQL:
one transaction per batch, duplicates skipped (in the batch and against existing rows,
emails case-insensitively), every field round-trips, and search tokens for inserted users only."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from keystead.adapters.sql import tables as t
from keystead.ports.records import User


def _user(tenant_id: str, username: str, email: str | None = None, **kwargs: object) -> User:
    return User(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        username=username,
        email=email if email is not None else f"{username}@example.com",
        created_at=1_700_000_000.0,
        updated_at=1_700_000_000.0,
        **kwargs,  # type: ignore[arg-type]
    )


def _tokens(keystead, user_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    tokens = t.user_search_tokens
    with keystead.storage.engine.connect() as conn:
        return set(conn.execute(select(tokens.c.token).where(tokens.c.user_id == user_id)).scalars())


def test_every_field_round_trips_and_indexes_of_inserted_rows_are_returned(keystead, factory):
    tenant = factory.tenant()
    full = _user(
        tenant.id,
        "Ada.Lovelace",
        "Ada@Example.ORG",
        email_verified=True,
        status="disabled",
        password_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        given_name="Ada",
        family_name="Lovelace",
        name="Ada King",
        phone_number="+44 20 7946 0000",
        phone_number_verified=True,
        address={"locality": "London", "country": "UK"},
        locale="en-GB",
        roles=("admin",),
    )
    bare = User(id=str(uuid.uuid4()), tenant_id=tenant.id, username="bare", created_at=1.0, updated_at=2.0)

    assert keystead.storage.add_users_bulk(tenant.id, [full, bare]) == [0, 1]

    assert keystead.storage.user_by_id(tenant.id, full.id) == full
    assert keystead.storage.user_by_id(tenant.id, bare.id) == bare
    assert keystead.storage.user_by_login(tenant.id, "ada@example.org") == full
    assert keystead.storage.user_by_login(tenant.id, "ADA.LOVELACE") == full


def test_duplicates_in_the_batch_keep_the_first_and_skip_the_rest(keystead, factory):
    tenant = factory.tenant()
    batch = [
        _user(tenant.id, "alice", "alice@example.com"),
        _user(tenant.id, "ALICE", "other@example.com"),  # same username, case-folded
        _user(tenant.id, "bob", "Alice@EXAMPLE.com"),  # same email, case-folded
        _user(tenant.id, "carol", "carol@example.com"),
        _user(tenant.id, " Carol ", "carol2@example.com"),  # same username once trimmed
    ]

    assert keystead.storage.add_users_bulk(tenant.id, batch) == [0, 3]

    assert keystead.storage.user_by_login(tenant.id, "alice").id == batch[0].id
    assert keystead.storage.user_by_login(tenant.id, "bob") is None
    assert keystead.storage.user_by_login(tenant.id, "other@example.com") is None
    assert keystead.storage.count_users(tenant.id) == 2


def test_users_taken_in_the_tenant_are_skipped_and_the_rest_inserted(keystead, factory):
    tenant = factory.tenant()
    existing = factory.user(tenant, "dave", email="Dave@Example.com")
    batch = [
        _user(tenant.id, "new1"),
        _user(tenant.id, "DAVE", "fresh@example.com"),  # username taken
        _user(tenant.id, "erin", "dave@example.COM"),  # email taken, other case
        _user(tenant.id, "new2"),
    ]

    assert keystead.storage.add_users_bulk(tenant.id, batch) == [0, 3]

    assert keystead.storage.user_by_login(tenant.id, "dave").id == existing.id
    assert keystead.storage.user_by_login(tenant.id, "erin") is None
    assert _tokens(keystead, batch[1].id) == set()
    assert _tokens(keystead, batch[2].id) == set()


def test_rerunning_the_same_batch_inserts_nothing(keystead, factory):
    tenant = factory.tenant()
    batch = [_user(tenant.id, f"user{i}") for i in range(30)]
    assert keystead.storage.add_users_bulk(tenant.id, batch) == list(range(30))

    again = [_user(tenant.id, f"USER{i}", f"User{i}@example.com") for i in range(30)]
    assert keystead.storage.add_users_bulk(tenant.id, again) == []
    assert keystead.storage.add_users_bulk(tenant.id, batch) == []  # same ids too
    assert keystead.storage.count_users(tenant.id) == 30


def test_users_without_email_do_not_collide_with_each_other(keystead, factory):
    tenant = factory.tenant()
    batch = [User(id=str(uuid.uuid4()), tenant_id=tenant.id, username=f"noemail{i}") for i in range(3)]
    assert keystead.storage.add_users_bulk(tenant.id, batch) == [0, 1, 2]


def test_the_same_names_in_another_tenant_are_not_duplicates(keystead, factory):
    first, second = factory.tenant(), factory.tenant()
    assert keystead.storage.add_users_bulk(first.id, [_user(first.id, "shared")]) == [0]
    assert keystead.storage.add_users_bulk(second.id, [_user(second.id, "shared")]) == [0]
    assert keystead.storage.user_by_login(second.id, "shared@example.com").tenant_id == second.id


def test_search_tokens_are_written_for_inserted_users(keystead, factory):
    tenant = factory.tenant()
    user = _user(
        tenant.id,
        "grace_hopper",
        "G.Hopper@Navy.mil",
        given_name="Grace",
        family_name="Hopper",
        name="Amazing Grace",
    )

    keystead.storage.add_users_bulk(tenant.id, [user])

    # "g" (from the email) is a prefix of "grace": it would match nothing more, so no row.
    assert _tokens(keystead, user.id) == {"amazing", "grace", "hopper", "mil", "navy"}


def test_a_batch_of_another_tenants_users_is_refused_and_nothing_written(keystead, factory):
    tenant, other = factory.tenant(), factory.tenant()
    batch = [_user(tenant.id, "mine"), _user(other.id, "theirs")]

    with pytest.raises(ValueError, match="belongs to tenant"):
        keystead.storage.add_users_bulk(tenant.id, batch)

    assert keystead.storage.count_users(tenant.id) == 0
    assert keystead.storage.count_users(other.id) == 0


def test_an_empty_batch_writes_nothing(keystead, factory):
    tenant = factory.tenant()
    assert keystead.storage.add_users_bulk(tenant.id, []) == []
    assert keystead.storage.count_users(tenant.id) == 0


def test_a_large_batch_spans_several_statements(keystead, factory):
    tenant = factory.tenant()
    batch = [_user(tenant.id, f"bulk{i:05d}") for i in range(1_234)]
    batch.append(_user(tenant.id, "bulk00007"))  # a duplicate after the first statement's rows

    inserted = keystead.storage.add_users_bulk(tenant.id, batch)

    assert inserted == list(range(1_234))
    assert keystead.storage.count_users(tenant.id) == 1_234
    page = keystead.storage.users_page(tenant.id, after=None, limit=3, username_prefix="bulk0123")
    assert [u.username for u in page] == ["bulk01230", "bulk01231", "bulk01232"]
