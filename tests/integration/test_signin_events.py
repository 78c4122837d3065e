"""Stage outcome audit events (services/signin_events.py), through the real hosted pages: the
password, the second factor, an enrolment, a breached password changed, a lockout, consent.
The audit keeps the login as typed and why it failed; the pages say the same for every reason;
no password or code is ever recorded."""

from __future__ import annotations

import json

import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.ports.records import AuditEvent, Tenant, User
from keystead.services.login import LoginFailed
from keystead.wiring import Keystead
from tests.integration.test_passkey_flow import _answer, _device, _options
from tests.support.authenticator import SoftAuthenticator
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow, pkce_pair
from tests.support.stages import land, manual_key, page_of, submit

T0 = 1_900_000_020.0


@pytest.fixture
def env(client, factory: Factory, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant)  # a third-party client: consent is asked
    return tenant, user, rp, Flow(client, tenant.name)


def _events(keystead: Keystead, tenant: Tenant, prefix: str = "") -> list[AuditEvent]:
    events = keystead.audit.page(tenant.id, limit=200)
    return [e for e in reversed(events) if e.action.startswith(prefix)]


def _start(flow: Flow, rp):
    _, challenge = pkce_pair()
    params = flow.authorize_params(rp, code_challenge=challenge, code_challenge_method="S256")
    return land(flow.http, flow.start(params))


def _serialised(events: list[AuditEvent]) -> str:
    return json.dumps([[e.actor, e.target, e.before, e.after] for e in events])


def test_password_failures_keep_the_login_as_typed_and_the_reason_but_never_the_password(
    env, keystead: Keystead
):
    tenant, user, rp, flow = env
    page = _start(flow, rp)
    wrong = submit(flow.http, page, username=" Alice ", password="not the password 1")
    unknown = submit(flow.http, page, username="mallory", password="not the password 2")
    assert wrong.status_code == unknown.status_code == 400
    assert "The username or password is incorrect." in wrong.text and "The username" in unknown.text
    for text in (wrong.text, unknown.text):  # nothing in the page tells the reasons apart
        assert "unknown_login" not in text and "wrong_password" not in text

    failed = _events(keystead, tenant, "signin.password.failed")
    assert [(e.after or {}).get("reason") for e in failed] == ["wrong_password", "unknown_login"]
    assert [(e.after or {}).get("login") for e in failed] == ["Alice", "mallory"]
    assert [e.target for e in failed] == [user.id, None]
    assert all(e.actor == "anonymous" and e.ip for e in failed)
    assert "not the password" not in _serialised(_events(keystead, tenant))


def test_a_disabled_account_is_recorded_as_such(env, keystead: Keystead):
    tenant, user, rp, flow = env
    keystead.users.set_status(tenant.id, user.id, "disabled")
    refused = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    assert refused.status_code == 400
    (event,) = _events(keystead, tenant, "signin.password.failed")
    assert (event.after or {})["reason"] == "disabled"


def test_success_and_consent_are_recorded(env, keystead: Keystead):
    tenant, user, rp, flow = env
    consent = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    assert page_of(consent) == "consent"
    assert page_of(submit(flow.http, consent, decision="allow")) == "client"
    events = _events(keystead, tenant)
    assert [e.action for e in events] == ["signin.password.succeeded", "consent.given"]
    signed_in, given = events
    assert signed_in.actor == user.id and signed_in.target == user.id
    assert (signed_in.after or {})["login"] == "alice"
    assert given.target == rp.client_id and given.actor == user.id
    assert "openid" in (given.after or {})["scopes"]
    assert PASSWORD not in _serialised(events)


