"""The end users' account page without a browser (SQLite and PostgreSQL): sign-in through the
tenant's own login (a sealed, path-scoped cookie), passkeys added with a software authenticator,
renamed and removed, an authenticator app added through the TOTP enrolment and removed, recovery
codes shown once; CSRF on every POST, a recent sign-in for every change, another user's factor
out of reach."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant, User
from keystead.web.account.session import RECENT_AUTH
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS
from tests.support.authenticator import SoftAuthenticator
from tests.support.factories import PASSWORD, Factory

BASE = "http://localhost"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(db_url: str) -> Settings:
    # the account page's redirect URI derives from the base URL; http is allowed on loopback only
    return load_settings(database={"url": db_url}, passwords=FAST_PASSWORDS, server={"base_url": BASE})


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(app, base_url=BASE, follow_redirects=False) as c:
            yield c


@pytest.fixture
def tenant(factory: Factory) -> Tenant:
    return factory.tenant()


@pytest.fixture
def user(factory: Factory, tenant: Tenant) -> User:
    return factory.user(tenant, "alice")


def _login(
    http: httpx.Client, response: httpx.Response, user: User, device: SoftAuthenticator | None
) -> httpx.Response:
    while response.status_code == 303 and "/interaction/" in response.headers["location"]:
        page = response.headers["location"]
        response = http.get(page)
        token = _CSRF.search(response.text)
        assert token is not None
        csrf = token.group(1)
        response = http.post(page, data={"csrf_token": csrf, "username": user.username, "password": PASSWORD})
        if response.status_code == 200 and 'id="use-passkey"' in response.text and device is not None:
            options = http.post(f"{page}/passkey/options", data={"csrf_token": csrf})
            answer = json.dumps(device.get(options.text))
            data = {"csrf_token": csrf, "stage": "second_factor", "method": "passkey", "credential": answer}
            response = http.post(page, data=data)
    return response


def sign_in(
    http: httpx.Client,
    tenant: Tenant,
    user: User,
    *,
    fresh: bool = False,
    device: SoftAuthenticator | None = None,
) -> httpx.Response:
    """Open the account page, sign in on the tenant's login page (with the password, and the
    passkey of ``device`` when a second factor is asked); the callback's response."""
    start = http.get(f"/t/{tenant.name}/account/signin" + ("?fresh=1" if fresh else ""))
    assert start.status_code == 303
    response = _login(http, http.get(start.headers["location"]), user, device)
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(f"{BASE}/t/{tenant.name}/account/callback?"), location
    return http.get(location)


def page(http: httpx.Client, tenant: Tenant) -> tuple[httpx.Response, str]:
    response = http.get(f"/t/{tenant.name}/account")
    assert response.status_code == 200, response.text[:300]
    token = _CSRF.search(response.text)
    assert token is not None
    return response, token.group(1)


def _add_passkey(
    http: httpx.Client, tenant: Tenant, device: SoftAuthenticator, name: str = ""
) -> httpx.Response:
    _, csrf = page(http, tenant)
    options = http.post(f"/t/{tenant.name}/account/passkeys/options", data={"csrf_token": csrf})
    assert options.status_code == 200, options.text
    credential = json.dumps(device.create(options.text))
    return http.post(
        f"/t/{tenant.name}/account/passkeys",
        data={"csrf_token": csrf, "credential": credential, "name": name},
    )


def test_sign_in_gives_a_sealed_path_scoped_cookie_and_the_page(
    http: httpx.Client, tenant: Tenant, user: User
) -> None:
    assert http.get(f"/t/{tenant.name}/account").headers["location"] == f"/t/{tenant.name}/account/signin"
    done = sign_in(http, tenant, user)
    assert done.status_code == 303 and done.headers["location"] == f"/t/{tenant.name}/account"
    cookie = next(
        v for k, v in done.headers.multi_items() if k == "set-cookie" and v.startswith("ks_account=")
    )
    assert f"path=/t/{tenant.name}/account" in cookie.lower() and "httponly" in cookie.lower()
    assert user.id not in cookie
    response, _ = page(http, tenant)
    assert "Signed in as <strong>alice</strong>" in response.text
    assert "No passkeys yet." in response.text and 'id="add-passkey"' in response.text
    assert "connect-src 'self'" in response.headers["content-security-policy"]


