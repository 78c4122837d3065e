"""Unlock by email: a failure that locks an existing account mails its verified address a
single-use link (over SMTP to a real server); following it ends the lockout. The sign-in
answers the same for an unknown login, which gets no mail."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from keystead.clock import FrozenClock
from keystead.ports.records import User
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _start
from tests.support import email_env
from tests.support.email_env import mails
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.mail import Sink, link_in
from tests.support.stages import page_of, submit

# the SMTP sink and settings that send the app's mail to it
sink, settings, _close_mail = email_env.sink, email_env.settings, email_env._close_mail


@pytest.fixture
def env(client, factory: Factory, clock: FrozenClock):
    tenant = factory.tenant()
    user = factory.user(tenant, "alice", email="alice@example.com", email_verified=True)
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def _lock(flow: Flow, rp, login: str) -> list[httpx.Response]:
    """Three wrong passwords (the lockout threshold of these tests), then the right one."""
    page, _ = _start(flow, rp)
    answers = [submit(flow.http, page, username=login, password="wrong password!") for _ in range(3)]
    return [*answers, submit(flow.http, page, username=login, password=PASSWORD)]


def _unlock(http: httpx.Client, link: str) -> httpx.Response:
    parts = urlsplit(link)
    page = http.get(f"{parts.path}?{parts.query}")
    assert page_of(page) == "unlock"
    token = parts.query.partition("token=")[2]
    assert f'name="token" value="{token}"' in page.text  # the form carries the link's token
    return submit(http, page, token=token)


def _locked(keystead: Keystead, user: User) -> bool:
    return keystead.lockouts.state(user).locked


def test_a_lockout_mails_a_link_that_unlocks_once(env, keystead: Keystead, sink: Sink):
    _tenant, user, rp, flow = env
    answers = _lock(flow, rp, "alice")
    assert answers[-1].status_code == 429 and _locked(keystead, user)
    (mail,) = mails(keystead, sink, 1)
    assert mail["To"] == "alice@example.com" and mail["Subject"] == "Unlock your Acme Corp account"
    link = link_in(mail)
    assert link.startswith("http://testserver/t/") and "/unlock?token=" in link
    opened = flow.http.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert _locked(keystead, user)  # opening the link changes nothing (mail scanners follow links)
    assert opened.status_code == 200
    done = _unlock(flow.http, link)
    assert done.status_code == 200 and 'id="unlocked"' in done.text
    assert not _locked(keystead, user)
    again = _unlock(flow.http, link)
    assert again.status_code == 400 and "expired or was already used" in again.text


def test_the_lockout_answers_the_same_for_an_unknown_login(env, keystead: Keystead, sink: Sink):
    _tenant, _user, rp, flow = env
    known = _lock(flow, rp, "alice")
    flow.http.cookies.clear()
    unknown = _lock(flow, rp, "nobody")

    def shape(r: httpx.Response) -> tuple[int, str | None, str]:
        text = re.sub(r'value="[^"]*"', "", r.text)
        text = re.sub(r"interaction=[^\"&]+", "", text)  # the "Forgot your password?" link's sign-in
        return r.status_code, r.headers.get("retry-after"), re.sub(r"/interaction/[^\"?]+", "", text)

    assert [shape(r) for r in known] == [shape(r) for r in unknown]
    assert [m["To"] for m in mails(keystead, sink, 1)] == ["alice@example.com"]


def test_no_link_for_an_unverified_address(env, keystead: Keystead, sink: Sink, factory: Factory):
    tenant, _user, rp, flow = env
    bob = factory.user(tenant, "bob", email="bob@example.com", email_verified=False)
    _lock(flow, rp, "bob")
    assert _locked(keystead, bob)
    assert keystead.messaging.mailer.flush() and sink.messages == []  # type: ignore[attr-defined]


def test_an_expired_or_forged_link_unlocks_nothing(env, keystead: Keystead, sink: Sink, clock: FrozenClock):
    _tenant, user, rp, flow = env
    _lock(flow, rp, "alice")
    link = link_in(mails(keystead, sink, 1)[0])
    assert _unlock(flow.http, link[:-3] + "abc").status_code == 400
    assert _unlock(flow.http, link.split("?")[0] + "?token=").status_code == 400
    assert _locked(keystead, user)
    clock.advance(keystead.settings.codes.unlock_ttl)
    assert _unlock(flow.http, link).status_code == 400


def test_the_unlock_form_needs_its_csrf_token(env, keystead: Keystead, sink: Sink):
    tenant, user, rp, flow = env
    _lock(flow, rp, "alice")
    token = link_in(mails(keystead, sink, 1)[0]).split("token=")[1]
    forged = flow.http.post(f"/t/{tenant.name}/unlock", data={"token": token, "csrf_token": "x"})
    assert forged.status_code == 403 and _locked(keystead, user)
