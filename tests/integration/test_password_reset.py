"""Account recovery ("Forgot your password?") through the hosted pages, the mail delivered over
SMTP to a real server: the happy path back into the sign-in, the same answer for unknown,
unverified and disabled accounts (no mail), reused, expired and tampered links, the policy,
revoked sessions and tokens, the lockout, the audit trail, the send limit and CSRF."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.ports.records import User
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _has_session, _password, _start
from tests.support import email_env
from tests.support.email_env import configure, mails
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.mail import Sink, html_of, link_in, text_of
from tests.support.stages import land, page_of, submit

# the SMTP sink and settings that send the app's mail to it
sink, settings, _close_mail = email_env.sink, email_env.settings, email_env._close_mail

T0 = 1_900_000_020.0
NEW = "a brand new passphrase 42"


@pytest.fixture
def env(client, factory: Factory, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice", email="alice@example.com", email_verified=True)
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def _forgot(flow: Flow, login_page: httpx.Response) -> httpx.Response:
    link = re.search(r'id="forgot-password" href="([^"]+)"', login_page.text)
    assert link is not None, login_page.text[:300]
    form = flow.http.get(link.group(1).replace("&amp;", "&"))
    assert form.status_code == 200 and page_of(form) == "forgot_password"
    return form


def _hidden(page: httpx.Response, name: str) -> str:
    """A hidden field of the page's form (a browser posts it; ``submit`` posts only what it is given)."""
    match = re.search(rf'type="hidden" name="{name}" value="([^"]*)"', page.text)
    assert match is not None, page.text[:300]
    return match.group(1)


def _send(flow: Flow, form: httpx.Response, login: str) -> httpx.Response:
    return submit(flow.http, form, login=login, interaction=_hidden(form, "interaction"))


def _ask(flow: Flow, rp, login: str, **extra: str) -> httpx.Response:
    page, _ = _start(flow, rp, **extra)
    return _send(flow, _forgot(flow, page), login)


def _open(http: httpx.Client, link: str) -> httpx.Response:
    parts = urlsplit(link)
    return http.get(f"{parts.path}?{parts.query}")


def _choose(http: httpx.Client, link: str, password: str = NEW, confirm: str | None = None) -> httpx.Response:
    form = _open(http, link)
    assert page_of(form) == "reset_password", form.text[:300]
    return submit(
        http,
        form,
        token=_hidden(form, "token"),
        interaction=_hidden(form, "interaction"),
        password=password,
        confirm=password if confirm is None else confirm,
    )


def _reset_mail(keystead: Keystead, sink: Sink) -> EmailMessage:
    (mail,) = mails(keystead, sink, 1)
    assert mail["Subject"] == "Reset your Acme Corp password"
    return mail


def _events(keystead: Keystead, tenant_id: str) -> list[tuple[str, str, str | None, dict]]:
    events = reversed(keystead.audit.page(tenant_id, limit=200))
    return [
        (e.action, e.actor, e.target, dict(e.after or {}))
        for e in events
        if e.action.startswith("signin.password_reset")
    ]


