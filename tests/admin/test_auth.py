"""Who may call the admin API: tenant admins on their tenant only, platform admins on all."""

from __future__ import annotations

import pytest

from keystead.services.tokens import Issuer
from tests.admin.conftest import API, Api, assert_problem, issue_token
from tests.conftest import unique

#: Every route of the admin API with a body that would be valid: (method, path, json).
ROUTES = [
    ("GET", "/users", None),
    ("POST", "/users", {"username": "someone"}),
    ("GET", "/users/00000000-0000-0000-0000-000000000000", None),
    ("PATCH", "/users/00000000-0000-0000-0000-000000000000", {"name": "X"}),
    ("DELETE", "/users/00000000-0000-0000-0000-000000000000", None),
    ("GET", "/audit-events", None),
    ("GET", "/clients", None),
    ("POST", "/clients", {"name": "App", "redirect_uris": ["https://rp.example.com/cb"]}),
    ("GET", "/clients/11111111-1111-1111-1111-111111111111", None),
    ("PATCH", "/clients/11111111-1111-1111-1111-111111111111", {"name": "X"}),
    ("POST", "/clients/11111111-1111-1111-1111-111111111111/secret", None),
    ("GET", "/keys", None),
    ("POST", "/keys/rotate", None),
    ("GET", "/users/00000000-0000-0000-0000-000000000000/sessions", None),
    ("DELETE", "/users/00000000-0000-0000-0000-000000000000/sessions", None),
    ("DELETE", "/sessions/22222222-2222-2222-2222-222222222222", None),
    ("GET", "/users/00000000-0000-0000-0000-000000000000/lockout", None),
    ("DELETE", "/users/00000000-0000-0000-0000-000000000000/lockout", None),
    ("GET", "/users/00000000-0000-0000-0000-000000000000/factors", None),
    ("DELETE", "/users/00000000-0000-0000-0000-000000000000/factors", None),
    (
        "DELETE",
        "/users/00000000-0000-0000-0000-000000000000/factors/44444444-4444-4444-4444-444444444444",
        None,
    ),
    ("DELETE", "/clients/11111111-1111-1111-1111-111111111111", None),
    ("GET", "/users/00000000-0000-0000-0000-000000000000/consents", None),
    (
        "DELETE",
        "/users/00000000-0000-0000-0000-000000000000/consents/11111111-1111-1111-1111-111111111111",
        None,
    ),
    ("GET", "/users/00000000-0000-0000-0000-000000000000/grants", None),
    ("GET", "/settings", None),
    ("PATCH", "/settings", {"tokens": {"code_ttl": 30}}),
    ("GET", "/config", None),
    ("PUT", "/config", {"keystead_config": 1, "settings": {"mfa": "always"}}),
    ("GET", "/risk-decisions", None),
    (
        "DELETE",
        "/users/00000000-0000-0000-0000-000000000000/grants/33333333-3333-3333-3333-333333333333",
        None,
    ),
]
#: The platform-only routes (under ``/admin/api/v1``, not a tenant's): every tenant admin gets 403.
PLATFORM_ROUTES = [
    ("GET", "/tenants", None),
    ("POST", "/tenants", {"name": "someone"}),
    ("GET", "/tenants/{tenant}", None),
    ("PATCH", "/tenants/{tenant}", {"status": "disabled"}),
]
#: The placeholder ids of ROUTES and the path parameters they stand for.
PLACEHOLDERS = {
    "00000000-0000-0000-0000-000000000000": "{user_id}",
    "11111111-1111-1111-1111-111111111111": "{client_id}",
    "22222222-2222-2222-2222-222222222222": "{session_id}",
    "33333333-3333-3333-3333-333333333333": "{grant_id}",
    "44444444-4444-4444-4444-444444444444": "{factor_id}",
}


def _template(path: str) -> str:
    for placeholder, name in PLACEHOLDERS.items():
        path = path.replace(placeholder, name)
    return path


ROUTE_IDS = [f"{m} {_template(p).removeprefix('/')}" for m, p, _ in ROUTES]


def test_route_table_covers_every_route(client):
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), path.removeprefix("/tenants/{tenant}"))
        for path, operations in paths.items()
        for method in operations
        # the import-job routes' tenant isolation is tested in tests/admin/test_imports.py
        if not path.endswith(("/users/import", "/users/export")) and "/import-jobs" not in path
    }
    listed = {(m, _template(p)) for m, p, _ in ROUTES}
    listed |= {(m, p.removeprefix("/tenants/{tenant}")) for m, p, _ in PLATFORM_ROUTES}
    assert served == listed


@pytest.mark.parametrize(
    ("method", "path", "body"), PLATFORM_ROUTES, ids=[f"{m} {p}" for m, p, _ in PLATFORM_ROUTES]
)
def test_tenant_admin_is_refused_on_every_platform_route(api: Api, other_api: Api, method, path, body):
    for target in (api, other_api):  # its own tenant, and another
        real_path = path.replace("{tenant}", target.tenant.name)
        response = api.http.request(method, API + real_path, json=body, headers=api.headers())
        assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path", "body"), PLATFORM_ROUTES, ids=[f"{m} {p}" for m, p, _ in PLATFORM_ROUTES]
)
def test_platform_routes_without_a_token_are_401(api: Api, method, path, body):
    response = api.http.request(method, API + path.replace("{tenant}", api.tenant.name), json=body)

    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
