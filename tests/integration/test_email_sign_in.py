"""Passwordless sign-in by email through the hosted pages, the mail delivered over SMTP to a
real server: a code, a link (same browser, another browser, reused, expired), and the same
answer for an address no account has."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.flows.stages import ACR_MFA, ACR_PASSWORD
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _has_session, _start
from tests.support import email_env
from tests.support.email_env import configure, mails
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.mail import Sink, code_in, link_in
from tests.support.stages import land, page_of, submit

# the SMTP sink and settings that send the app's mail to it
sink, settings, _close_mail = email_env.sink, email_env.settings, email_env._close_mail

T0 = 1_900_000_020.0


@pytest.fixture
def env(client, factory: Factory, keystead: Keystead, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    configure(keystead, tenant, {"login_methods": ["password", "email_code", "email_link"]})
    user = factory.user(tenant, "alice", email="alice@example.com", email_verified=True)
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def _ask(flow: Flow, page: httpx.Response, login: str) -> httpx.Response:
    assert page_of(page) == "login" and 'id="email-sign-in"' in page.text
    form = land(flow.http, flow.http.get(page.url.copy_add_param("method", "email")))
    assert page_of(form) == "email_sign_in"
    return submit(flow.http, form, method="email_start", login=login)


def _enter(flow: Flow, sent: httpx.Response, code: str) -> httpx.Response:
    """Post the "check your email" page's code form (with its hidden challenge id)."""
    challenge = re.search(r'name="challenge" value="([0-9a-f]+)"', sent.text)
    assert challenge is not None, sent.text[:300]
    return submit(flow.http, sent, method="email_code", challenge=challenge.group(1), code=code)


def _same_page(a: httpx.Response, b: httpx.Response, logins: tuple[str, str]) -> None:
    """Equal apart from the typed address, the challenge id and the form token."""

    def norm(response: httpx.Response, login: str) -> str:
        text = response.text.replace(login, "LOGIN")
        text = re.sub(r'name="challenge" value="[0-9a-f]+"', "CHALLENGE", text)
        text = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", text)
        return re.sub(r"/interaction/[^/?\"]+", "/interaction/H", text)

    assert a.status_code == b.status_code
    assert norm(a, logins[0]) == norm(b, logins[1])


def _signin_events(keystead: Keystead, tenant_id: str) -> list[tuple[str, str, str | None, object]]:
    """(action, actor, target, after.method) of the tenant's sign-in stage events, oldest first."""
    events = reversed(keystead.audit.page(tenant_id, limit=200))
    return [
        (e.action, e.actor, e.target, (e.after or {}).get("method"))
        for e in events
        if e.action.startswith("signin.passwordless") or e.action.startswith("signin.second_factor")
    ]


def test_a_mailed_code_signs_in_without_a_password(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    page, verifier = _start(flow, rp)
    sent = _ask(flow, page, "alice@example.com")
    assert page_of(sent) == "email_code" and "If an account exists for" in sent.text
    (mail,) = mails(keystead, sink, 1)
    assert mail["To"] == "alice@example.com" and mail["Subject"] == "Sign in to Acme Corp"
    assert not _has_session(flow)
    claims = _claims(flow, rp, _enter(flow, sent, code_in(mail)), verifier)
    assert claims["amr"] == ["otp"] and claims["acr"] == ACR_PASSWORD  # one factor
    assert _signin_events(keystead, tenant.id) == [
        ("signin.passwordless.succeeded", user.id, user.id, "email_code")
    ]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(env, keystead: Keystead, sink: Sink, client):
    _tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    known = _ask(flow, page, "alice@example.com")
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    unknown = _ask(flow, page, "nobody@example.com")
    _same_page(known, unknown, ("alice@example.com", "nobody@example.com"))
    assert [m["To"] for m in mails(keystead, sink, 1)] == ["alice@example.com"]
    refused = _enter(flow, unknown, "123456")
    assert refused.status_code == 400 and page_of(refused) == "email_code"


def test_an_unverified_address_gets_no_mail(env, keystead: Keystead, sink: Sink, factory: Factory):
    tenant, _user, rp, flow = env
    factory.user(tenant, "bob", email="bob@example.com", email_verified=False)
    page, _ = _start(flow, rp)
    assert page_of(_ask(flow, page, "bob@example.com")) == "email_code"
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]


