"""Passkeys in the hosted sign-in pages, through the real endpoints with a software
authenticator: the options endpoint (CSRF, interaction cookie, the ceremony of the step),
passwordless sign-in from the login page, a passkey as the second factor after the password,
a passkey registered at the required enrolment, the ``acr``/``amr`` the client gets, and the
same answer for every refusal."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from keystead.clock import FrozenClock
from keystead.flows.stages import ACR_MFA
from keystead.ports.records import Tenant, User
from keystead.services.passkey_challenges import RelyingParty
from keystead.web.passkey_pages import PASSKEY_ERROR
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _mfa_mode, _password, _start, _totp
from tests.support.authenticator import SoftAuthenticator, b64url, tamper
from tests.support.factories import Factory, RegisteredClient
from tests.support.flow import Flow
from tests.support.stages import page_of, submit

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPTIONS = re.compile(r'data-options="([^"]+)"')

Env = tuple[Tenant, User, RegisteredClient, Flow]


@pytest.fixture
def env(client: Any, factory: Factory, clock: FrozenClock) -> Env:
    clock.now = 1_900_000_020.0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    return tenant, user, rp, Flow(client, tenant.name)


def _device(keystead: Keystead, tenant: Tenant, user: User, **knobs: Any) -> SoftAuthenticator:
    """A software authenticator holding a passkey of ``user`` (registered through the service)."""
    rp = RelyingParty.for_issuer(keystead.tenants.issuer(tenant), tenant.display_name)
    device = SoftAuthenticator(origin=rp.origin, **knobs)
    options = keystead.passkeys.registration_options(tenant.id, user.id, rp, "test")
    keystead.passkeys.register(tenant.id, user.id, rp, "test", device.create(options))
    return device


def _options(flow: Flow, page: httpx.Response) -> httpx.Response:
    url = _OPTIONS.search(page.text)
    csrf = _CSRF.search(page.text)
    assert url is not None and csrf is not None
    return flow.http.post(url.group(1), data={"csrf_token": csrf.group(1)})


def _answer(flow: Flow, page: httpx.Response, credential: dict[str, Any]) -> httpx.Response:
    return submit(flow.http, page, method="passkey", credential=json.dumps(credential))


def _signin_events(keystead: Keystead, tenant_id: str) -> list[tuple[str, str, str | None, object]]:
    """(action, actor, target, after.method) of the tenant's sign-in stage events, oldest first."""
    events = reversed(keystead.audit.page(tenant_id, limit=200))
    return [
        (e.action, e.actor, e.target, (e.after or {}).get("method"))
        for e in events
        if e.action.startswith("signin.passwordless") or e.action.startswith("signin.second_factor")
    ]


def test_passwordless_sign_in_from_the_login_page(env: Env, keystead: Keystead) -> None:
    tenant, user, rp, flow = env
    device = _device(keystead, tenant, user)
    page, verifier = _start(flow, rp)
    assert page_of(page) == "login"
    assert 'autocomplete="username webauthn"' in page.text and "passkeys.js" in page.text
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    options = _options(flow, page)
    assert options.status_code == 200 and options.headers["cache-control"] == "no-store"
    assert options.json()["userVerification"] == "required" and options.json()["allowCredentials"] == []
    landed = _answer(flow, page, device.get(options.text))
    claims = _claims(flow, rp, landed, verifier)
    assert claims["sub"] == user.id
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["hwk", "user", "mfa"]
    assert _signin_events(keystead, tenant.id) == [
        ("signin.passwordless.succeeded", user.id, user.id, "passkey")
    ]


def test_passkey_as_the_second_factor(env: Env, keystead: Keystead) -> None:
    tenant, user, rp, flow = env
    device = _device(keystead, tenant, user)
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "second_factor"
    assert 'id="use-passkey"' in page.text and 'id="second-factor-form"' not in page.text  # no TOTP
    options = _options(flow, page)
    assert [c["id"] for c in options.json()["allowCredentials"]] == [b64url(device.only.id)]
    assert options.json()["userVerification"] == "preferred"
    landed = _answer(flow, page, device.get(options.text))
    claims = _claims(flow, rp, landed, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "hwk", "user", "mfa"]


def test_with_totp_and_a_passkey_the_page_offers_both(
    env: Env, keystead: Keystead, clock: FrozenClock
) -> None:
    tenant, user, rp, flow = env
    _device(keystead, tenant, user)
    _totp(keystead, user, clock)
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    assert 'id="use-passkey"' in page.text and 'id="second-factor-form"' in page.text


