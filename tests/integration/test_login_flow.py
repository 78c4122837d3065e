"""The sign-in flow after the password, through the real hosted pages with an injected clock:
a second factor (TOTP or a recovery code) for enrolled users, step-up by ``acr_values`` and
``max_age`` on an SSO session, the required enrolment when the tenant requires MFA, the required
change of a breached password, and no code issued while a stage is unanswered."""

from __future__ import annotations

import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from keystead.clock import FrozenClock
from keystead.flows.stages import ACR_MFA, ACR_PASSWORD
from keystead.ports.records import Tenant, User
from keystead.wiring import Keystead
from tests.support.factories import PASSWORD, Factory, RegisteredClient
from tests.support.flow import AuthResult, Flow, pkce_pair
from tests.support.stages import client_params, land, manual_key, page_of, qr_url, submit

T0 = 1_900_000_020.0  # the start of a 30-second step


@pytest.fixture
def env(client, factory: Factory, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    return tenant, user, rp, Flow(client, tenant.name)


def _totp(keystead: Keystead, user: User, clock: FrozenClock) -> pyotp.TOTP:
    """An active authenticator of ``user``; the clock moves to the next step (the activation
    code is spent)."""
    enrolment = keystead.factors.enrol_totp(user.tenant_id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(user.tenant_id, user.id, enrolment.factor.id, totp.at(clock()))
    clock.now += 30
    return totp


def _mfa_mode(keystead: Keystead, tenant: Tenant, mode: str) -> None:
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"mfa": mode}, expected_version=version)


def _start(flow: Flow, rp: RegisteredClient, **extra: str):
    verifier, challenge = pkce_pair()
    params = flow.authorize_params(rp, code_challenge=challenge, code_challenge_method="S256", **extra)
    return land(flow.http, flow.start(params)), verifier


def _password(flow: Flow, page, username: str = "alice", password: str = PASSWORD):
    assert page_of(page) == "login"
    return submit(flow.http, page, username=username, password=password)


def _claims(flow: Flow, rp: RegisteredClient, response, verifier: str) -> dict:
    params = client_params(response)
    tokens = flow.exchange(rp, AuthResult(response.headers["location"], params, verifier))
    assert tokens.status_code == 200, tokens.text
    jwks = KeySet.import_key_set(flow.http.get(f"{flow.base}/jwks").json())
    return jwt.decode(tokens.json()["id_token"], jwks, algorithms=["ES256", "RS256", "EdDSA"]).claims


def _has_session(flow: Flow) -> bool:
    return any(cookie.name == "ks_session" for cookie in flow.http.cookies.jar)


# second factor
def test_password_and_totp_give_the_mfa_acr_and_amr(env, keystead, clock):
    _tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "second_factor"
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    assert not _has_session(flow)  # no SSO session before the second factor
    claims = _claims(flow, rp, submit(flow.http, page, method="totp", code=totp.at(clock())), verifier)
    assert claims["acr"] == ACR_MFA
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_password_only_login_is_unchanged_without_a_factor(env):
    _tenant, _user, rp, flow = env
    page, verifier = _start(flow, rp)
    claims = _claims(flow, rp, _password(flow, page), verifier)
    assert claims["acr"] == ACR_PASSWORD
    assert claims["amr"] == ["pwd"]


def test_a_wrong_reused_or_expired_code_is_refused_and_nothing_is_issued(env, keystead, clock):
    _tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    # four refusals: the fifth wrong code would lock the factor (FactorLimits)
    for code in ("000000", "abcdef", totp.at(clock() - 90), totp.at(clock() + 90)):
        refused = submit(flow.http, page, method="totp", code=code)
        assert refused.status_code == 400
        assert page_of(refused) == "second_factor"
        assert "That code is not valid" in refused.text
        assert "location" not in refused.headers
    good = totp.at(clock())
    assert page_of(submit(flow.http, page, method="totp", code=good)) == "client"
    # the same code in another sign-in, within its step: refused (each code works once)
    flow.http.cookies.clear()
    again, _ = _start(flow, rp)
    again = _password(flow, again)
    replay = submit(flow.http, again, method="totp", code=good)
    assert replay.status_code == 400 and page_of(replay) == "second_factor"
    assert not _has_session(flow)


def test_too_many_wrong_codes_lock_the_factor(env, keystead, clock):
    _tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    statuses = [submit(flow.http, page, method="totp", code="000000").status_code for _ in range(6)]
    assert statuses == [400, 400, 400, 400, 400, 429]  # the fifth wrong code locks it
    locked = submit(flow.http, page, method="totp", code=totp.at(clock()))
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert page_of(locked) == "second_factor"


