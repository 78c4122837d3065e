"""Tenants are isolated: no client, session, code, token, key, interaction or ID token of one
tenant is honoured by another, and disabled or unknown tenants answer 404."""

from __future__ import annotations

import re
import uuid
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.factories import PASSWORD, REDIRECT_URI
from tests.support.flow import Flow


def browser(app, base_url: str = "http://testserver"):
    from starlette.testclient import TestClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(app, base_url=base_url, follow_redirects=False)


def authorize_url(tenant, rp, **extra) -> str:
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "iso",
    }
    params.update(extra)
    return f"/t/{tenant.name}/authorize?{urlencode(params)}"


def redirect_params(response) -> dict[str, str]:
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def session_value(http, tenant) -> str:
    for cookie in http.cookies.jar:
        if cookie.name == "ks_session" and cookie.path == f"/t/{tenant.name}":
            return str(cookie.value)
    raise AssertionError("no session cookie")


@pytest.fixture
def two(client, factory):
    """Tenants A and B; B has a client with the same client_id as A's and a user 'alice' too."""
    a, b = factory.tenant(), factory.tenant()
    alice_a = factory.user(a, "alice")
    alice_b = factory.user(b, "alice", password="b-tenant password")
    rp_a = factory.client(a)
    rp_b_same_id = factory.client(b, client_id=rp_a.client_id)
    rp_b = factory.client(b)
    return a, b, alice_a, alice_b, rp_a, rp_b_same_id, rp_b


@pytest.fixture
def a_tokens(client, two):
    """Alice signed in at A (cookies in ``client``), with A's tokens."""
    a, _, _, _, rp_a, _, _ = two
    flow = Flow(client, a.name)
    result = flow.login(rp_a, "alice")
    response = flow.exchange(rp_a, result)
    assert response.status_code == 200
    return response.json()


def test_client_id_of_a_is_unknown_at_b(client, factory):
    a, b = factory.tenant(), factory.tenant()
    rp_a = factory.client(a)
    response = client.get(authorize_url(b, rp_a))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text
    assert client.get(authorize_url(a, rp_a)).status_code == 303  # control


def test_session_cookie_of_a_is_not_sent_to_b(client, two, a_tokens):
    a, b, _, _, rp_a, _, rp_b = two
    assert "code" in redirect_params(client.get(authorize_url(a, rp_a, prompt="none")))
    params = redirect_params(client.get(authorize_url(b, rp_b, prompt="none")))
    assert params["error"] == "login_required"


def test_session_cookie_of_a_sent_explicitly_to_b_is_refused(client, app, two, a_tokens):
    a, b, _, _, rp_a, rp_b_same_id, rp_b = two
    value = session_value(client, a)
    other = browser(app)
    try:
        headers = {"Cookie": f"ks_session={value}"}
        control = other.get(authorize_url(a, rp_a, prompt="none"), headers=headers)
        assert "code" in redirect_params(control)
        for rp in (rp_b, rp_b_same_id):
            at_b = other.get(authorize_url(b, rp, prompt="none"), headers=headers)
            assert redirect_params(at_b)["error"] == "login_required"
        logout_b = other.get(f"/t/{b.name}/logout", headers=headers)
        assert 'id="logout-form"' not in logout_b.text  # B sees no session to end
    finally:
        other.close()


def test_code_of_a_is_refused_at_b(client, two):
    a, b, _, _, rp_a, rp_b_same_id, rp_b = two
    flow_a = Flow(client, a.name)
    result = flow_a.login(rp_a, "alice")
    flow_b = Flow(client, b.name)

    with_a_creds = flow_b.exchange(rp_a, result)
    assert with_a_creds.status_code == 401
    assert with_a_creds.json()["error"] == "invalid_client"

    same_id = flow_b.exchange(rp_b_same_id, result)
    assert same_id.status_code == 400
    assert same_id.json()["error"] == "invalid_grant"
    assert "access_token" not in same_id.json()

    other = flow_b.exchange(rp_b, result)
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"

    # B's attempts neither consumed nor spoiled A's code
    ok = flow_a.exchange(rp_a, result)
    assert ok.status_code == 200, ok.text