def test_tenant_admin_is_refused_on_another_tenant(api: Api, other_api: Api, method, path, body):
    victim = other_api.create_user()
    real_path = path.replace("00000000-0000-0000-0000-000000000000", victim["id"])
    headers = {"If-Match": "*"}

    response = api.http.request(method, other_api.base + real_path, json=body, headers=api.headers(**headers))

    assert_problem(response, 403, "forbidden")
    assert other_api.request("GET", f"/users/{victim['id']}").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
def test_tenant_admin_on_a_tenant_that_does_not_exist_is_also_403(api: Api, method, path, body):
    response = api.http.request(
        method, f"{API}/tenants/{unique('nope')}{path}", json=body, headers=api.headers(**{"If-Match": "*"})
    )

    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
def test_missing_token_is_401_with_a_bearer_challenge(api: Api, method, path, body):
    response = api.http.request(method, api.base + path, json=body)

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30."],
)
def test_malformed_tokens_are_401(api: Api, authorization):
    response = api.http.get(api.base + "/users", headers={"Authorization": authorization})

    assert_problem(response, 401, "unauthorized")
    assert "www-authenticate" in response.headers


def test_tampered_token_is_401(api: Api):
    header, payload, signature = api.token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    response = api.http.get(api.base + "/users", headers={"Authorization": f"Bearer {forged}"})

    assert_problem(response, 401, "unauthorized")


def test_expired_token_is_401(api: Api, clock):
    clock.advance(601)

    assert_problem(api.request("GET", "/users"), 401, "unauthorized")


def test_revoked_token_is_401(api: Api, keystead):
    issuer = Issuer(api.tenant.id, keystead.tenants.issuer(api.tenant))
    jti = keystead.tokens.check_access_token(issuer, api.token).claims["jti"]
    keystead.tokens.revoke_access_token(issuer, jti)

    assert_problem(api.request("GET", "/users"), 401, "unauthorized")


def test_token_without_admin_scope_is_403(api: Api, keystead):
    plain = Api(api.http, api.tenant, issue_token(api.http, keystead, api.tenant, "api"))

    assert_problem(plain.request("GET", "/users"), 403, "forbidden")


def test_platform_scope_from_an_ordinary_tenant_is_not_platform_admin(api: Api, other_api: Api, keystead):
    token = issue_token(api.http, keystead, api.tenant, "keystead:platform")
    response = api.http.get(other_api.base + "/users", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 403, "forbidden")


def test_platform_admin_manages_any_tenant(api: Api, platform_token: str):
    platform = Api(api.http, api.tenant, platform_token)

    created = platform.create_user()

    assert platform.request("GET", f"/users/{created['id']}").status_code == 200
    events = api.request("GET", "/audit-events").json()["items"]
    assert events[0]["action"] == "user.create"


def test_platform_admin_gets_404_for_a_missing_tenant(client, platform_token: str):
    response = client.get(
        f"{API}/tenants/{unique('nope')}/users", headers={"Authorization": f"Bearer {platform_token}"}
    )

    assert_problem(response, 404, "not-found")


def test_token_of_a_disabled_tenant_is_401(api: Api, keystead):
    keystead.tenants.set_status(api.tenant.name, "disabled")

    assert_problem(api.request("GET", "/users"), 401, "unauthorized")


def test_tenant_on_a_custom_domain_uses_its_own_issuer(client, keystead, factory):
    domain = f"{unique('id')}.example.test"
    tenant = factory.tenant(custom_domain=domain)
    created = keystead.clients.create(
        tenant.id, "admin", grant_types=["client_credentials"], scopes=["keystead:admin"]
    )
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "keystead:admin"},
        auth=(created.client.client_id, created.secret or ""),
        headers={"Host": domain},
    )
    token = response.json()["access_token"]

    listed = client.get(f"{API}/tenants/{tenant.name}/users", headers={"Authorization": f"Bearer {token}"})

    assert listed.status_code == 200, listed.text


def test_tokens_never_reach_the_logs(api: Api, other_api: Api, caplog):
    caplog.set_level("DEBUG")
    forged = api.token[:-6] + "AAAAAA"

    api.request("GET", "/users")
    api.http.get(other_api.base + "/users", headers=api.headers())
    api.http.get(api.base + "/users", headers={"Authorization": f"Bearer {forged}"})

    assert api.token not in caplog.text
    assert api.token.split(".")[2] not in caplog.text


def test_a_newline_in_a_path_parameter_stays_in_the_admin_api(client):
    """Starlette's default mount pattern stops at a newline; the admin mount must not."""
    for path in ("/tenants/acme%0A/users", "/tenants/acme/users/x%0Ay", "/tenants/acme/users/x%0A"):
        response = client.get(f"{API}{path}")
        assert response.status_code == 401, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