def test_a_denied_consent_is_recorded(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    consent = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    submit(flow.http, consent, decision="deny")
    assert [e.action for e in _events(keystead, tenant, "consent.")] == ["consent.denied"]


def _totp(keystead: Keystead, user: User, clock: FrozenClock) -> pyotp.TOTP:
    enrolment = keystead.factors.enrol_totp(user.tenant_id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(user.tenant_id, user.id, enrolment.factor.id, totp.at(clock()))
    clock.now += 30
    return totp


def test_second_factor_refused_then_accepted_names_the_method(env, keystead: Keystead, clock):
    tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    page = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    assert page_of(page) == "second_factor"
    submit(flow.http, page, method="totp", code="000000")
    submit(flow.http, page, method="recovery", code="aaaa-bbbb")
    submit(flow.http, page, method="totp", code=totp.at(clock()))
    events = _events(keystead, tenant, "signin.second_factor")
    assert [(e.action, (e.after or {})["method"]) for e in events] == [
        ("signin.second_factor.refused", "totp"),
        ("signin.second_factor.refused", "recovery_code"),
        ("signin.second_factor.accepted", "totp"),
    ]
    assert all(e.actor == user.id for e in events)
    assert "000000" not in _serialised(events) and totp.at(clock()) not in _serialised(events)


def test_an_enrolment_in_the_flow_is_recorded(env, keystead: Keystead, clock):
    tenant, user, rp, flow = env
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"mfa": "always"}, expected_version=version)
    page = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    assert page_of(page) == "enrol_totp"
    submit(flow.http, page, code=pyotp.TOTP(manual_key(page)).at(clock()))
    (event,) = _events(keystead, tenant, "signin.factor.enrolled")
    assert (event.after or {})["kind"] == "totp" and event.target == user.id
    factor_ids = [f.id for f in keystead.factors.list_factors(tenant.id, user.id) if f.kind == "totp"]
    assert (event.after or {})["factor_id"] in factor_ids
    assert manual_key(page) not in _serialised(_events(keystead, tenant))


def test_a_breached_password_change_is_recorded(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(
        tenant.id, {"password_policy": {"check_breached": False}}, expected_version=version
    )
    legacy = keystead.users.create(tenant.id, "legacy", password="monster123")
    page = submit(flow.http, _start(flow, rp), username="legacy", password="monster123")
    assert page_of(page) == "change_password"
    submit(flow.http, page, password="a quiet Lantern 42", confirm="a quiet Lantern 42")
    (event,) = _events(keystead, tenant, "signin.breached_password")
    assert event.actor == legacy.id and event.target == legacy.id
    assert "Lantern" not in _serialised(_events(keystead, tenant))


def test_a_lockout_is_recorded_once_for_real_and_unknown_logins(env, keystead: Keystead, clock):
    tenant, user, _rp, _flow = env
    limit = keystead.settings.throttle.account_failures_before_lockout
    for login in ("alice", "nobody"):
        for n in range(limit):
            try:
                keystead.login.authenticate(tenant.id, login, "wrong password", f"198.51.100.{n}")
            except LoginFailed as failed:
                if failed.retry_after:  # a progressive delay: wait it out, then fail for real
                    clock.advance(failed.retry_after)
                    with pytest.raises(LoginFailed):
                        keystead.login.authenticate(tenant.id, login, "wrong password", f"198.51.100.{n}")
        with pytest.raises(LoginFailed):  # locked: refused without a password check
            keystead.login.authenticate(tenant.id, login, PASSWORD, "198.51.100.99")
    locks = _events(keystead, tenant, "signin.lockout.started")
    assert [((e.after or {})["login"], e.target) for e in locks] == [("alice", user.id), ("nobody", None)]
    assert all((e.after or {})["retry_after"] >= 1 for e in locks)
    # refusals while delayed or locked check no password and are not recorded one by one
    assert len(_events(keystead, tenant, "signin.password.failed")) == 2 * limit


def test_a_passkey_second_factor_and_a_passkey_enrolment_are_recorded(env, keystead: Keystead):
    tenant, user, rp, flow = env
    device = _device(keystead, tenant, user)
    page = submit(flow.http, _start(flow, rp), username="alice", password=PASSWORD)
    assert page_of(page) == "second_factor"
    assert page_of(_answer(flow, page, device.get(_options(flow, page).text))) == "consent"
    [accepted] = _events(keystead, tenant, "signin.second_factor")
    assert (
        accepted.action == "signin.second_factor.accepted" and (accepted.after or {})["method"] == "passkey"
    )

    other = keystead.users.create(tenant.id, "bea", password=PASSWORD)
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"mfa": "always"}, expected_version=version)
    flow.http.cookies.clear()
    page = submit(flow.http, _start(flow, rp), username="bea", password=PASSWORD)
    assert page_of(page) == "enrol_totp"
    landed = _answer(
        flow, page, SoftAuthenticator(origin="http://testserver").create(_options(flow, page).text)
    )
    assert page_of(landed) == "consent"  # no recovery codes page after a passkey
    [enrolled] = _events(keystead, tenant, "signin.factor.enrolled")
    assert enrolled.target == other.id and (enrolled.after or {})["kind"] == "passkey"