def test_access_token_of_a_is_refused_at_b(client, two, a_tokens):
    a, b, _, _, _, rp_b_same_id, _ = two
    bearer = {"Authorization": f"Bearer {a_tokens['access_token']}"}
    assert client.get(f"/t/{a.name}/userinfo", headers=bearer).status_code == 200  # control
    response = client.get(f"/t/{b.name}/userinfo", headers=bearer)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "WWW-Authenticate" in response.headers
    introspected = Flow(client, b.name).http.post(
        f"/t/{b.name}/introspect",
        data={"token": a_tokens["access_token"]},
        auth=(rp_b_same_id.client_id, rp_b_same_id.secret),
    )
    assert introspected.status_code == 200
    assert introspected.json() == {"active": False}


def test_refresh_token_of_a_is_refused_at_b(client, two, a_tokens):
    a, b, _, _, rp_a, rp_b_same_id, _ = two
    data = {"grant_type": "refresh_token", "refresh_token": a_tokens["refresh_token"]}
    flow_b = Flow(client, b.name)
    with_a_creds = flow_b.token(rp_a, data)
    assert with_a_creds.status_code == 401
    assert with_a_creds.json()["error"] == "invalid_client"
    same_id = flow_b.token(rp_b_same_id, data)
    assert same_id.status_code == 400
    assert same_id.json()["error"] == "invalid_grant"
    revoked = client.post(
        f"/t/{b.name}/revoke",
        data={"token": a_tokens["refresh_token"]},
        auth=(rp_b_same_id.client_id, rp_b_same_id.secret),
    )
    assert revoked.status_code == 200
    # A's refresh token still works at A: B could neither use nor revoke it
    ok = Flow(client, a.name).token(rp_a, data)
    assert ok.status_code == 200, ok.text


def test_id_token_hint_of_a_is_invalid_at_b(client, app, two, a_tokens):
    _, b, _, _, _, rp_b_same_id, _ = two
    other = browser(app)
    try:
        Flow(other, b.name).login(rp_b_same_id, "alice", password="b-tenant password")
        response = other.get(
            authorize_url(b, rp_b_same_id, prompt="none", id_token_hint=a_tokens["id_token"])
        )
        params = redirect_params(response)
        assert params["error"] == "invalid_request"
        assert params["iss"] == f"http://testserver/t/{b.name}"
        logout = other.get(f"/t/{b.name}/logout?{urlencode({'id_token_hint': a_tokens['id_token']})}")
        assert logout.status_code == 400
    finally:
        other.close()


def test_jwks_differ_between_tenants(client, two):
    a, b, *_ = two
    kids_a = {k["kid"] for k in client.get(f"/t/{a.name}/jwks").json()["keys"]}
    kids_b = {k["kid"] for k in client.get(f"/t/{b.name}/jwks").json()["keys"]}
    assert kids_a
    assert kids_b
    assert not kids_a & kids_b