def test_a_recovery_code_works_once(env, keystead, clock):
    tenant, user, rp, flow = env
    _totp(keystead, user, clock)
    code = keystead.factors.generate_recovery_codes(tenant.id, user.id).codes[0]
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    recovery = land(flow.http, flow.http.get(page.url.copy_add_param("method", "recovery")))
    assert 'name="method" value="recovery"' in recovery.text
    claims = _claims(flow, rp, submit(flow.http, recovery, method="recovery", code=code), verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    refused = submit(flow.http, page, method="recovery", code=code)
    assert refused.status_code == 400 and page_of(refused) == "second_factor"


# step-up
def test_acr_values_steps_up_a_password_only_session(env, keystead, clock):
    _tenant, user, rp, flow = env
    page, verifier = _start(flow, rp)
    assert _claims(flow, rp, _password(flow, page), verifier)["acr"] == ACR_PASSWORD
    totp = _totp(keystead, user, clock)  # enrolled after signing in: the session is password-only
    none, _ = _start(flow, rp, acr_values=ACR_MFA, prompt="none")
    assert client_params(none)["error"] == "interaction_required"
    page, verifier = _start(flow, rp, acr_values=ACR_MFA)
    assert page_of(page) == "second_factor"  # no password again
    claims = _claims(flow, rp, submit(flow.http, page, method="totp", code=totp.at(clock())), verifier)
    assert claims["acr"] == ACR_MFA and "otp" in claims["amr"]
    # the SSO session now records the second factor: a later step-up needs no page
    clock.now += 30
    again, verifier = _start(flow, rp, acr_values=ACR_MFA, prompt="none")
    assert _claims(flow, rp, again, verifier)["acr"] == ACR_MFA


def test_max_age_asks_for_the_password_and_the_code_again(env, keystead, clock):
    _tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page, _ = _start(flow, rp)
    assert page_of(submit(flow.http, _password(flow, page), method="totp", code=totp.at(clock()))) == "client"
    clock.now += 600
    page, verifier = _start(flow, rp, max_age="60")
    page = _password(flow, page)
    assert page_of(page) == "second_factor"
    claims = _claims(flow, rp, submit(flow.http, page, method="totp", code=totp.at(clock())), verifier)
    assert claims["auth_time"] == int(clock())
    assert claims["acr"] == ACR_MFA


def test_a_tenant_that_never_asks_ignores_enrolled_factors(env, keystead, clock):
    tenant, user, rp, flow = env
    _totp(keystead, user, clock)
    _mfa_mode(keystead, tenant, "never")
    page, verifier = _start(flow, rp)
    assert _claims(flow, rp, _password(flow, page), verifier)["amr"] == ["pwd"]


# required actions
def test_a_tenant_requiring_mfa_makes_the_user_enrol(env, keystead, clock):
    tenant, user, rp, flow = env
    _mfa_mode(keystead, tenant, "always")
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "enrol_totp"
    image = flow.http.get(qr_url(page))
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
    assert b"<script" not in image.content
    key = manual_key(page)
    assert page_of(land(flow.http, flow.http.get(page.url))) == "enrol_totp"
    assert manual_key(land(flow.http, flow.http.get(page.url))) == key  # the same seed on reload
    totp = pyotp.TOTP(key)
    refused = submit(flow.http, page, code="000000")
    assert refused.status_code == 400 and page_of(refused) == "enrol_totp"
    codes = submit(flow.http, page, code=totp.at(clock()))
    assert page_of(codes) == "recovery_codes"  # shown once after the enrolment (test_recovery_codes_stage.py)
    claims = _claims(flow, rp, submit(flow.http, codes), verifier)
    assert claims["acr"] == ACR_MFA and "otp" in claims["amr"]
    assert [f.status for f in keystead.factors.list_factors(tenant.id, user.id)] == ["active", "active"]


def test_a_breached_password_must_be_changed_before_the_code_is_issued(env, keystead, factory, clock):
    tenant, _, rp, flow = env
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(
        tenant.id, {"password_policy": {"check_breached": False}}, expected_version=version
    )
    keystead.users.create(tenant.id, "legacy", password="monster123")
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(
        tenant.id, {"password_policy": {"check_breached": True}}, expected_version=version
    )
    page, verifier = _start(flow, rp)
    page = _password(flow, page, "legacy", "monster123")
    assert page_of(page) == "change_password"
    assert not _has_session(flow)
    mismatch = submit(flow.http, page, password="a quiet Lantern 42", confirm="a quiet lantern 42")
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    weak = submit(flow.http, page, password="password1", confirm="password1")
    assert weak.status_code == 400 and page_of(weak) == "change_password"
    done = submit(flow.http, page, password="a quiet Lantern 42", confirm="a quiet Lantern 42")
    assert _claims(flow, rp, done, verifier)["amr"] == ["pwd"]
    assert keystead.login.sign_in(tenant.id, "legacy", "a quiet Lantern 42", "192.0.2.1").breached is False


def test_the_second_factor_comes_before_a_breached_password_change(env, keystead, clock):
    tenant, _, rp, flow = env
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(
        tenant.id, {"password_policy": {"check_breached": False}}, expected_version=version
    )
    legacy = keystead.users.create(tenant.id, "legacy", password="monster123")
    totp = _totp(keystead, legacy, clock)
    page, verifier = _start(flow, rp)
    page = _password(flow, page, "legacy", "monster123")
    assert page_of(page) == "second_factor"
    # the password page cannot be answered first
    early = submit(
        flow.http,
        page,
        stage="change_password",
        password="a quiet Lantern 42",
        confirm="a quiet Lantern 42",
    )
    assert early.status_code == 409 and page_of(early) == "second_factor"
    assert keystead.login.sign_in(tenant.id, "legacy", "monster123", "192.0.2.1").breached
    page = submit(flow.http, page, method="totp", code=totp.at(clock()))
    assert page_of(page) == "change_password"
    done = submit(flow.http, page, password="a quiet Lantern 42", confirm="a quiet Lantern 42")
    assert _claims(flow, rp, done, verifier)["acr"] == ACR_MFA


def test_a_stage_form_without_the_csrf_token_is_refused(env, keystead, clock):
    _tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    response = flow.http.post(str(page.url), data={"method": "totp", "code": totp.at(clock())})
    assert response.status_code == 403
    assert "location" not in response.headers
    assert page_of(submit(flow.http, page, method="totp", code=totp.at(clock()))) == "client"