def test_wrong_codes_spend_the_challenge(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    sent = _ask(flow, page, "alice@example.com")
    code = code_in(mails(keystead, sink, 1)[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [_enter(flow, sent, wrong).status_code for _ in range(5)]
    assert statuses == [400] * 5
    late = _enter(flow, sent, code)
    assert late.status_code == 400 and "Send a new code" in late.text


def test_the_send_limit_answers_the_same_for_any_address(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    limit = keystead.settings.codes.sends_per_window
    for login in ("alice@example.com", "nobody@example.com"):
        flow.http.cookies.clear()
        page, _ = _start(flow, rp)
        statuses = [_ask(flow, page, login).status_code for _ in range(limit + 1)]
        assert statuses == [200] * limit + [429]
    assert len(mails(keystead, sink, limit)) == limit


def test_a_link_signs_in_in_the_same_browser_once(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    page, verifier = _start(flow, rp)
    _ask(flow, page, "alice@example.com")
    link = link_in(mails(keystead, sink, 1)[0])
    assert link.startswith("http://testserver/t/") and "/email-link?token=" in link
    path = urlsplit(link)
    opened = land(flow.http, flow.http.get(f"{path.path}?{path.query}"))
    claims = _claims(flow, rp, opened, verifier)
    assert claims["amr"] == ["otp"]
    again = flow.http.get(f"{path.path}?{path.query}")
    assert again.status_code == 400 and "sign-in link" in again.text
    # the reuse is refused before any link is checked (the sign-in it belonged to is over)
    assert _signin_events(keystead, tenant.id) == [
        ("signin.passwordless.succeeded", user.id, user.id, "email_link")
    ]


def test_a_link_opened_in_another_browser_explains_and_spends_nothing(
    env, keystead: Keystead, sink: Sink, app
):
    _tenant, _user, rp, flow = env
    page, verifier = _start(flow, rp)
    _ask(flow, page, "alice@example.com")
    path = urlsplit(link_in(mails(keystead, sink, 1)[0]))
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        elsewhere = other.get(f"{path.path}?{path.query}")
    assert elsewhere.status_code == 400
    assert "only in the browser where you started signing in" in elsewhere.text
    assert "ks_session" not in elsewhere.headers.get("set-cookie", "")
    opened = land(flow.http, flow.http.get(f"{path.path}?{path.query}"))
    assert _claims(flow, rp, opened, verifier)["amr"] == ["otp"]


def test_an_expired_or_tampered_link_is_refused(env, keystead: Keystead, sink: Sink, clock: FrozenClock):
    tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    _ask(flow, page, "alice@example.com")
    path = urlsplit(link_in(mails(keystead, sink, 1)[0]))
    tampered = flow.http.get(f"{path.path}?{path.query[:-2]}xx")
    assert tampered.status_code == 400 and not _has_session(flow)
    assert _signin_events(keystead, tenant.id) == [
        ("signin.passwordless.failed", "anonymous", None, "email_link")
    ]
    clock.advance(keystead.settings.codes.code_ttl)
    expired = flow.http.get(f"{path.path}?{path.query}")
    assert expired.status_code == 400 and "expired" in expired.text
    assert not _has_session(flow)


def test_an_enrolled_user_still_gives_the_second_factor(
    env, keystead: Keystead, sink: Sink, clock: FrozenClock
):
    tenant, user, rp, flow = env
    enrolment = keystead.factors.enrol_totp(tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    clock.advance(30)
    page, verifier = _start(flow, rp)
    sent = _ask(flow, page, "alice@example.com")
    second = _enter(flow, sent, code_in(mails(keystead, sink, 1)[0]))
    assert page_of(second) == "second_factor" and not _has_session(flow)
    claims = _claims(flow, rp, submit(flow.http, second, method="totp", code=totp.at(clock())), verifier)
    assert claims["amr"] == ["otp", "mfa"] and claims["acr"] == ACR_MFA


def test_nothing_is_offered_when_the_tenant_allows_only_passwords(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    configure(keystead, tenant, {"login_methods": ["password"]})
    page, _ = _start(flow, rp)
    assert 'id="email-sign-in"' not in page.text
    forced = submit(flow.http, page, method="email_start", login="alice@example.com")
    assert forced.status_code == 400


def test_no_code_or_link_reaches_the_logs(
    env, keystead: Keystead, sink: Sink, caplog: pytest.LogCaptureFixture
):
    _tenant, _user, rp, flow = env
    with caplog.at_level(logging.DEBUG):
        page, _ = _start(flow, rp)
        sent = _ask(flow, page, "alice@example.com")
        mail = mails(keystead, sink, 1)[0]
        _enter(flow, sent, code_in(mail))
    token = link_in(mail).rsplit("=", 1)[1]
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "alice" in ours or "POST" in ours  # the app's logs were captured
    assert code_in(mail) not in ours and token not in ours


def test_a_tenant_without_passwords_asks_for_the_address_and_refuses_a_password(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    configure(keystead, tenant, {"login_methods": ["email_code"]})
    page, _ = _start(flow, rp)
    assert page_of(page) == "email_sign_in" and 'id="use-password"' not in page.text
    forced = submit(flow.http, page, username="alice", password=PASSWORD)
    assert forced.status_code == 400 and page_of(forced) == "email_sign_in"
    assert not _has_session(flow)


def test_the_send_limit_ends_with_its_window(env, keystead: Keystead, sink: Sink, clock: FrozenClock):
    _tenant, _user, rp, flow = env
    codes = keystead.settings.codes
    page, _ = _start(flow, rp)
    statuses = [_ask(flow, page, "alice@example.com").status_code for _ in range(codes.sends_per_window + 1)]
    assert statuses[-1] == 429
    clock.advance(codes.send_window_seconds - 1)
    assert _ask(flow, page, "alice@example.com").status_code == 429  # one second before the edge
    clock.advance(1)
    page, _ = _start(flow, rp)  # the sign-in page itself has expired by now (its 900 s)
    assert _ask(flow, page, "alice@example.com").status_code == 200
    assert len(mails(keystead, sink, codes.sends_per_window + 1)) == codes.sends_per_window + 1
