"""An emailed code as the second factor and the verify-email required action, through the
hosted pages, with the mail delivered over SMTP to a real server (aiosmtpd)."""

from __future__ import annotations

import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.flows.stages import ACR_MFA
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _has_session, _password, _start
from tests.support import email_env
from tests.support.email_env import configure, mails
from tests.support.factories import Factory
from tests.support.flow import Flow
from tests.support.mail import Sink, code_in, text_of
from tests.support.stages import land, page_of, submit

# the SMTP sink and settings that send the app's mail to it
sink, settings, _close_mail = email_env.sink, email_env.settings, email_env._close_mail

T0 = 1_900_000_020.0


@pytest.fixture
def env(client, factory: Factory, keystead: Keystead, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    configure(keystead, tenant, {"email": {"second_factor": True}, "mfa": "always"})
    user = factory.user(tenant, "alice", email="alice@example.com", email_verified=True)
    rp = factory.client(tenant, first_party=True)
    return tenant, user, rp, Flow(client, tenant.name)


def _signin_events(keystead: Keystead, tenant_id: str) -> list[tuple[str, str, str | None, object]]:
    """(action, actor, target, after.method) of the tenant's sign-in stage events, oldest first."""
    events = reversed(keystead.audit.page(tenant_id, limit=200))
    return [
        (e.action, e.actor, e.target, (e.after or {}).get("method"))
        for e in events
        if e.action.startswith("signin.passwordless") or e.action.startswith("signin.second_factor")
    ]


def test_a_mailed_code_is_the_second_factor(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "second_factor"
    assert 'id="email-address">a•••@example.com<' in page.text  # masked
    assert not _has_session(flow)
    (mail,) = mails(keystead, sink, 1)
    assert mail["To"] == "alice@example.com" and mail["Subject"] == "Your Acme Corp verification code"
    claims = _claims(flow, rp, submit(flow.http, page, method="email", code=code_in(mail)), verifier)
    assert claims["acr"] == ACR_MFA
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert _signin_events(keystead, tenant.id) == [
        ("signin.second_factor.accepted", user.id, user.id, "email")
    ]


def test_a_reload_sends_no_second_mail_and_a_new_code_replaces_the_old(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    again = flow.http.get(str(page.url))
    assert page_of(again) == "second_factor"
    (first,) = mails(keystead, sink, 1)
    resent = submit(flow.http, page, method="email_resend")
    assert page_of(resent) == "second_factor"
    second = mails(keystead, sink, 2)[1]
    assert code_in(second) != code_in(first) or first["Message-ID"] != second["Message-ID"]
    old = submit(flow.http, resent, method="email", code=code_in(first))
    if code_in(first) != code_in(second):
        assert old.status_code == 400 and "That code is not valid" in old.text
    assert page_of(submit(flow.http, resent, method="email", code=code_in(second))) == "client"


def test_wrong_codes_are_refused_then_the_challenge_is_spent(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    code = code_in(mails(keystead, sink, 1)[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        refused = submit(flow.http, page, method="email", code=wrong)
        assert refused.status_code == 400 and "That code is not valid" in refused.text
        assert "location" not in refused.headers
    spent = submit(flow.http, page, method="email", code=wrong)
    assert spent.status_code == 400 and "Send a new code" in spent.text
    late = submit(flow.http, page, method="email", code=code)
    assert late.status_code == 400 and page_of(late) == "second_factor"
    assert len(mails(keystead, sink, 1)) == 1  # no mail sent by itself after the limit
    assert not _has_session(flow)
    refused = ("signin.second_factor.refused", user.id, user.id, "email")
    assert _signin_events(keystead, tenant.id) == [refused] * 6


def test_an_authenticator_user_may_choose_email(env, keystead: Keystead, sink: Sink, clock: FrozenClock):
    tenant, user, rp, flow = env
    enrolment = keystead.factors.enrol_totp(tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert 'name="method" value="totp"' in page.text and 'id="use-email"' in page.text
    assert sink.messages == []  # nothing mailed until asked for
    by_email = land(flow.http, flow.http.get(page.url.copy_add_param("method", "email")))
    assert 'name="method" value="email"' in by_email.text
    claims = _claims(
        flow,
        rp,
        submit(flow.http, by_email, method="email", code=code_in(mails(keystead, sink, 1)[0])),
        verifier,
    )
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_email_is_not_offered_for_an_unverified_address_or_when_the_tenant_has_it_off(
    env, keystead: Keystead, factory: Factory, sink: Sink
):
    tenant, _user, rp, flow = env
    factory.user(tenant, "bob", email="bob@example.com", email_verified=False)
    page, _ = _start(flow, rp)
    page = _password(flow, page, "bob")
    assert page_of(page) == "enrol_totp"  # mfa always, no usable second factor
    refused = submit(flow.http, page, stage="enrol_totp", method="email", code="123456")
    assert refused.status_code == 409
    configure(keystead, tenant, {"email": {"second_factor": False}})
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page)) == "enrol_totp"
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]


# verify_email required action
@pytest.fixture
def verifying(client, factory: Factory, keystead: Keystead, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    configure(keystead, tenant, {"email": {"verify_at_sign_in": True}})
    user = factory.user(tenant, "carol", email="carol@example.com")
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def test_verify_email_mails_a_code_and_marks_the_address_verified(verifying, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = verifying
    page, verifier = _start(flow, rp)
    page = _password(flow, page, "carol")
    assert page_of(page) == "verify_email"
    assert not _has_session(flow)
    (mail,) = mails(keystead, sink, 1)
    assert mail["Subject"] == "Confirm your email address for Acme Corp"
    assert "confirm your email address" in text_of(mail)
    refused = submit(
        flow.http, page, method="email", code="000000" if code_in(mail) != "000000" else "111111"
    )
    assert refused.status_code == 400 and page_of(refused) == "verify_email"
    claims = _claims(flow, rp, submit(flow.http, page, method="email", code=code_in(mail)), verifier)
    assert claims["amr"] == ["pwd"]  # confirming an address is not a factor
    assert keystead.users.get(tenant.id, user.id).email_verified is True
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page, "carol")) == "client"  # asked once


def test_a_code_for_an_address_changed_meanwhile_is_refused(verifying, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = verifying
    page, _ = _start(flow, rp)
    page = _password(flow, page, "carol")
    code = code_in(mails(keystead, sink, 1)[0])
    keystead.users.update(tenant.id, user.id, email="carol@elsewhere.example")
    refused = submit(flow.http, page, method="email", code=code)
    assert refused.status_code == 400
    assert keystead.users.get(tenant.id, user.id).email_verified is False


def test_a_flow_without_the_verify_email_stage_does_not_ask(verifying, keystead: Keystead, sink: Sink):
    tenant, _user, rp, flow = verifying
    stages = [s for s in keystead.tenant_settings.read(tenant.id).to_json()["login_flow"]]
    configure(keystead, tenant, {"login_flow": [s for s in stages if s["stage"] != "verify_email"]})
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page, "carol")) == "client"
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]
