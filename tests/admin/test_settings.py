"""Tenant settings through the admin API: read with an ETag, merge-patch under If-Match, bad
values refused naming the field with nothing written, and each setting taking effect where it
is used (client defaults and ceilings, session and code lifetimes, hashing, policy, branding)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.errors import Stale
from keystead.wiring import Keystead
from tests.admin.conftest import API, Api, assert_problem
from tests.support.factories import Factory, RegisteredClient
from tests.support.flow import Flow


def _read(api: Api) -> tuple[dict[str, Any], str]:
    response = api.request("GET", "/settings")
    assert response.status_code == 200, response.text
    return dict(response.json()), response.headers["etag"]


def _patch(api: Api, body: Any, etag: str | None = None) -> httpx.Response:
    etag = etag if etag is not None else _read(api)[1]
    return api.request("PATCH", "/settings", json=body, headers={"If-Match": etag})


def _fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem.get("errors", [])]


def test_defaults_come_from_the_server_configuration(api: Api, keystead: Keystead):
    body, etag = _read(api)

    tokens = keystead.settings.tokens
    assert body["version"] == 0 and etag.startswith('"')
    assert body["tokens"]["session_ttl"] == tokens.session_ttl
    assert body["tokens"]["code_ttl"] == tokens.code_ttl
    assert body["tokens"]["max_access_token_ttl"] == tokens.max_token_ttl
    assert body["tokens"]["access_token_ttl"] == 600
    assert body["password_hashing"] is None  # the server's parameters
    assert body["password_policy"]["min_length"] == 8
    assert body["login_methods"] == ["password"]
    assert body["branding"]["display_name"] == api.tenant.display_name


def test_patch_needs_the_current_etag_and_a_stale_one_writes_nothing(api: Api):
    _, etag = _read(api)
    assert_problem(
        api.request("PATCH", "/settings", json={"tokens": {"code_ttl": 30}}), 428, "precondition-required"
    )

    first = _patch(api, {"tokens": {"code_ttl": 30}}, etag)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.headers["etag"] != etag

    stale = _patch(api, {"tokens": {"code_ttl": 45}}, etag)
    assert_problem(stale, 412, "precondition-failed")
    assert _read(api)[0]["tokens"]["code_ttl"] == 30
    events = api.request("GET", "/audit-events", params={"action": "tenant.settings.update"}).json()["items"]
    assert len(events) == 1
    assert events[0]["before"]["tokens"]["code_ttl"] == 60 and events[0]["after"]["tokens"]["code_ttl"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"branding": {"logo_url": "http://cdn.example.com/logo.png"}}, "branding.logo_url"),
        ({"branding": {"primary_color": "red"}}, "branding.primary_color"),
        ({"branding": {"background_color": "#12345"}}, "branding.background_color"),
        ({"tokens": {"max_access_token_ttl": 10 * 86400}}, "tokens.max_access_token_ttl"),
        ({"tokens": {"access_token_ttl": 5000, "max_access_token_ttl": 4000}}, "tokens.access_token_ttl"),
        ({"tokens": {"session_ttl": 10}}, "tokens.session_ttl"),
        ({"tokens": {"code_ttl": "60"}}, "tokens.code_ttl"),
        ({"login_methods": []}, "login_methods"),
        ({"login_methods": ["carrier-pigeon"]}, "login_methods.0"),
        ({"password_hashing": {"memory_kib": 8192, "time_cost": 1}}, "password_hashing.time_cost"),
        ({"password_hashing": {"time_cost": 3}}, "password_hashing.memory_kib"),
        ({"password_hashing": {"memory_kib": 262144, "time_cost": 5}}, "password_hashing.time_cost"),
        ({"password_policy": {"min_length": 4}}, "password_policy.min_length"),
        ({"version": 7}, "version"),
        ({"theme": "dark"}, "theme"),
        ({"tokens": {"forever": True}}, "tokens.forever"),
    ],
)
def test_bad_values_are_422_naming_the_field_and_nothing_is_written(api: Api, body, field):
    before, etag = _read(api)

    problem = assert_problem(_patch(api, body, etag), 422, "validation")

    assert field in _fields(problem), problem
    assert _read(api) == (before, etag)


def test_malformed_json_is_400_and_changes_nothing(api: Api):
    _, etag = _read(api)
    response = api.request(
        "PATCH",
        "/settings",
        content=b'{"tokens": {',
        headers={"If-Match": etag, "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "bad-request")
    assert _read(api)[1] == etag


def test_null_returns_values_to_their_defaults(api: Api):
    changed = _patch(
        api, {"tokens": {"code_ttl": 20, "session_ttl": 3600}, "password_policy": {"min_length": 10}}
    )
    assert changed.status_code == 200, changed.text

    reset = _patch(api, {"tokens": {"code_ttl": None}, "password_policy": None})

    assert reset.status_code == 200, reset.text
    assert reset.json()["tokens"]["code_ttl"] == 60
    assert reset.json()["tokens"]["session_ttl"] == 3600
    assert reset.json()["password_policy"]["min_length"] == 8


def test_branding_is_what_the_hosted_pages_show(
    api: Api, keystead: Keystead, client: TestClient, factory: Factory
):
    response = _patch(
        api,
        {
            "branding": {
                "display_name": "Globex",
                "logo_url": "https://cdn.example.com/globex.png",
                "primary_color": "#AA3300",
                "background_color": "#fafafa",
            }
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["branding"] == {
        "display_name": "Globex",
        "logo_url": "https://cdn.example.com/globex.png",
        "primary_color": "#aa3300",
        "background_color": "#fafafa",
    }
    stored = keystead.tenants.get(api.tenant.name)
    assert (stored.display_name, stored.brand_color, stored.logo_url) == (
        "Globex",
        "#aa3300",
        "https://cdn.example.com/globex.png",
    )
    rp = factory.client(api.tenant)
    page = Flow(client, api.tenant.name).start(Flow(client, api.tenant.name).authorize_params(rp))
    while page.status_code in (302, 303):
        page = client.get(page.headers["location"])
    assert "Globex" in page.text and "https://cdn.example.com/globex.png" in page.text
    cleared = _patch(api, {"branding": {"logo_url": None, "display_name": None}})
    assert cleared.json()["branding"]["logo_url"] is None
    assert cleared.json()["branding"]["display_name"] == api.tenant.name


def test_client_lifetimes_default_to_and_are_capped_by_the_tenants(api: Api):
    response = _patch(
        api,
        {
            "tokens": {
                "access_token_ttl": 300,
                "max_access_token_ttl": 1200,
                "max_refresh_token_ttl": 86400,
                "refresh_token_ttl": 3600,
            }
        },
    )
    assert response.status_code == 200, response.text
    body = {"name": "Shop", "redirect_uris": ["https://rp.example.com/cb"]}

    created = api.request("POST", "/clients", json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["access_token_ttl"], created.json()["refresh_token_ttl"]) == (300, 3600)

    too_long = api.request("POST", "/clients", json={**body, "access_token_ttl": 5000})
    assert "access_token_ttl" in _fields(assert_problem(too_long, 422, "validation"))
    too_long = api.request("POST", "/clients", json={**body, "refresh_token_ttl": 90000})
    assert "refresh_token_ttl" in _fields(assert_problem(too_long, 422, "validation"))
    client_id = created.json()["client_id"]
    patch = api.request(
        "PATCH",
        f"/clients/{client_id}",
        json={"access_token_ttl": 7200},
        headers={"If-Match": created.headers["etag"]},
    )
    assert "access_token_ttl" in _fields(assert_problem(patch, 422, "validation"))


def test_session_and_code_lifetimes_apply_to_sign_ins(api: Api, app, factory: Factory, clock):
    assert _patch(api, {"tokens": {"session_ttl": 3600, "code_ttl": 20}}).status_code == 200
    user = factory.user(api.tenant, "alice")
    rp = factory.client(api.tenant)

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as http:
        flow = Flow(http, api.tenant.name)
        result = flow.login(rp, "alice")
        sessions = api.request("GET", f"/users/{user.id}/sessions").json()["items"]
        clock.advance(21)
        late = flow.exchange(rp, result)

    assert len(sessions) == 1
    created = datetime.fromisoformat(sessions[0]["created_at"])
    expires = datetime.fromisoformat(sessions[0]["expires_at"])
    assert (expires - created).total_seconds() == 3600
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_hashing_parameters_and_minimum_length_apply_to_new_passwords(api: Api, keystead: Keystead, app):
    response = _patch(
        api, {"password_hashing": {"memory_kib": 7168, "time_cost": 5}, "password_policy": {"min_length": 12}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["password_hashing"] == {"memory_kib": 7168, "time_cost": 5, "parallelism": 1}

    short = api.request("POST", "/users", json={"username": "bob", "password": "eleven-char"})
    assert "password" in _fields(assert_problem(short, 422, "validation"))
    created = api.create_user("carol", password="twelve-chars!")

    stored = keystead.storage.user_by_id(api.tenant.id, created["id"])
    assert stored is not None and stored.password_hash is not None
    assert "m=7168,t=5,p=1" in stored.password_hash
    # the hosted login verifies with the tenant's parameters: no rehash to the server's
    rp = keystead.clients.create(api.tenant.id, "RP", redirect_uris=["https://rp.example.com/cb"])
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as http:
        flow = Flow(http, api.tenant.name)
        result = flow.login(RegisteredClient(rp.client, rp.secret), "carol", "twelve-chars!")
    assert result.code
    after = keystead.storage.user_by_id(api.tenant.id, created["id"])
    assert after is not None and after.password_hash == stored.password_hash


def test_only_this_tenants_admins_and_platform_admins(api: Api, other_api: Api, platform_token: str):
    assert_problem(api.http.get(other_api.base + "/settings", headers=api.headers()), 403, "forbidden")
    assert_problem(
        api.http.patch(other_api.base + "/settings", json={}, headers=api.headers(**{"If-Match": "*"})),
        403,
        "forbidden",
    )
    platform = {"Authorization": f"Bearer {platform_token}"}
    read = api.http.get(f"{API}/tenants/{api.tenant.name}/settings", headers=platform)
    assert read.status_code == 200, read.text
    patched = api.http.patch(
        f"{API}/tenants/{api.tenant.name}/settings",
        json={"branding": {"background_color": "#000000"}},
        headers={**platform, "If-Match": read.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    assert _read(api)[0]["branding"]["background_color"] == "#000000"


def test_two_writers_of_the_same_version_one_wins(api: Api, keystead: Keystead):
    service = keystead.tenant_settings
    read = service.read(api.tenant.id)

    first = service.update(api.tenant.id, {"tokens": {"code_ttl": 30}}, expected_version=read.version)

    with pytest.raises(Stale):
        service.update(api.tenant.id, {"tokens": {"code_ttl": 45}}, expected_version=read.version)
    assert service.read(api.tenant.id) == first
    # the store's compare-and-set itself refuses a stale version, whatever the service read
    assert not keystead.storage.update_tenant_settings(api.tenant.id, {"version": 9}, expected_version=0)
    assert service.read(api.tenant.id).version == 1


def test_settings_stored_under_older_rules_fall_back_to_defaults(
    api: Api, keystead: Keystead, factory: Factory
):
    keystead.storage.update_tenant(
        api.tenant.id, settings={"version": 4, "tokens": {"code_ttl": 1}, "odd": True}
    )
    keystead.tenants.forget()

    settings = keystead.tenant_settings.read(api.tenant.id)

    assert settings.version == 4 and settings.tokens.code_ttl == keystead.settings.tokens.code_ttl
    # and the tenant still works: a client is created with the defaults
    assert factory.client(api.tenant).client.access_token_ttl == 600