def test_add_rename_and_remove_a_passkey(
    http: httpx.Client, keystead: Keystead, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    device = SoftAuthenticator(origin=BASE)
    added = _add_passkey(http, tenant, device, name="Work laptop")
    assert added.status_code == 303 and added.headers["location"].endswith("?done=passkey-added")
    (passkey,) = keystead.passkeys.list_passkeys(tenant.id, user.id)
    assert passkey.name == "Work laptop"
    response, csrf = page(http, tenant)
    assert "Work laptop" in response.text
    renamed = http.post(
        f"/t/{tenant.name}/account/passkeys/{passkey.id}/rename", data={"csrf_token": csrf, "name": "Phone"}
    )
    assert renamed.status_code == 303
    assert [p.name for p in keystead.passkeys.list_passkeys(tenant.id, user.id)] == ["Phone"]
    removed = http.post(f"/t/{tenant.name}/account/factors/{passkey.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303 and keystead.passkeys.list_passkeys(tenant.id, user.id) == []
    events = keystead.storage.audit_page(tenant.id, after=None, limit=10)
    events = [e for e in events if not e.action.startswith("signin.")]  # the account sign-in's own
    assert [e.action for e in events] == ["user.factor.remove", "user.passkey.rename", "user.passkey.add"]
    assert {e.target for e in events} == {user.id}


def test_a_refused_passkey_is_not_added(
    http: httpx.Client, keystead: Keystead, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    _, csrf = page(http, tenant)
    options = http.post(f"/t/{tenant.name}/account/passkeys/options", data={"csrf_token": csrf})
    wrong_origin = json.dumps(SoftAuthenticator(origin="https://evil.example").create(options.text))
    refused = http.post(
        f"/t/{tenant.name}/account/passkeys", data={"csrf_token": csrf, "credential": wrong_origin}
    )
    assert refused.status_code == 400 and "could not be added" in refused.text
    assert keystead.passkeys.list_passkeys(tenant.id, user.id) == []


def test_every_post_needs_the_csrf_token(
    http: httpx.Client, keystead: Keystead, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    _add_passkey(http, tenant, SoftAuthenticator(origin=BASE))
    (passkey,) = keystead.passkeys.list_passkeys(tenant.id, user.id)
    base = f"/t/{tenant.name}/account"
    for path in (
        "/passkeys/options",
        "/passkeys",
        f"/passkeys/{passkey.id}/rename",
        f"/factors/{passkey.id}/remove",
        "/recovery-codes",
        "/totp",
    ):
        refused = http.post(base + path, data={"csrf_token": "forged", "name": "x"})
        assert refused.status_code == 403, path
    assert [p.name for p in keystead.passkeys.list_passkeys(tenant.id, user.id)] == [passkey.name]
    assert keystead.factors.list_factors(tenant.id, user.id)[0].kind == "passkey"
    assert len(keystead.factors.list_factors(tenant.id, user.id)) == 1


def test_changes_need_a_recent_sign_in(
    http: httpx.Client, keystead: Keystead, clock: FrozenClock, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    device = SoftAuthenticator(origin=BASE)
    _add_passkey(http, tenant, device)
    (passkey,) = keystead.passkeys.list_passkeys(tenant.id, user.id)
    clock.advance(RECENT_AUTH + 1)
    response, csrf = page(http, tenant)
    assert 'id="confirm-first"' in response.text and 'id="add-passkey"' not in response.text
    base = f"/t/{tenant.name}/account"
    removed = http.post(f"{base}/factors/{passkey.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303 and "/account/signin?fresh=1" in removed.headers["location"]
    assert http.post(f"{base}/passkeys/options", data={"csrf_token": csrf}).status_code == 401
    assert http.post(f"{base}/recovery-codes", data={"csrf_token": csrf}).status_code == 303
    assert len(keystead.factors.list_factors(tenant.id, user.id)) == 1  # nothing changed
    # confirming asks the login for a new authentication (prompt=login), then the change works
    start = http.get(f"{base}/signin?fresh=1")
    assert "prompt=login" in start.headers["location"]
    done = sign_in(http, tenant, user, fresh=True, device=device)  # password and passkey again
    assert done.status_code == 303
    _, csrf = page(http, tenant)
    assert http.post(f"{base}/factors/{passkey.id}/remove", data={"csrf_token": csrf}).status_code == 303
    assert keystead.passkeys.list_passkeys(tenant.id, user.id) == []


def test_add_and_remove_an_authenticator_app(
    http: httpx.Client, keystead: Keystead, clock: FrozenClock, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    setup = http.get(f"/t/{tenant.name}/account/totp")
    assert setup.status_code == 200 and 'src="data:image/svg+xml;base64,' in setup.text
    key = re.search(r'id="manual-key">([A-Z2-7 ]+)<', setup.text)
    factor_id = re.search(r'name="factor_id" value="([^"]+)"', setup.text)
    csrf = _CSRF.search(setup.text)
    assert key and factor_id and csrf
    data = {"csrf_token": csrf.group(1), "factor_id": factor_id.group(1)}
    wrong = http.post(f"/t/{tenant.name}/account/totp", data={**data, "code": "000000"})
    assert wrong.status_code == 400 and "That code is not valid" in wrong.text
    code = pyotp.TOTP(key.group(1).replace(" ", "")).at(clock())
    assert http.post(f"/t/{tenant.name}/account/totp", data={**data, "code": code}).status_code == 303
    response, csrf_token = page(http, tenant)
    assert "Authenticator app" in response.text and keystead.factors.has_second_factor(tenant.id, user.id)
    removed = http.post(
        f"/t/{tenant.name}/account/factors/{factor_id.group(1)}/remove", data={"csrf_token": csrf_token}
    )
    assert removed.status_code == 303 and not keystead.factors.has_second_factor(tenant.id, user.id)


def test_recovery_codes_are_shown_once(
    http: httpx.Client, keystead: Keystead, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    response, csrf = page(http, tenant)
    assert "You have no recovery codes" in response.text
    shown = http.post(f"/t/{tenant.name}/account/recovery-codes", data={"csrf_token": csrf})
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    codes = re.findall(r'<code class="ks-code">([2-9A-Z]{5}-[2-9A-Z]{5})</code>', shown.text)
    assert len(codes) == 10
    keystead.factors.use_recovery_code(tenant.id, user.id, codes[0])
    response, _ = page(http, tenant)
    assert "9 of 10 codes left" in response.text and codes[1] not in response.text


def test_another_users_factor_is_out_of_reach(
    http: httpx.Client, keystead: Keystead, factory: Factory, tenant: Tenant, user: User
) -> None:
    bob = factory.user(tenant, "bob")
    codes = keystead.factors.generate_recovery_codes(tenant.id, bob.id)
    sign_in(http, tenant, user)
    _, csrf = page(http, tenant)
    base = f"/t/{tenant.name}/account"
    assert http.post(f"{base}/factors/{codes.factor.id}/remove", data={"csrf_token": csrf}).status_code == 404
    assert (
        http.post(
            f"{base}/passkeys/{codes.factor.id}/rename", data={"csrf_token": csrf, "name": "x"}
        ).status_code
        == 404
    )
    assert keystead.factors.has_second_factor(tenant.id, bob.id)


def test_signed_out_users_are_sent_to_sign_in(
    http: httpx.Client, keystead: Keystead, tenant: Tenant, user: User
) -> None:
    sign_in(http, tenant, user)
    _, csrf = page(http, tenant)
    assert keystead.sessions.end_all_of_user(tenant.id, user.id)  # signed out everywhere
    response = http.get(f"/t/{tenant.name}/account")
    assert response.status_code == 303 and response.headers["location"].endswith("/account/signin")
    assert http.post(f"/t/{tenant.name}/account/recovery-codes", data={"csrf_token": csrf}).status_code == 401