def test_every_refusal_reads_the_same_and_issues_nothing(
    env: Env, keystead: Keystead, factory: Factory
) -> None:
    tenant, user, rp, flow = env
    device = _device(keystead, tenant, user)
    stranger = SoftAuthenticator(origin=device.origin)  # a credential nobody registered
    stranger.create(
        json.dumps({"rp": {"id": "testserver"}, "user": {"id": "c3RyYW5nZXI"}, "challenge": "AA"})
    )
    page, _ = _start(flow, rp)
    answers = []
    for make in (
        stranger.get,
        lambda o: tamper(device.get(o)),
        lambda o: device.get(o, origin="https://evil.example"),
        lambda o: device.get(o, uv=False),
    ):
        refused = _answer(flow, page, make(_options(flow, page).text))
        assert refused.status_code == 400 and page_of(refused) == "login"
        answers.append(re.sub(r'value="[^"]*"', "", refused.text))
    assert PASSKEY_ERROR in answers[0] and len(set(answers)) == 1
    refusals = [("signin.passwordless.failed", "anonymous", None, "passkey")] * 4
    assert _signin_events(keystead, tenant.id) == refusals  # recorded, and nobody named
    assert not any(c.name == "ks_session" for c in flow.http.cookies.jar)
    # malformed input is refused the same way, and an answer without a challenge too
    assert _answer(flow, page, {"response": "nope"}).status_code == 400
    assert submit(flow.http, page, method="passkey", credential="{not json").status_code == 400


def test_a_replayed_answer_fails(env: Env, keystead: Keystead) -> None:
    tenant, user, rp, flow = env
    device = _device(keystead, tenant, user, counter_step=0)
    page, _ = _start(flow, rp)
    answer = device.get(_options(flow, page).text)
    assert page_of(_answer(flow, page, answer)) == "client"
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    _options(flow, page)  # a live challenge of this interaction exists; the old answer is not for it
    refused = _answer(flow, page, answer)
    assert refused.status_code == 400 and PASSKEY_ERROR in refused.text


def test_the_options_endpoint_wants_its_interaction_cookie_and_csrf(env: Env) -> None:
    _tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    url = _OPTIONS.search(page.text)
    assert url is not None
    assert flow.http.post(url.group(1), data={"csrf_token": "forged"}).status_code == 403
    assert (
        flow.http.post(url.group(1), content=b"{}", headers={"content-type": "application/json"}).status_code
        == 415
    )
    csrf = _CSRF.search(page.text)
    assert csrf is not None
    other = url.group(1).replace("/interaction/", "/interaction/x")
    assert flow.http.post(other, data={"csrf_token": csrf.group(1)}).status_code == 400
    # the second-factor step of a user without a passkey has nothing to offer
    totp_page = _password(flow, page)
    assert page_of(totp_page) == "client"  # no factor at all: straight through
    assert flow.http.post(url.group(1), data={"csrf_token": csrf.group(1)}).status_code in (400, 409)


def test_a_passkey_can_be_the_required_enrolment(env: Env, keystead: Keystead) -> None:
    tenant, user, rp, flow = env
    _mfa_mode(keystead, tenant, "always")
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "enrol_totp" and 'id="add-passkey"' in page.text
    options = _options(flow, page)
    assert options.json()["user"]["name"] == "alice"
    device = SoftAuthenticator(origin="http://testserver")
    landed = _answer(flow, page, device.create(options.text))
    claims = _claims(flow, rp, landed, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    kinds = sorted(f.kind for f in keystead.factors.list_factors(tenant.id, user.id))
    assert kinds == ["passkey"]  # the unfinished authenticator-app enrolment was dropped


def test_a_step_up_asks_the_passkey_of_a_password_only_session(env: Env, keystead: Keystead) -> None:
    tenant, user, rp, flow = env
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page)) == "client"  # no factor yet: a password-only session
    device = _device(keystead, tenant, user)  # added later (the account page)
    page, verifier = _start(flow, rp, acr_values=ACR_MFA)
    assert page_of(page) == "second_factor"  # not the password again
    options = _options(flow, page)
    assert options.status_code == 200 and options.json()["allowCredentials"]
    claims = _claims(flow, rp, _answer(flow, page, device.get(options.text)), verifier)
    assert claims["acr"] == ACR_MFA and "hwk" in claims["amr"]
