"""Security properties of the hosted pages: headers (CSP, framing, sniffing), cookie attributes in
dev and production, CSRF on every form, and a login that does not tell accounts apart."""

from __future__ import annotations

import re
import warnings
from urllib.parse import urlencode

import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, REDIRECT_URI, Factory
from tests.support.flow import Flow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STRONG_SECRET = "production-test-secret-0123456789abcdef-XYZ"


def _authorize_url(tenant, rp, **extra) -> str:
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "s",
    }
    params.update(extra)
    return f"/t/{tenant.name}/authorize?{urlencode(params)}"


def _start(http, tenant, rp, **extra) -> tuple[str, str]:
    """Start an authorization; return the interaction URL and the login page's CSRF token."""
    response = http.get(_authorize_url(tenant, rp, **extra))
    assert response.status_code == 303
    location = response.headers["location"]
    page = http.get(location)
    assert 'id="login-form"' in page.text
    return location, _CSRF.search(page.text).group(1)  # type: ignore[union-attr]


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def _assert_security_headers(response) -> None:
    csp = response.headers.get("content-security-policy")
    assert csp is not None, response.request.url
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.fixture
def env(client, factory):
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant)
    return tenant, user, rp


# headers
def test_every_page_sends_security_headers(client, env):
    tenant, _, rp = env
    base = f"/t/{tenant.name}"
    responses = []
    start = client.get(_authorize_url(tenant, rp))
    responses.append(start)
    login_page = client.get(start.headers["location"])
    responses.append(login_page)
    csrf = _CSRF.search(login_page.text).group(1)  # type: ignore[union-attr]
    bad = client.post(start.headers["location"], data={"username": "x", "password": "y", "csrf_token": csrf})
    responses.append(bad)
    consent = client.post(
        start.headers["location"], data={"username": "alice", "password": PASSWORD, "csrf_token": csrf}
    )
    assert 'id="consent-form"' in consent.text
    responses.append(consent)
    done = client.post(start.headers["location"], data={"decision": "allow", "csrf_token": csrf})
    assert done.status_code == 303
    responses.append(done)
    form_post = client.get(_authorize_url(tenant, rp, response_mode="form_post"))
    assert 'id="form-post"' in form_post.text
    responses.append(form_post)
    responses.append(client.get(_authorize_url(tenant, rp, client_id="nope")))  # error page
    responses.append(client.post(start.headers["location"], data={"decision": "allow"}))  # 403
    responses.append(client.get(f"{base}/logout"))  # confirmation
    responses.append(client.get("/t/no-such-tenant-here/authorize"))  # 404 page
    responses.append(client.get(f"{base}/.well-known/openid-configuration"))
    responses.append(client.get(f"{base}/jwks"))
    responses.append(client.post(f"{base}/token", data={"grant_type": "nope"}))
    responses.append(client.get(f"{base}/branding.css"))
    responses.append(client.get("/static/keystead.css"))
    responses.append(client.get("/healthz"))
    statuses = {r.status_code for r in responses}
    assert {200, 303, 400, 403, 404} <= statuses
    for response in responses:
        _assert_security_headers(response)


def test_html_pages_are_not_cached(client, env):
    tenant, _, rp = env
    location, _ = _start(client, tenant, rp)
    assert client.get(location).headers["cache-control"] == "no-store"
    assert client.get(_authorize_url(tenant, rp, client_id="nope")).headers["cache-control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    texts = [client.get(location).text]
    texts.append(
        client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf}).text
    )
    texts.append(client.get(f"/t/{tenant.name}/logout").text)
    texts.append(client.get(_authorize_url(tenant, rp, client_id="nope")).text)
    for text in texts:
        assert "<style" not in text
        assert " style=" not in text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        assert not re.search(r"\son[a-z]+=", text)


def test_no_hsts_over_plain_http_in_dev(client, env):
    tenant, _, _ = env
    response = client.get(f"/t/{tenant.name}/.well-known/openid-configuration")
    assert "strict-transport-security" not in response.headers


