"""The second-factor store on the test backend: records round-trip, updates are
compare-and-set on the version (two writers from one version: exactly one wins, with threads),
names are unique per user and kind, replacing is atomic, and a user's factors go with the user."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from keystead.errors import Conflict
from keystead.ports.records import User, UserFactor
from keystead.wiring import Keystead
from tests.support.concurrency import race
from tests.support.factories import Factory


def _factor(user: User, *, kind: str = "totp", name: str = "Phone", status: str = "pending") -> UserFactor:
    return UserFactor(
        id=str(uuid.uuid4()),
        tenant_id=user.tenant_id,
        user_id=user.id,
        kind=kind,
        name=name,
        status=status,
        created_at=1_800_000_000.0,
        secret=b"\x00ciphertext\xff",
        data={"last_step": None, "failures": 0},
    )


@pytest.fixture
def user(factory: Factory) -> User:
    return factory.user(factory.tenant())


def test_a_factor_round_trips(keystead: Keystead, user: User) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)

    assert keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id) == factor
    assert keystead.storage.factors_of_user(user.tenant_id, user.id) == [factor]


def test_factors_are_scoped_to_their_tenant_and_user(
    keystead: Keystead, factory: Factory, user: User
) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)
    other = factory.user(factory.tenant())

    assert keystead.storage.factor_by_id(other.tenant_id, user.id, factor.id) is None
    assert keystead.storage.factor_by_id(user.tenant_id, other.id, factor.id) is None
    assert keystead.storage.factors_of_user(other.tenant_id, other.id) == []
    assert keystead.storage.delete_factor(other.tenant_id, user.id, factor.id) is False
    assert keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id) == factor


def test_an_update_is_a_compare_and_set_on_the_version(keystead: Keystead, user: User) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)

    updated = keystead.storage.update_factor(factor, status="active", data={"last_step": 7})
    stale = keystead.storage.update_factor(factor, status="pending")

    assert updated is not None and updated.version == factor.version + 1
    assert stale is None
    stored = keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id)
    assert stored == updated
    assert stored is not None and stored.status == "active" and stored.data == {"last_step": 7}


def test_an_update_may_not_change_identity_or_version(keystead: Keystead, user: User) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)

    with pytest.raises(ValueError, match="identity"):
        keystead.storage.update_factor(factor, version=99)
    assert keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id) == factor


def test_concurrent_updates_from_one_version_one_wins(keystead: Keystead, user: User) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)
    threads = 8
    results = race(threads, lambda step: keystead.storage.update_factor(factor, data={"last_step": step}))
    winners = [r for r in results if r is not None]
    assert len(results) == threads
    assert len(winners) == 1
    assert keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id) == winners[0]


def test_a_name_is_unique_per_user_and_kind(keystead: Keystead, user: User) -> None:
    keystead.storage.add_factor(_factor(user, status="active"))

    with pytest.raises(Conflict):
        keystead.storage.add_factor(_factor(user))
    keystead.storage.add_factor(_factor(user, kind="recovery_codes"))
    assert len(keystead.storage.factors_of_user(user.tenant_id, user.id)) == 2


def test_replace_deletes_only_the_given_status_in_the_same_write(keystead: Keystead, user: User) -> None:
    active = _factor(user, status="active")
    keystead.storage.add_factor(active)
    pending = _factor(user, name="Tablet")
    keystead.storage.add_factor(pending)

    again = _factor(user, name="Tablet")
    keystead.storage.add_factor(again, replace="pending")
    with pytest.raises(Conflict):
        keystead.storage.add_factor(_factor(user), replace="pending")  # "Phone" is active

    ids = {f.id for f in keystead.storage.factors_of_user(user.tenant_id, user.id)}
    assert ids == {active.id, again.id}
    newer = _factor(user)
    keystead.storage.add_factor(newer, replace="any")
    ids = {f.id for f in keystead.storage.factors_of_user(user.tenant_id, user.id)}
    assert ids == {newer.id, again.id}


def test_listing_is_oldest_first(keystead: Keystead, user: User) -> None:
    later = replace(_factor(user, name="B"), created_at=2_000_000_000.0)
    earlier = _factor(user, name="A")
    keystead.storage.add_factor(later)
    keystead.storage.add_factor(earlier)

    assert [f.id for f in keystead.storage.factors_of_user(user.tenant_id, user.id)] == [earlier.id, later.id]


def test_delete_one_and_all(keystead: Keystead, user: User) -> None:
    first, second, third = (_factor(user, name=n) for n in "ABC")
    for f in (first, second, third):
        keystead.storage.add_factor(f)

    assert keystead.storage.delete_factor(user.tenant_id, user.id, first.id) is True
    assert keystead.storage.delete_factor(user.tenant_id, user.id, first.id) is False
    assert keystead.storage.delete_factors_of_user(user.tenant_id, user.id) == 2
    assert keystead.storage.factors_of_user(user.tenant_id, user.id) == []


def test_a_users_factors_go_with_the_user(keystead: Keystead, user: User) -> None:
    factor = _factor(user)
    keystead.storage.add_factor(factor)

    keystead.users.delete(user.tenant_id, user.id)

    assert keystead.storage.factor_by_id(user.tenant_id, user.id, factor.id) is None
