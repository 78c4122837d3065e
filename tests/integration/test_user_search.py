"""Free-text user search (``users_page(q=...)``) on SQLite and PostgreSQL: every word of the
query must start a word of the user's username, email or names; the index follows adds,
updates and deletes in the same transaction; results keep the keyset order and combine with
the other filters, whichever way the query is driven (rare word or common words)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import column, create_engine, func, select, table, text

from keystead.adapters.sql import create_engine_for, search, upgrade
from keystead.adapters.sql import tables as t
from keystead.adapters.sql import users as users_module
from keystead.adapters.sql.search import prefix_upper_bound, query_words, user_tokens
from keystead.adapters.sql.storage import SqlStorage
from keystead.ports.records import User


@pytest.fixture(params=["rare word drives", "common words walk", "walk too short, then drive"])
def drive_limit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every plan must give the same answers: with a limit of 0 every word counts as common, and
    with a window of one user the walk never fills a page and the rarest word drives after all."""
    if request.param != "rare word drives":
        monkeypatch.setattr(search, "DRIVE_LIMIT", 0)
    if request.param == "walk too short, then drive":
        monkeypatch.setattr(users_module, "WALK_WINDOW", 1)
    return str(request.param)


def _add(keystead, tenant_id: str, username: str, email: str | None = None, **kwargs: object) -> User:  # type: ignore[no-untyped-def]
    user = User(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        username=username,
        email=email,
        created_at=kwargs.pop("created_at", 1_000.0),  # type: ignore[arg-type]
        updated_at=1_000.0,
        **kwargs,  # type: ignore[arg-type]
    )
    keystead.storage.add_user(user)
    return user


def _names(keystead, tenant_id: str, q: str, **filters: object) -> list[str]:  # type: ignore[no-untyped-def]
    page = keystead.storage.users_page(tenant_id, after=None, limit=100, q=q, **filters)
    return [u.username for u in page]


