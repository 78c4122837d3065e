"""Recovery codes: ten single-use codes from an unambiguous alphabet, shown once and stored
only as HMACs; a code works once (also when several threads send it at the same moment), a new
set replaces the old one, input is read leniently, wrong codes lock the set for a while."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, select

from keystead.adapters.sql.tables import user_factors
from keystead.clock import FrozenClock
from keystead.errors import NotFound
from keystead.ports.records import User
from keystead.services.factors import FactorLocked, InvalidCode
from keystead.services.recovery_codes import ALPHABET, normalise
from keystead.wiring import Keystead
from tests.support.concurrency import race
from tests.support.factories import Factory

CODE = re.compile(r"^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{5}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{5}$")


@pytest.fixture
def user(factory: Factory) -> User:
    return factory.user(factory.tenant())


def test_ten_distinct_grouped_codes_from_an_unambiguous_alphabet(keystead: Keystead, user: User) -> None:
    made = keystead.factors.generate_recovery_codes(user.tenant_id, user.id)

    assert len(made.codes) == 10 == len(set(made.codes))
    assert all(CODE.match(code) for code in made.codes)
    assert not set("01IO") & set(ALPHABET) and len(ALPHABET) == 32
    summary = keystead.factors.list_factors(user.tenant_id, user.id)
    assert [(s.kind, s.status, s.remaining_codes) for s in summary] == [("recovery_codes", "active", 10)]
    assert keystead.factors.has_second_factor(user.tenant_id, user.id)


def test_a_code_works_once_and_the_count_goes_down(
    keystead: Keystead, user: User, clock: FrozenClock
) -> None:
    codes = keystead.factors.generate_recovery_codes(user.tenant_id, user.id).codes

    used = keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[3])

    assert used.amr == ("otp",) and used.factor.last_used_at == clock.now
    with pytest.raises(InvalidCode):
        keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[3])
    keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[0])
    assert keystead.factors.list_factors(user.tenant_id, user.id)[0].remaining_codes == 8


def test_codes_are_read_case_insensitively_with_or_without_dashes_and_spaces(
    keystead: Keystead, user: User
) -> None:
    codes = keystead.factors.generate_recovery_codes(user.tenant_id, user.id).codes

    keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[0].lower())
    keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[1].replace("-", ""))
    keystead.factors.use_recovery_code(user.tenant_id, user.id, " " + codes[2].replace("-", " ") + "\n")

    assert keystead.factors.list_factors(user.tenant_id, user.id)[0].remaining_codes == 7
    assert normalise("ABCDE-FGHJ0") is None and normalise("ABCDE-FGHJ") is None


def test_a_new_set_replaces_the_old_one(keystead: Keystead, user: User) -> None:
    old = keystead.factors.generate_recovery_codes(user.tenant_id, user.id)
    keystead.factors.use_recovery_code(user.tenant_id, user.id, old.codes[0])

    new = keystead.factors.generate_recovery_codes(user.tenant_id, user.id)

    with pytest.raises(InvalidCode):
        keystead.factors.use_recovery_code(user.tenant_id, user.id, old.codes[1])
    factors = keystead.factors.list_factors(user.tenant_id, user.id)
    assert [(f.id, f.remaining_codes) for f in factors] == [(new.factor.id, 10)]
    keystead.factors.use_recovery_code(user.tenant_id, user.id, new.codes[1])


def test_codes_are_stored_only_as_hmacs(keystead: Keystead, user: User, settings) -> None:
    made = keystead.factors.generate_recovery_codes(user.tenant_id, user.id)

    engine = create_engine(settings.database.url)
    try:
        with engine.connect() as conn:
            rows = [repr(tuple(r)) for r in conn.execute(select(user_factors))]
    finally:
        engine.dispose()
    assert any(made.factor.id in row for row in rows)
    for code in made.codes:
        assert not any(code in row or code.replace("-", "") in row for row in rows)
    entries = made.factor.data["codes"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["mac"]) and e["used_at"] is None for e in entries)


def test_five_wrong_codes_lock_the_set(keystead: Keystead, user: User, clock: FrozenClock) -> None:
    codes = keystead.factors.generate_recovery_codes(user.tenant_id, user.id).codes

    for wrong in ("ZZZZZ-ZZZZZ", "not a code", "", "22222-22222", "ABCDE-FGHJK"):
        with pytest.raises(InvalidCode):
            keystead.factors.use_recovery_code(user.tenant_id, user.id, wrong)
    with pytest.raises(FactorLocked) as locked:
        keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[0])
    assert locked.value.retry_after == 300

    clock.advance(300)
    keystead.factors.use_recovery_code(user.tenant_id, user.id, codes[0])
    assert keystead.factors.list_factors(user.tenant_id, user.id)[0].remaining_codes == 9


def test_a_used_up_set_is_not_a_second_factor(keystead: Keystead, user: User) -> None:
    assert not keystead.factors.has_second_factor(user.tenant_id, user.id)
    codes = keystead.factors.generate_recovery_codes(user.tenant_id, user.id).codes
    for i, code in enumerate(codes):
        keystead.factors.use_recovery_code(user.tenant_id, user.id, code)
        assert keystead.factors.has_second_factor(user.tenant_id, user.id) is (i < 9)


def test_without_a_set_or_a_user_not_found(keystead: Keystead, user: User) -> None:
    with pytest.raises(NotFound):
        keystead.factors.use_recovery_code(user.tenant_id, user.id, "ABCDE-FGHJK")
    with pytest.raises(NotFound):
        keystead.factors.generate_recovery_codes(user.tenant_id, "no-such-user")


def test_a_code_of_another_user_does_not_work(keystead: Keystead, factory: Factory, user: User) -> None:
    other = factory.user(factory.tenant())
    theirs = keystead.factors.generate_recovery_codes(other.tenant_id, other.id).codes
    keystead.factors.generate_recovery_codes(user.tenant_id, user.id)

    with pytest.raises(InvalidCode):
        keystead.factors.use_recovery_code(user.tenant_id, user.id, theirs[0])


def test_concurrent_uses_of_one_code_one_succeeds(keystead: Keystead, user: User) -> None:
    code = keystead.factors.generate_recovery_codes(user.tenant_id, user.id).codes[0]
    threads = 4

    def use(_: int) -> str:
        try:
            keystead.factors.use_recovery_code(user.tenant_id, user.id, code)
        except InvalidCode:
            return "refused"
        return "ok"

    outcomes = race(threads, use)
    assert sorted(outcomes) == ["ok"] + ["refused"] * (threads - 1)
    assert keystead.factors.list_factors(user.tenant_id, user.id)[0].remaining_codes == 9


def test_concurrent_generations_leave_one_set(keystead: Keystead, user: User) -> None:
    threads = 4

    def generate(_: int) -> str | BaseException:
        try:
            return keystead.factors.generate_recovery_codes(user.tenant_id, user.id).factor.id
        except BaseException as exc:
            return exc

    results = race(threads, generate)
    made = [r for r in results if isinstance(r, str)]
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [] and len(made) == threads
    factors = keystead.factors.list_factors(user.tenant_id, user.id)
    assert [f.kind for f in factors] == ["recovery_codes"] and factors[0].id in made
