"""Passkeys through the service with a software authenticator (tests/support/authenticator.py):
real registration and assertion ceremonies, and every refusal the brief names — wrong origin,
wrong RP ID, wrong or replayed challenge, a tampered signature, a counter that goes back, user
verification missing when required, someone else's credential, a removed one, another tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from keystead.adapters.sql import tables as t
from keystead.clock import FrozenClock
from keystead.errors import InvalidInput, NotFound
from keystead.ports.records import Tenant, User
from keystead.services import passkey_credentials
from keystead.services.factor_checks import FactorUse
from keystead.services.passkey_challenges import CHALLENGE_TTL, PasskeyRejected, RelyingParty
from keystead.services.passkeys import PasskeySignIn
from keystead.wiring import Keystead
from tests.support.authenticator import SoftAuthenticator, tamper
from tests.support.concurrency import race
from tests.support.factories import Factory

BINDING = "interaction:abc"


@pytest.fixture
def tenant(factory: Factory) -> Tenant:
    return factory.tenant()


@pytest.fixture
def user(factory: Factory, tenant: Tenant) -> User:
    return factory.user(tenant, "alice")


@pytest.fixture
def rp(keystead: Keystead, tenant: Tenant) -> RelyingParty:
    return RelyingParty.for_issuer(keystead.tenants.issuer(tenant), tenant.display_name)


@pytest.fixture
def device(rp: RelyingParty) -> SoftAuthenticator:
    return SoftAuthenticator(origin=rp.origin)


def _register(
    k: Keystead, user: User, rp: RelyingParty, device: SoftAuthenticator, name: str | None = None
) -> str:
    options = k.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING)
    use = k.passkeys.register(
        user.tenant_id, user.id, rp, BINDING, json.dumps(device.create(options)), name=name
    )
    return use.factor.id


def _second_factor(
    k: Keystead, user: User, rp: RelyingParty, device: SoftAuthenticator, **overrides: Any
) -> FactorUse:
    options = k.passkeys.authentication_options(user.tenant_id, rp, BINDING, user.id)
    return k.passkeys.verify_second_factor(
        user.tenant_id, user.id, rp, BINDING, device.get(options, **overrides)
    )


def _passwordless(
    k: Keystead, tenant: Tenant, rp: RelyingParty, device: SoftAuthenticator, **overrides: Any
) -> PasskeySignIn:
    options = k.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    return k.passkeys.sign_in(tenant.id, rp, BINDING, device.get(options, **overrides))


def test_registration_options_name_the_tenant_and_hide_the_user(
    keystead: Keystead, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    options = json.loads(keystead.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING))
    assert options["rp"] == {"id": "testserver", "name": "Acme Corp"}
    assert options["user"]["name"] == "alice"
    handle = options["user"]["id"]
    assert user.id.replace("-", "") not in handle and "alice" not in handle and len(handle) == 43
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["excludeCredentials"] == []
    # the handle is stable; a registered passkey is excluded next time
    _register(keystead, user, rp, device)
    again = json.loads(keystead.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING))
    assert again["user"]["id"] == handle
    assert [c["id"] for c in again["excludeCredentials"]] == [options_id(device)]


def options_id(device: SoftAuthenticator) -> str:
    from tests.support.authenticator import b64url

    return b64url(device.only.id)


def test_register_then_use_as_second_factor_and_passwordless(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    factor_id = _register(keystead, user, rp, device)
    assert keystead.factors.has_second_factor(tenant.id, user.id)
    (info,) = keystead.passkeys.list_passkeys(tenant.id, user.id)
    assert (info.id, info.name, info.transports, info.backed_up) == (
        factor_id,
        "Passkey",
        ("internal",),
        False,
    )

    use = _second_factor(keystead, user, rp, device)
    assert use.amr == ("hwk", "user", "mfa") and use.factor.data["sign_count"] == 1
    signed_in = _passwordless(keystead, tenant, rp, device)
    assert signed_in.user.id == user.id and signed_in.use.factor.data["sign_count"] == 2
    assert signed_in.use.factor.last_used_at == keystead.clock()


def test_synced_passkeys_are_swk_and_keep_their_backup_state(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty
) -> None:
    device = SoftAuthenticator(origin=rp.origin, backup_eligible=True, counter_step=0)
    _register(keystead, user, rp, device)
    use = _second_factor(keystead, user, rp, device, uv=False)
    assert use.amr == ("swk", "user")  # no user verification: no "mfa" from the key alone
    assert use.factor.data["backup_eligible"] is True and use.factor.data["backed_up"] is True
    # a counter that stays 0 is accepted (and the challenge still makes replay fail, below)
    assert _second_factor(keystead, user, rp, device).factor.data["sign_count"] == 0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"origin": "https://evil.example"}, "origin"),
        ({"rp_id": "evil.example"}, "RP ID"),
        ({"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "challenge"),
    ],
)
def test_registration_refuses_wrong_origin_rp_id_or_challenge(
    keystead: Keystead,
    user: User,
    rp: RelyingParty,
    device: SoftAuthenticator,
    overrides: dict[str, str],
    reason: str,
) -> None:
    options = keystead.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING)
    with pytest.raises(PasskeyRejected):
        keystead.passkeys.register(user.tenant_id, user.id, rp, BINDING, device.create(options, **overrides))
    assert keystead.passkeys.list_passkeys(user.tenant_id, user.id) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"origin": "http://testserver.evil.example"},
        {"rp_id": "evil.example"},
        {"challenge": "bm90LXRoZS1jaGFsbGVuZ2U"},
    ],
)
def test_assertion_refuses_wrong_origin_rp_id_or_challenge(
    keystead: Keystead,
    tenant: Tenant,
    user: User,
    rp: RelyingParty,
    device: SoftAuthenticator,
    overrides: dict[str, str],
) -> None:
    _register(keystead, user, rp, device)
    with pytest.raises(PasskeyRejected):
        _second_factor(keystead, user, rp, device, **overrides)
    with pytest.raises(PasskeyRejected):
        _passwordless(keystead, tenant, rp, device, **overrides)
    assert keystead.passkeys.list_passkeys(tenant.id, user.id)[0].last_used_at is None


def test_a_replayed_assertion_fails_even_when_the_counter_stays_zero(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty
) -> None:
    device = SoftAuthenticator(origin=rp.origin, counter_step=0)
    _register(keystead, user, rp, device)
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    response = device.get(options)
    assert keystead.passkeys.sign_in(tenant.id, rp, BINDING, response).user.id == user.id
    with pytest.raises(PasskeyRejected) as refused:
        keystead.passkeys.sign_in(tenant.id, rp, BINDING, response)
    assert "challenge" in refused.value.reason


def test_concurrent_answers_to_one_challenge_pass_once(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty
) -> None:
    device = SoftAuthenticator(origin=rp.origin, counter_step=0)
    _register(keystead, user, rp, device)
    response = device.get(keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None))

    def attempt(_: int) -> bool:
        try:
            keystead.passkeys.sign_in(tenant.id, rp, BINDING, response)
        except PasskeyRejected:
            return False
        return True

    assert sorted(race(6, attempt)) == [False] * 5 + [True]


def test_a_challenge_expires_and_belongs_to_its_binding_and_ceremony(
    keystead: Keystead,
    clock: FrozenClock,
    tenant: Tenant,
    user: User,
    rp: RelyingParty,
    device: SoftAuthenticator,
) -> None:
    _register(keystead, user, rp, device)
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    with pytest.raises(PasskeyRejected):
        keystead.passkeys.sign_in(tenant.id, rp, "interaction:other", device.get(options))
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    with pytest.raises(PasskeyRejected):  # a passwordless challenge is no second-factor one
        keystead.passkeys.verify_second_factor(tenant.id, user.id, rp, BINDING, device.get(options))
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    clock.advance(CHALLENGE_TTL + 1)
    with pytest.raises(PasskeyRejected) as refused:
        keystead.passkeys.sign_in(tenant.id, rp, BINDING, device.get(options))
    assert "expired" in refused.value.reason


def test_a_new_challenge_replaces_the_previous_one_of_its_ceremony(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    _register(keystead, user, rp, device)
    first = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    second = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    with pytest.raises(PasskeyRejected):
        keystead.passkeys.sign_in(tenant.id, rp, BINDING, device.get(first))
    assert keystead.passkeys.sign_in(tenant.id, rp, BINDING, device.get(second)).user.id == user.id


def test_a_tampered_signature_is_refused(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    _register(keystead, user, rp, device)
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, user.id)
    with pytest.raises(PasskeyRejected) as refused:
        keystead.passkeys.verify_second_factor(tenant.id, user.id, rp, BINDING, tamper(device.get(options)))
    assert "signature" in refused.value.reason
    assert keystead.passkeys.list_passkeys(tenant.id, user.id)[0].last_used_at is None


def test_a_counter_that_goes_back_is_refused_and_recorded(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    factor_id = _register(keystead, user, rp, device)
    _second_factor(keystead, user, rp, device)
    _second_factor(keystead, user, rp, device)  # the counter is now 2
    device.only.count = 1  # a clone that lags behind: it reports 2 again
    with pytest.raises(PasskeyRejected) as refused:
        _second_factor(keystead, user, rp, device)
    assert "counter" in refused.value.reason
    stored = keystead.storage.factor_by_id(tenant.id, user.id, factor_id)
    assert stored is not None
    assert stored.data["sign_count"] == 2 and stored.data["counter_regressions"] == 1
    assert stored.data["last_regression_at"] == keystead.clock()


def test_passwordless_requires_user_verification(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    _register(keystead, user, rp, device)
    options = json.loads(keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None))
    assert options["userVerification"] == "required" and options["allowCredentials"] == []
    with pytest.raises(PasskeyRejected) as refused:
        _passwordless(keystead, tenant, rp, device, uv=False)
    assert "verif" in refused.value.reason


def test_someone_elses_credential_is_refused(
    keystead: Keystead,
    factory: Factory,
    tenant: Tenant,
    user: User,
    rp: RelyingParty,
    device: SoftAuthenticator,
) -> None:
    bob = factory.user(tenant, "bob")
    bobs_device = SoftAuthenticator(origin=rp.origin)
    _register(keystead, user, rp, device)
    _register(keystead, bob, rp, bobs_device)
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, user.id)
    with pytest.raises(PasskeyRejected) as refused:
        keystead.passkeys.verify_second_factor(
            tenant.id, user.id, rp, BINDING, bobs_device.get(options, credential=bobs_device.only)
        )
    assert "not a passkey of this user" in refused.value.reason
    # passwordless: bob's credential claiming alice's user handle
    bobs_device.only.user_handle = device.only.user_handle
    with pytest.raises(PasskeyRejected):
        _passwordless(keystead, tenant, rp, bobs_device)


def test_a_removed_passkey_no_longer_signs_in(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    factor_id = _register(keystead, user, rp, device)
    removed = keystead.passkeys.remove(tenant.id, user.id, factor_id)
    assert removed.id == factor_id and keystead.passkeys.list_passkeys(tenant.id, user.id) == []
    assert not keystead.factors.has_second_factor(tenant.id, user.id)
    with pytest.raises(PasskeyRejected):
        _passwordless(keystead, tenant, rp, device)
    with pytest.raises(NotFound):  # no passkey left: no second-factor options
        keystead.passkeys.authentication_options(tenant.id, rp, BINDING, user.id)
    with pytest.raises(NotFound):
        keystead.passkeys.remove(tenant.id, user.id, factor_id)


def test_a_disabled_user_cannot_sign_in_passwordless(
    keystead: Keystead, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    _register(keystead, user, rp, device)
    keystead.users.set_status(tenant.id, user.id, "disabled")
    with pytest.raises(PasskeyRejected):
        _passwordless(keystead, tenant, rp, device)


def test_another_tenants_passkey_and_challenge_do_not_count(
    keystead: Keystead,
    factory: Factory,
    tenant: Tenant,
    user: User,
    rp: RelyingParty,
    device: SoftAuthenticator,
) -> None:
    _register(keystead, user, rp, device)
    other = factory.tenant()
    other_rp = RelyingParty.for_issuer(keystead.tenants.issuer(other), other.display_name)
    assert other_rp.id == rp.id  # the same host (path tenants): only the data separates them
    options = keystead.passkeys.authentication_options(other.id, other_rp, BINDING, None)
    with pytest.raises(PasskeyRejected):  # alice's handle means nothing in the other tenant
        keystead.passkeys.sign_in(other.id, other_rp, BINDING, device.get(options))
    options = keystead.passkeys.authentication_options(tenant.id, rp, BINDING, None)
    with pytest.raises(PasskeyRejected):  # a challenge of this tenant, answered in the other
        keystead.passkeys.sign_in(other.id, other_rp, BINDING, device.get(options))


def test_several_passkeys_named_renamed_and_limited(
    keystead: Keystead,
    clock: FrozenClock,
    tenant: Tenant,
    user: User,
    rp: RelyingParty,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _register(keystead, user, rp, SoftAuthenticator(origin=rp.origin))
    clock.advance(1)
    second = _register(keystead, user, rp, SoftAuthenticator(origin=rp.origin))
    assert [p.name for p in keystead.passkeys.list_passkeys(tenant.id, user.id)] == ["Passkey", "Passkey 2"]
    assert keystead.passkeys.rename(tenant.id, user.id, first, "  Work   laptop ").name == "Work laptop"
    with pytest.raises(InvalidInput) as taken:
        keystead.passkeys.rename(tenant.id, user.id, second, "Work laptop")
    assert taken.value.field == "name"
    for bad in ("", "x" * 101, "bad\x00name"):
        with pytest.raises(InvalidInput):
            keystead.passkeys.rename(tenant.id, user.id, second, bad)
    with pytest.raises(NotFound):
        keystead.passkeys.rename(tenant.id, user.id, "no-such-id", "Phone")
    assert [p.name for p in keystead.passkeys.list_passkeys(tenant.id, user.id)] == [
        "Work laptop",
        "Passkey 2",
    ]
    monkeypatch.setattr(passkey_credentials, "MAX_PER_USER", 2)
    with pytest.raises(InvalidInput) as full:
        keystead.passkeys.registration_options(tenant.id, user.id, rp, BINDING)
    assert full.value.field == "passkey"


def test_the_same_credential_cannot_be_registered_twice(
    keystead: Keystead, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    options = keystead.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING)
    response = device.create(options)
    keystead.passkeys.register(user.tenant_id, user.id, rp, BINDING, response)
    options = keystead.passkeys.registration_options(user.tenant_id, user.id, rp, BINDING)
    challenge = json.loads(options)["challenge"]
    # a new ceremony from another authenticator claiming the same credential id
    replayed = SoftAuthenticator(origin=rp.origin).create(options, credential_id=device.only.id)
    with pytest.raises(PasskeyRejected):
        keystead.passkeys.register(user.tenant_id, user.id, rp, BINDING, replayed)
    assert challenge and len(keystead.passkeys.list_passkeys(user.tenant_id, user.id)) == 1


def test_nothing_secret_or_personal_is_stored(
    keystead: Keystead, db_url: str, tenant: Tenant, user: User, rp: RelyingParty, device: SoftAuthenticator
) -> None:
    options = json.loads(keystead.passkeys.registration_options(tenant.id, user.id, rp, BINDING))
    engine = create_engine(db_url)
    with engine.connect() as conn:
        (row,) = conn.execute(
            select(t.passkey_challenges).where(t.passkey_challenges.c.tenant_id == tenant.id)
        ).mappings()
    engine.dispose()
    assert options["challenge"] not in json.dumps(dict(row), default=str)  # only its SHA-256
    assert "interaction" not in row["binding"]  # only an HMAC of what it belongs to
