"""One-time codes and links on the real database with an injected clock: single use, the attempt
limit, the expiry edge, the binding to a sign-in and a purpose, tenant isolation, HMACs only,
and one winner when two requests use the same code at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from keystead.adapters.sql import tables as t
from keystead.clock import FrozenClock
from keystead.ports.records import Tenant, User
from keystead.services.one_time_codes import SECOND_FACTOR, SIGN_IN, UNLOCK, CodeRefused, OneTimeCodes
from keystead.wiring import Keystead
from tests.support.concurrency import race
from tests.support.factories import Factory

HANDLE = "interaction-handle-1"


@pytest.fixture
def env(keystead: Keystead, factory: Factory) -> tuple[OneTimeCodes, Tenant, User]:
    tenant = factory.tenant()
    return keystead.messaging.codes, tenant, factory.user(tenant)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_works_once(env):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    assert issued.code is not None and len(issued.code) == 6 and issued.code.isdigit()
    used = codes.check_code(tenant.id, issued.id, issued.code, purpose=SECOND_FACTOR, binding=HANDLE)
    assert used.user_id == user.id and used.used_at is not None
    with pytest.raises(CodeRefused):
        codes.check_code(tenant.id, issued.id, issued.code, purpose=SECOND_FACTOR, binding=HANDLE)


def test_the_code_may_be_typed_with_spaces(env):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    spaced = f"{issued.code[:3]} {issued.code[3:]}"
    assert codes.check_code(tenant.id, issued.id, spaced, purpose=SECOND_FACTOR, binding=HANDLE)


def test_wrong_codes_spend_the_challenge_after_the_limit(env):
    codes, tenant, user = env
    limit = codes.settings.max_attempts
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    assert issued.code is not None
    for attempt in range(1, limit + 1):
        with pytest.raises(CodeRefused) as refused:
            codes.check_code(tenant.id, issued.id, _wrong(issued.code), purpose=SECOND_FACTOR, binding=HANDLE)
        assert refused.value.spent is (attempt == limit)
    with pytest.raises(CodeRefused) as refused:  # now even the right code
        codes.check_code(tenant.id, issued.id, issued.code, purpose=SECOND_FACTOR, binding=HANDLE)
    assert refused.value.spent


@pytest.mark.parametrize("bad", ["", "abcdef", "12345", "1234567", "x" * 500])
def test_malformed_codes_count_as_wrong(env, bad, keystead: Keystead):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    with pytest.raises(CodeRefused):
        codes.check_code(tenant.id, issued.id, bad, purpose=SECOND_FACTOR, binding=HANDLE)
    row = keystead.storage.one_time_code(tenant.id, issued.id)
    assert row is not None and row.attempts == 1


def test_a_code_expires_at_its_ttl(env, clock: FrozenClock):
    codes, tenant, user = env
    first = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    second = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    assert first.expires_at == clock() + codes.settings.code_ttl
    clock.now = first.expires_at - 0.001
    assert codes.check_code(tenant.id, first.id, first.code or "", purpose=SECOND_FACTOR, binding=HANDLE)
    clock.now = second.expires_at
    with pytest.raises(CodeRefused):
        codes.check_code(tenant.id, second.id, second.code or "", purpose=SECOND_FACTOR, binding=HANDLE)


def test_a_code_is_bound_to_its_sign_in_purpose_and_tenant(env, factory: Factory):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    code = issued.code or ""
    other = factory.tenant()
    for tenant_id, purpose, binding in (
        (tenant.id, SECOND_FACTOR, "another-handle"),
        (tenant.id, SECOND_FACTOR, None),
        (tenant.id, SIGN_IN, HANDLE),
        (other.id, SECOND_FACTOR, HANDLE),
    ):
        with pytest.raises(CodeRefused):
            codes.check_code(tenant_id, issued.id, code, purpose=purpose, binding=binding)
    assert codes.check_code(tenant.id, issued.id, code, purpose=SECOND_FACTOR, binding=HANDLE)


@pytest.mark.parametrize("code_id", ["", "nope", "../x", "0" * 32])
def test_an_unknown_challenge_is_refused(env, code_id):
    codes, tenant, _user = env
    with pytest.raises(CodeRefused):
        codes.check_code(tenant.id, code_id, "123456", purpose=SECOND_FACTOR, binding=HANDLE)


def test_a_link_works_once_and_only_with_its_secret(env, clock: FrozenClock):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, UNLOCK, code=False, link=True, ttl=60)
    assert issued.code is None and issued.link_token is not None
    code_id, _, secret = issued.link_token.partition(".")
    for token in (f"{code_id}.", f"{code_id}.{secret[:-1]}x", code_id, f"{'0' * 32}.{secret}"):
        with pytest.raises(CodeRefused):
            codes.use_link(tenant.id, token, purpose=UNLOCK)
    with pytest.raises(CodeRefused):
        codes.use_link(tenant.id, issued.link_token, purpose=SIGN_IN)
    assert codes.use_link(tenant.id, issued.link_token, purpose=UNLOCK).user_id == user.id
    with pytest.raises(CodeRefused):
        codes.use_link(tenant.id, issued.link_token, purpose=UNLOCK)
    late = codes.issue(tenant.id, user.id, UNLOCK, code=False, link=True, ttl=60)
    clock.advance(60)
    with pytest.raises(CodeRefused):
        codes.use_link(tenant.id, late.link_token or "", purpose=UNLOCK)


def test_only_hmacs_are_stored(env, keystead: Keystead):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SIGN_IN, link=True, address="alice@example.com", binding=HANDLE)
    secret = (issued.link_token or "").partition(".")[2]
    with keystead.storage.engine.connect() as conn:
        row = (
            conn.execute(select(t.one_time_codes).where(t.one_time_codes.c.id == issued.id)).mappings().one()
        )
    stored = " ".join(str(v) for v in row.values())
    for value in (issued.code or "", secret, "alice@example.com", HANDLE):
        assert value not in stored
    assert len(row["code_mac"]) == 64 and len(row["link_mac"]) == 64


def test_expired_codes_are_purged_a_day_later(env, clock: FrozenClock, keystead: Keystead):
    codes, tenant, user = env
    old = codes.issue(tenant.id, user.id, SECOND_FACTOR)
    clock.advance(codes.settings.code_ttl + 86400 + 1)
    codes.issue(tenant.id, user.id, SECOND_FACTOR)
    assert keystead.storage.one_time_code(tenant.id, old.id) is None


def test_two_uses_at_once_succeed_once(env):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)

    def use(_: int) -> bool:
        try:
            codes.check_code(tenant.id, issued.id, issued.code or "", purpose=SECOND_FACTOR, binding=HANDLE)
        except CodeRefused:
            return False
        return True

    assert sorted(race(4, use)) == [False, False, False, True]


def test_concurrent_wrong_codes_are_all_counted(env, keystead: Keystead):
    codes, tenant, user = env
    issued = codes.issue(tenant.id, user.id, SECOND_FACTOR, binding=HANDLE)
    wrong = _wrong(issued.code or "0")

    def attempt(_: int) -> None:
        with pytest.raises(CodeRefused):
            codes.check_code(tenant.id, issued.id, wrong, purpose=SECOND_FACTOR, binding=HANDLE)

    race(4, attempt)
    row = keystead.storage.one_time_code(tenant.id, issued.id)
    assert row is not None and row.attempts == 4