def test_password_of_a_does_not_sign_in_at_b(client, two):
    _, b, _, _, _, _, rp_b = two
    location = client.get(authorize_url(b, rp_b)).headers["location"]
    page = client.get(location)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(location, data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 400
    assert "ks_session" not in response.headers.get("set-cookie", "")
    ok = client.post(
        location, data={"username": "alice", "password": "b-tenant password", "csrf_token": csrf}
    )
    assert 'id="consent-form"' in ok.text  # control: B's own password works


def test_interaction_of_a_cannot_be_used_at_b(client, app, two):
    a, b, _, _, rp_a, _, _ = two
    location = client.get(authorize_url(a, rp_a)).headers["location"]
    handle = location.rsplit("/", 1)[1]
    other = browser(app)
    try:
        response = other.get(
            f"/t/{b.name}/interaction/{handle}", headers={"Cookie": f"ks_interaction={handle}"}
        )
        assert response.status_code == 400
        assert 'id="login-form"' not in response.text
    finally:
        other.close()


# disabled, unknown and custom-domain tenants
def test_disabled_tenant_answers_404(client, factory, keystead):
    tenant = factory.tenant()
    rp = factory.client(tenant)
    base = f"/t/{tenant.name}"
    assert client.get(f"{base}/.well-known/openid-configuration").status_code == 200
    keystead.tenants.set_status(tenant.name, "disabled")

    assert client.get(f"{base}/.well-known/openid-configuration").status_code == 404
    assert client.get(f"{base}/.well-known/oauth-authorization-server").status_code == 404
    assert client.get(f"{base}/jwks").status_code == 404
    authz = client.get(authorize_url(tenant, rp))
    assert authz.status_code == 404
    assert "location" not in authz.headers
    token = client.post(
        f"{base}/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.secret)
    )
    assert token.status_code == 404
    assert client.get(f"{base}/logout").status_code == 404

    keystead.tenants.set_status(tenant.name, "active")
    assert client.get(f"{base}/.well-known/openid-configuration").status_code == 200


def test_disabled_tenant_session_and_tokens_stop_working(client, factory, keystead):
    tenant = factory.tenant()
    factory.user(tenant, "alice")
    rp = factory.client(tenant)
    flow = Flow(client, tenant.name)
    body = flow.exchange(rp, flow.login(rp, "alice")).json()
    keystead.tenants.set_status(tenant.name, "disabled")
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 404
    assert client.get(authorize_url(tenant, rp, prompt="none")).status_code == 404


@pytest.mark.parametrize("name", ["no-such-tenant-zz", "UPPER", "a" * 64, "x" * 300, "%2e%2e", "..", "t%00"])
def test_unknown_tenant_answers_404(client, name):
    for path in ("/.well-known/openid-configuration", "/jwks", "/authorize", "/logout"):
        response = client.get(f"/t/{name}{path}")
        assert response.status_code == 404, (name, path, response.status_code)
        assert "location" not in response.headers


def test_custom_domain_tenant(app, factory, keystead):
    domain = f"login-{uuid.uuid4().hex[:8]}.acme.test"
    tenant = factory.tenant(custom_domain=domain)
    base_host = browser(app)
    custom = browser(app, f"http://{domain}")
    try:
        meta = custom.get("/.well-known/openid-configuration")
        assert meta.status_code == 200
        body = meta.json()
        assert body["issuer"] == f"http://{domain}"
        assert body["authorization_endpoint"] == f"http://{domain}/authorize"
        assert body["jwks_uri"] == f"http://{domain}/jwks"
        assert custom.get("/jwks").json()["keys"]

        # not served under /t/{name}, neither on the base host nor on its own host
        assert base_host.get(f"/t/{tenant.name}/.well-known/openid-configuration").status_code == 404
        assert base_host.get(f"/t/{tenant.name}/jwks").status_code == 404
        assert custom.get(f"/t/{tenant.name}/.well-known/openid-configuration").status_code == 404
        other = factory.tenant()
        assert custom.get(f"/t/{other.name}/.well-known/openid-configuration").status_code == 404
    finally:
        base_host.close()
        custom.close()


def test_custom_domain_full_flow(app, factory):
    domain = f"login-{uuid.uuid4().hex[:8]}.acme.test"
    tenant = factory.tenant(custom_domain=domain)
    user = factory.user(tenant, "carol")
    rp = factory.client(tenant)
    http = browser(app, f"http://{domain}")
    try:
        flow = Flow(http, tenant.name)
        flow.base = ""
        result = flow.login(rp, "carol")
        assert result.params["iss"] == f"http://{domain}"
        cookie = next(c for c in http.cookies.jar if c.name == "ks_session")
        assert cookie.path == "/"
        assert cookie.domain.lstrip(".") == domain
        body = flow.exchange(rp, result).json()
        info = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert info.json()["sub"] == user.id
    finally:
        http.close()


def test_unknown_host_is_not_a_tenant(app, factory):
    domain = f"login-{uuid.uuid4().hex[:8]}.acme.test"
    factory.tenant(custom_domain=domain)
    http = browser(app, "http://unknown-host.acme.test")
    try:
        assert http.get("/.well-known/openid-configuration").status_code == 404
    finally:
        http.close()


def test_disabled_custom_domain_tenant_answers_404(app, factory, keystead):
    domain = f"login-{uuid.uuid4().hex[:8]}.acme.test"
    tenant = factory.tenant(custom_domain=domain)
    keystead.tenants.set_status(tenant.name, "disabled")
    http = browser(app, f"http://{domain}")
    try:
        assert http.get("/.well-known/openid-configuration").status_code == 404
    finally:
        http.close()


def test_a_tenant_created_after_a_failed_lookup_answers_at_once(client, keystead):
    name = f"t{uuid.uuid4().hex[:12]}"
    assert client.get(f"/t/{name}/.well-known/openid-configuration").status_code == 404

    keystead.tenants.create(name, "Late Corp")

    assert client.get(f"/t/{name}/.well-known/openid-configuration").status_code == 200