def _token_rows(keystead, user_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    tok = t.user_search_tokens.c
    with keystead.storage.engine.connect() as conn:
        return set(conn.execute(select(tok.token).where(tok.user_id == user_id)).scalars())


@pytest.fixture
def people(keystead, factory):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    _add(keystead, tenant.id, "ada.lovelace", "ada@analytical.org", given_name="Ada", family_name="Lovelace")
    _add(keystead, tenant.id, "grace", "g.hopper@navy.mil", given_name="Grace", family_name="Hopper")
    _add(keystead, tenant.id, "alan_turing", "alan@bletchley.uk", name="Alan Mathison Turing")
    _add(keystead, tenant.id, "zoe", "ZOË@Example.com", given_name="Zoë", family_name="Ådahl")
    _add(keystead, tenant.id, "noemail", None, status="disabled")
    return tenant


def test_each_word_must_start_a_word_of_username_email_or_names(keystead, people, drive_limit):
    assert _names(keystead, people.id, "ada") == ["ada.lovelace"]  # "ådahl" does not start with "ada"
    assert _names(keystead, people.id, "LOVE") == ["ada.lovelace"]
    assert _names(keystead, people.id, "hop") == ["grace"]  # family name
    assert _names(keystead, people.id, "navy") == ["grace"]  # email domain label
    assert _names(keystead, people.id, "mathison") == ["alan_turing"]  # full name
    assert _names(keystead, people.id, "tur") == ["alan_turing"]  # after "_" in the username
    assert _names(keystead, people.id, "bletchley.uk") == ["alan_turing"]  # two words, both present
    assert _names(keystead, people.id, "ådahl zoë") == ["zoe"]
    assert _names(keystead, people.id, "Ada Hopper") == []  # both words must match one user
    assert _names(keystead, people.id, "ovelace") == []  # a word's start, not its middle
    assert _names(keystead, people.id, "nobody") == []


def test_a_query_without_words_places_no_condition(keystead, people, drive_limit):
    assert len(_names(keystead, people.id, "  @.-_ ")) == 5


def test_search_combines_with_the_other_filters(keystead, people, drive_limit):
    assert _names(keystead, people.id, "a", status="active") == ["ada.lovelace", "alan_turing"]
    assert _names(keystead, people.id, "a", username_prefix="al") == ["alan_turing"]
    assert _names(keystead, people.id, "hopper", email="G.Hopper@NAVY.mil") == ["grace"]
    assert _names(keystead, people.id, "hopper", email="ada@analytical.org") == []
    assert _names(keystead, people.id, "noemail", status="disabled") == ["noemail"]


def test_pages_of_a_search_follow_the_keyset_order(keystead, factory, drive_limit):
    tenant = factory.tenant()
    for i in (5, 1, 4, 2, 3):
        _add(keystead, tenant.id, f"smith{i}", f"s{i}@example.com", family_name="Smith")
    _add(keystead, tenant.id, "jones", "jones@example.com", family_name="Jones")

    seen: list[str] = []
    after = None
    while True:
        page = keystead.storage.users_page(tenant.id, after=after, limit=2, q="smi")
        if not page:
            break
        seen += [u.username for u in page]
        after = (page[-1].username.casefold(), page[-1].id)
    assert seen == ["smith1", "smith2", "smith3", "smith4", "smith5"]


def test_another_tenants_users_are_never_found(keystead, people, factory, drive_limit):
    other = factory.tenant()
    _add(keystead, other.id, "ada.other", "ada@other.org")
    assert _names(keystead, people.id, "ada other") == []
    assert _names(keystead, other.id, "ada") == ["ada.other"]


def test_renaming_a_user_replaces_their_tokens_in_the_same_write(keystead, people, drive_limit):
    ada = keystead.storage.user_by_login(people.id, "ada.lovelace")

    assert keystead.storage.update_user(people.id, ada.id, username="countess", family_name="King")

    assert _names(keystead, people.id, "lovelace") == []
    assert _names(keystead, people.id, "king countess") == ["countess"]
    assert _names(keystead, people.id, "analytical") == ["countess"]  # the email did not change
    assert _token_rows(keystead, ada.id) == {"ada", "analytical", "countess", "king", "org"}


def test_an_update_that_matches_no_row_leaves_the_tokens_alone(keystead, people):
    ada = keystead.storage.user_by_login(people.id, "ada.lovelace")
    before = _token_rows(keystead, ada.id)

    assert not keystead.storage.update_user(people.id, ada.id, expected_updated_at=1.0, username="x")
    assert keystead.storage.update_user(people.id, ada.id, status="disabled")  # not a searched field

    assert _token_rows(keystead, ada.id) == before


def test_a_rename_onto_a_taken_username_changes_no_tokens(keystead, people):
    from keystead.errors import Conflict

    ada = keystead.storage.user_by_login(people.id, "ada.lovelace")
    before = _token_rows(keystead, ada.id)
    with pytest.raises(Conflict):
        keystead.storage.update_user(people.id, ada.id, username="GRACE")
    assert _token_rows(keystead, ada.id) == before


def test_deleting_a_user_deletes_their_tokens(keystead, people):
    grace = keystead.storage.user_by_login(people.id, "grace")
    assert _token_rows(keystead, grace.id)

    assert keystead.storage.delete_user(people.id, grace.id)

    assert _token_rows(keystead, grace.id) == set()
    assert _names(keystead, people.id, "hopper") == []


def test_username_prefix_is_literal_and_case_insensitive(keystead, factory):
    tenant = factory.tenant()
    for name in ("a%b", "a_c", "abc", "ab"):
        _add(keystead, tenant.id, name)
    page = keystead.storage.users_page
    assert [u.username for u in page(tenant.id, after=None, limit=10, username_prefix="A%")] == ["a%b"]
    assert [u.username for u in page(tenant.id, after=None, limit=10, username_prefix="a_")] == ["a_c"]
    assert [u.username for u in page(tenant.id, after=None, limit=10, username_prefix="AB")] == ["ab", "abc"]


def test_tokens_are_words_without_those_that_start_another_token():
    user = User(id="u", tenant_id="t", username="jo.johnson", email="JO@Example.com", name="Jo Johnson")
    assert user_tokens(user) == ["com", "example", "johnson"]
    assert user_tokens(User(id="u", tenant_id="t", username="___")) == []


def test_query_words_drop_repeats_and_prefixes_of_other_words():
    assert query_words("Jo JOHN jo  smith") == ["smith", "john"]
    assert query_words("@@@") == []
    assert len(query_words(" ".join(f"w{i:02d}" for i in range(20)))) == search.MAX_QUERY_WORDS


def test_prefix_upper_bounds_cover_exactly_the_strings_with_the_prefix():
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("x\ud7ff") == "x\ue000"  # surrogates are skipped
    bound = prefix_upper_bound("zoë")
    assert bound is not None
    assert "zoë" <= "zoëzzz" < bound
    assert not ("zoë" <= "zoì" < bound)  # the character after "ë"


@pytest.fixture
def fresh_database_url(tmp_path):  # type: ignore[no-untyped-def]
    """An empty database of its own (the migration is run from the start)."""
    if os.environ.get("KEYSTEAD_TEST_DATABASE") != "postgres":
        yield f"sqlite:///{tmp_path / 'backfill.db'}"
        return
    base = os.environ.get("KEYSTEAD_TEST_PG_URL")
    if not base:
        pytest.skip("KEYSTEAD_TEST_DATABASE=postgres needs KEYSTEAD_TEST_PG_URL")
    name = f"keystead_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_backfill"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migration_0004_writes_the_tokens_of_existing_users_in_batches(fresh_database_url):
    engine = create_engine_for(fresh_database_url)
    try:
        upgrade(engine, "0003")
        tenants = table(
            "tenants", *(column(c) for c in ("id", "name", "display_name", "status", "created_at"))
        )
        fields = ("id", "tenant_id", "username", "username_norm", "email", "email_norm", "email_verified")
        users = table(
            "users",
            *(
                column(c)
                for c in (
                    *fields,
                    "status",
                    "family_name",
                    "phone_number_verified",
                    "created_at",
                    "updated_at",
                )
            ),
        )
        count = 2_345  # more than one backfill batch
        rows = [
            {
                "id": f"{i:08d}-0000-0000-0000-000000000000",
                "tenant_id": "tenant-1",
                "username": f"Old.User{i}",
                "username_norm": f"old.user{i}",
                "email": f"old{i}@Legacy.example",
                "email_norm": f"old{i}@legacy.example",
                "email_verified": False,
                "status": "active",
                "family_name": "Zimmermann" if i == 2_001 else None,
                "phone_number_verified": False,
                "created_at": 1.0,
                "updated_at": 1.0,
            }
            for i in range(count)
        ]
        with engine.begin() as conn:
            conn.execute(
                tenants.insert(),
                {
                    "id": "tenant-1",
                    "name": "legacy",
                    "display_name": "L",
                    "status": "active",
                    "created_at": 1.0,
                },
            )
            conn.execute(users.insert(), rows)

        upgrade(engine)

        storage = SqlStorage(engine)
        tok = t.user_search_tokens.c
        with engine.connect() as conn:
            per_user = conn.execute(select(func.count(func.distinct(tok.user_id)))).scalar_one()
        assert per_user == count
        found = storage.users_page("tenant-1", after=None, limit=5, q="zimmer legacy")
        assert [u.username for u in found] == ["Old.User2001"]
        assert [u.username for u in storage.users_page("tenant-1", after=None, limit=5, q="user1234")] == [
            "Old.User1234"
        ]
    finally:
        engine.dispose()