def _normalised(response: httpx.Response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", response.text)


def test_a_reset_link_sets_a_new_password_and_returns_to_the_sign_in(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    page, verifier = _start(flow, rp)
    sent = _send(flow, _forgot(flow, page), "alice@example.com")
    assert sent.status_code == 200 and 'id="reset-sent"' in sent.text
    assert "If an account exists" in sent.text
    mail = _reset_mail(keystead, sink)
    link = link_in(mail)
    assert mail["To"] == "alice@example.com" and link in html_of(mail).replace("&amp;", "&")
    assert link.startswith(f"http://testserver/t/{tenant.name}/reset-password?token=")
    assert "&interaction=" in link
    opened = _open(flow.http, link)
    assert page_of(opened) == "reset_password"  # opening it spends nothing
    done = _choose(flow.http, link)
    assert done.status_code == 200 and 'id="password-reset"' in done.text
    resume = re.search(r'id="continue-sign-in" href="([^"]+)"', done.text)
    assert resume is not None
    again = land(flow.http, flow.http.get(resume.group(1)))
    assert page_of(again) == "login"
    refused = _password(flow, again, "alice", PASSWORD)
    assert refused.status_code == 400 and not _has_session(flow)
    claims = _claims(flow, rp, _password(flow, refused, "alice", NEW), verifier)
    assert claims["sub"] == user.id
    notice = mails(keystead, sink, 2)[1]
    assert notice["To"] == "alice@example.com"
    assert notice["Subject"] == "Your Acme Corp password was changed"
    assert "signed out" in text_of(notice) and link not in text_of(notice)
    # a used link is refused, on opening and on posting
    reused = _open(flow.http, link)
    assert reused.status_code == 400 and "expired or was already used" in reused.text


def test_another_browser_gets_a_plain_sign_in_message(env, keystead: Keystead, sink: Sink, app):
    _tenant, _user, rp, flow = env
    _ask(flow, rp, "alice")
    link = link_in(_reset_mail(keystead, sink))
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        done = _choose(other, link)
    assert done.status_code == 200 and 'id="sign-in-again"' in done.text
    assert 'id="continue-sign-in"' not in done.text


@pytest.mark.parametrize("kind", ["unknown", "unverified", "disabled", "no_email"])
def test_other_accounts_get_the_same_answer_and_no_mail(
    env, keystead: Keystead, sink: Sink, factory: Factory, kind: str
):
    tenant, _user, rp, flow = env
    login = {"unknown": "nobody@example.com", "unverified": "bob", "disabled": "carol", "no_email": "dave"}[
        kind
    ]
    factory.user(tenant, "bob", email="bob@example.com", email_verified=False)
    carol = factory.user(tenant, "carol", email="carol@example.com", email_verified=True)
    keystead.users.set_status(tenant.id, carol.id, "disabled")
    factory.user(tenant, "dave", email=None)
    known = _ask(flow, rp, "alice")
    flow.http.cookies.clear()
    other = _ask(flow, rp, login)
    assert known.status_code == other.status_code == 200
    assert _normalised(known) == _normalised(other)
    assert [m["To"] for m in mails(keystead, sink, 1)] == ["alice@example.com"]


def test_an_expired_or_tampered_link_is_refused(env, keystead: Keystead, sink: Sink, clock: FrozenClock):
    _tenant, user, rp, flow = env
    _ask(flow, rp, "alice")
    link = link_in(_reset_mail(keystead, sink))
    token = re.search(r"token=([^&]+)", link).group(1)  # type: ignore[union-attr]
    tampered = _open(flow.http, link.replace(token, token[:-2] + ("aa" if token[-2:] != "aa" else "bb")))
    assert tampered.status_code == 400 and "password reset link" in tampered.text
    form = _open(flow.http, link)
    clock.advance(keystead.settings.codes.reset_ttl)
    late = submit(flow.http, form, token=_hidden(form, "token"), password=NEW, confirm=NEW)
    assert late.status_code == 400 and "expired" in late.text
    assert _open(flow.http, link).status_code == 400
    assert keystead.passwords.verify(_user(keystead, user.tenant_id).password_hash, PASSWORD).ok


def test_a_refused_password_keeps_the_link_usable(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    _ask(flow, rp, "alice")
    link = link_in(_reset_mail(keystead, sink))
    short = _choose(flow.http, link, password="short")
    assert short.status_code == 400 and "Choose another password" in short.text
    mismatch = _choose(flow.http, link, confirm="something else entirely")
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    assert 'id="password-reset"' in _choose(flow.http, link).text


def test_the_reset_revokes_sessions_and_tokens_and_ends_a_lockout(
    env, keystead: Keystead, sink: Sink, client
):
    tenant, user, rp, flow = env
    tokens = flow.exchange(rp, flow.login(rp, "alice", scope="openid offline_access"))
    assert tokens.status_code == 200 and "refresh_token" in tokens.json()
    assert keystead.sessions.of_user(tenant.id, user.id)
    page, _ = _start(flow, rp, prompt="login")
    for _ in range(3):  # the lockout threshold of these tests
        submit(flow.http, page, username="alice", password="wrong password!")
    assert keystead.lockouts.state(user).locked
    _ask(flow, rp, "alice", prompt="login")
    unlock, reset = mails(keystead, sink, 2)
    assert unlock["Subject"] == "Unlock your Acme Corp account"
    _choose(flow.http, link_in(reset))
    assert keystead.sessions.of_user(tenant.id, user.id) == []
    refreshed = flow.token(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    info = client.post(
        f"/t/{tenant.name}/introspect",
        data={"token": tokens.json()["access_token"]},
        auth=(rp.client_id, rp.secret),
    )
    assert info.json()["active"] is False
    assert not keystead.lockouts.state(user).locked
    assert _events(keystead, tenant.id) == [
        ("signin.password_reset.requested", "anonymous", user.id, {"login": "alice"}),
        (
            "signin.password_reset.completed",
            user.id,
            user.id,
            {"revoked": {"sessions": 1, "grants": 0}},
        ),
    ]


def test_an_unknown_login_is_audited_without_a_user_and_no_token_is_recorded(
    env, keystead: Keystead, sink: Sink
):
    tenant, _user, rp, flow = env
    _ask(flow, rp, "  Nobody@Example.com ")
    _ask(flow, rp, "alice")
    token = link_in(_reset_mail(keystead, sink)).partition("token=")[2].partition("&")[0]
    events = _events(keystead, tenant.id)
    assert events[0] == (
        "signin.password_reset.requested",
        "anonymous",
        None,
        {"login": "Nobody@Example.com"},
    )
    assert token.split(".")[1] not in repr(keystead.audit.page(tenant.id, limit=200))


def test_a_second_factor_is_still_asked_after_a_reset(
    env, keystead: Keystead, sink: Sink, clock: FrozenClock
):
    tenant, user, rp, flow = env
    enrolment = keystead.factors.enrol_totp(tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    _ask(flow, rp, "alice")
    _choose(flow.http, link_in(_reset_mail(keystead, sink)))
    page, _ = _start(flow, rp)
    second = _password(flow, page, "alice", NEW)
    assert page_of(second) == "second_factor" and not _has_session(flow)


def test_the_send_limit_answers_the_same_for_any_login(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    limit = keystead.settings.codes.sends_per_window
    for login in ("alice", "nobody"):
        page, _ = _start(flow, rp)
        form = _forgot(flow, page)
        statuses = [_send(flow, form, login).status_code for _ in range(limit + 1)]
        assert statuses == [200] * limit + [429]
    assert len(mails(keystead, sink, limit)) == limit


def test_the_forms_need_their_csrf_token(env, keystead: Keystead, sink: Sink):
    tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    _forgot(flow, page)
    base = f"/t/{tenant.name}"
    forged = flow.http.post(f"{base}/forgot-password", data={"login": "alice", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]
    _ask(flow, rp, "alice")
    link = link_in(_reset_mail(keystead, sink))
    token = link.partition("token=")[2].partition("&")[0]
    data = {"token": token, "password": NEW, "confirm": NEW, "csrf_token": "forged"}
    assert flow.http.post(f"{base}/reset-password", data=data).status_code == 403
    assert page_of(_open(flow.http, link)) == "reset_password"  # still unspent


def test_no_forgot_link_when_the_tenant_has_no_passwords(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    configure(keystead, tenant, {"login_methods": ["password"]})
    page, _ = _start(flow, rp)
    assert 'id="forgot-password"' in page.text
    configure(keystead, tenant, {"login_methods": ["email_code"]})
    page, _ = _start(flow, rp)
    assert 'id="forgot-password"' not in page.text
    assert flow.http.get(f"/t/{tenant.name}/forgot-password").status_code == 404


def _user(keystead: Keystead, tenant_id: str) -> User:
    return keystead.users.find(tenant_id, "alice")


def test_the_send_limit_per_client_address(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    limit = keystead.settings.codes.reset_sends_per_ip
    page, _ = _start(flow, rp)
    form = _forgot(flow, page)
    statuses = [_send(flow, form, f"stranger{n}").status_code for n in range(limit + 1)]
    assert statuses == [200] * limit + [429]
    refused = _send(flow, form, "alice")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]