# cookies
def test_dev_cookies_are_httponly_lax_and_scoped_to_tenant(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    response = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    cookie = _set_cookies(response)["ks_session"]
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=lax", cookie, re.I)
    assert f"Path=/t/{tenant.name};" in cookie or cookie.endswith(f"Path=/t/{tenant.name}")
    assert "Secure" not in cookie  # dev mode over http
    assert "Domain=" not in cookie


def test_csrf_cookie_is_httponly_and_scoped(client, env):
    tenant, _, rp = env
    response = client.get(_authorize_url(tenant, rp))
    page = client.get(response.headers["location"])
    cookie = _set_cookies(page)["ks_csrf"]
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=lax", cookie, re.I)
    assert f"Path=/t/{tenant.name}" in cookie


@pytest.fixture
def production(db_url, clock):
    """A second app in production mode over https on the same database."""
    from starlette.testclient import TestClient

    from keystead.http.app import create_app

    settings = load_settings(
        mode="production",
        secret_key=STRONG_SECRET,
        allow_sqlite=True,
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "https://testserver"},
    )
    k = build(settings, clock=clock)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(k), base_url="https://testserver", follow_redirects=False) as http:
            yield k, http


def test_production_cookies_are_secure(production):
    k, http = production
    factory = Factory(k)
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant)
    response = http.get(_authorize_url(tenant, rp))
    assert "Secure" in _set_cookies(response)["ks_interaction"]
    page = http.get(response.headers["location"])
    assert "Secure" in _set_cookies(page)["ks_csrf"]
    csrf = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    login = http.post(
        response.headers["location"], data={"username": "alice", "password": PASSWORD, "csrf_token": csrf}
    )
    cookie = _set_cookies(login)["ks_session"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=lax", cookie, re.I)
    assert f"Path=/t/{tenant.name}" in cookie
    hsts = login.headers["strict-transport-security"]
    assert "max-age=" in hsts
    # and the flow completes over https with an https issuer
    assert 'id="consent-form"' in login.text
    done = http.post(response.headers["location"], data={"decision": "allow", "csrf_token": csrf})
    assert done.status_code == 303
    assert f"iss=https%3A%2F%2Ftestserver%2Ft%2F{tenant.name}" in done.headers["location"]


def test_production_issuer_is_https(production):
    k, http = production
    tenant = Factory(k).tenant()
    meta = http.get(f"/t/{tenant.name}/.well-known/openid-configuration").json()
    assert meta["issuer"] == f"https://testserver/t/{tenant.name}"
    assert meta["authorization_endpoint"].startswith("https://")


# CSRF on the login form
@pytest.mark.parametrize("token", [None, "", "0" * 64, "forged"])
def test_login_post_without_valid_csrf_is_refused(client, env, token):
    tenant, _, rp = env
    location, _ = _start(client, tenant, rp)
    form = {"username": "alice", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    response = client.post(location, data=form)
    assert response.status_code == 403
    assert "ks_session" not in _set_cookies(response)
    assert 'id="consent-form"' not in response.text
    pn = client.get(_authorize_url(tenant, rp, prompt="none"))
    assert "error=login_required" in pn.headers["location"]


def test_login_post_without_csrf_cookie_is_refused(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    client.cookies.delete("ks_csrf", path=f"/t/{tenant.name}")
    response = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 403
    assert "ks_session" not in _set_cookies(response)


def test_csrf_token_of_another_tenant_is_refused(client, app, factory):
    """Same CSRF cookie seed, token minted for tenant A, posted at tenant B."""
    from starlette.testclient import TestClient

    a, b = factory.tenant(), factory.tenant()
    factory.user(b, "alice")
    rp_a, rp_b = factory.client(a), factory.client(b)
    _, token_a = _start(client, a, rp_a)
    seed = next(c.value for c in client.cookies.jar if c.name == "ks_csrf")
    browser = TestClient(app, base_url="http://testserver", follow_redirects=False)
    try:
        start = browser.get(_authorize_url(b, rp_b))
        location = start.headers["location"]
        handle = location.rsplit("/", 1)[1]
        response = browser.post(
            location,
            data={"username": "alice", "password": PASSWORD, "csrf_token": token_a},
            headers={"Cookie": f"ks_csrf={seed}; ks_interaction={handle}"},
        )
    finally:
        browser.close()
    assert response.status_code == 403
    assert "ks_session" not in _set_cookies(response)


# login answers
def _strip(text: str) -> str:
    return _CSRF.sub('name="csrf_token" value=""', text)


def test_unknown_user_and_wrong_password_look_the_same(client, env, factory, keystead):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    unknown = client.post(location, data={"username": "ghost", "password": PASSWORD, "csrf_token": csrf})
    factory.user(tenant, "ghost", password="another password 123")
    wrong = client.post(location, data={"username": "ghost", "password": PASSWORD, "csrf_token": csrf})

    assert unknown.status_code == wrong.status_code == 400
    assert "The username or password is incorrect." in unknown.text
    assert _strip(unknown.text) == _strip(wrong.text)
    assert "ks_session" not in _set_cookies(unknown)
    assert "ks_session" not in _set_cookies(wrong)
    assert {k: v for k, v in unknown.headers.items() if k not in ("content-length", "set-cookie")} == {
        k: v for k, v in wrong.headers.items() if k not in ("content-length", "set-cookie")
    }


def test_wrong_password_for_known_user_is_generic(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    response = client.post(
        location, data={"username": "alice", "password": "wrong password!", "csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "The username or password is incorrect." in response.text
    assert 'id="login-form"' in response.text
    assert 'value="alice"' in response.text  # the username is kept, the password is not
    assert "wrong password!" not in response.text


def test_disabled_user_cannot_log_in(client, env, keystead):
    tenant, user, rp = env
    keystead.users.set_status(tenant.id, user.id, "disabled")
    location, csrf = _start(client, tenant, rp)
    disabled = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    unknown = client.post(
        location, data={"username": "alice", "password": "not the password", "csrf_token": csrf}
    )
    assert disabled.status_code == 400
    assert "The username or password is incorrect." in disabled.text
    assert "ks_session" not in _set_cookies(disabled)
    assert _strip(disabled.text) == _strip(unknown.text)


def test_user_without_password_cannot_log_in(client, env, keystead):
    tenant, _, rp = env
    keystead.users.create(tenant.id, "nopass", email="nopass@example.com")
    location, csrf = _start(client, tenant, rp)
    response = client.post(location, data={"username": "nopass", "password": "", "csrf_token": csrf})
    assert response.status_code == 400
    assert "ks_session" not in _set_cookies(response)


@pytest.mark.parametrize(
    "login", ["alice", "ALICE", "Alice", " alice ", "alice@example.com", "Alice@Example.COM"]
)
def test_username_and_email_both_work_case_insensitively(client, env, login):
    tenant, user, rp = env
    flow = Flow(client, tenant.name)
    result = flow.login(rp, login)
    assert result.pages == ["login", "consent"]
    assert "code" in result.params
    body = flow.exchange(rp, result).json()
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.json()["sub"] == user.id


def test_login_page_escapes_reflected_username(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    evil = '"><script>alert(1)</script>'
    response = client.post(location, data={"username": evil, "password": "x" * 10, "csrf_token": csrf})
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text or "&quot;&gt;&lt;script&gt;" in response.text


def test_interaction_form_needs_form_content_type(client, env):
    tenant, _, rp = env
    location, csrf = _start(client, tenant, rp)
    response = client.post(location, json={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 400
    assert "ks_session" not in _set_cookies(response)


def test_branding_css_carries_the_tenant_colours_in_light_mode_only(client, keystead, env):
    tenant, _, _ = env
    before = client.get(f"/t/{tenant.name}/branding.css")
    assert "--ks-bg" not in before.text
    version = keystead.tenant_settings.read(tenant.id).version
    changes = {"branding": {"primary_color": "#0a7d5a", "background_color": "#fdf6e3"}}
    keystead.tenant_settings.update(tenant.id, changes, expected_version=version)
    keystead.tenants.forget()
    css = client.get(f"/t/{tenant.name}/branding.css").text
    assert "--ks-brand: #0a7d5a" in css
    assert "@media not (prefers-color-scheme: dark) { :root { --ks-bg: #fdf6e3; } }" in css
