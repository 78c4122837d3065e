"""Configuration as code through the admin API (``/tenants/{t}/config``): export without
secrets (JSON and YAML), import that validates everything before writing anything, dry runs,
re-imports that change nothing, secrets of new clients shown once, the audit event, and the
round trip export -> import into a fresh tenant -> export."""

from __future__ import annotations

import copy

import httpx
import yaml

from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import Factory

FLOW = [
    {"stage": "second_factor", "options": {"recovery_codes": False}},
    {"stage": "enrol_totp", "options": {}},
    {"stage": "change_password", "options": {}},
]


def _configure(api: Api, factory: Factory) -> None:
    etag = api.request("GET", "/settings").headers["etag"]
    rp = factory.client(api.tenant, name="Shop", first_party=True)
    factory.client(api.tenant, name="Mobile", client_type="public", redirect_uris=["com.example.app:/cb"])
    patched = api.request(
        "PATCH",
        "/settings",
        json={
            "mfa": "always",
            "login_flow": FLOW,
            "client_login_flows": {rp.client_id: [{"stage": "second_factor"}, {"stage": "enrol_totp"}]},
            "tokens": {"code_ttl": 30},
            "branding": {"display_name": "Acme Shop", "primary_color": "#112233"},
        },
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text


def _put(api: Api, document: object, *, dry_run: bool = False, yaml_body: bool = False) -> httpx.Response:
    params = {"dry_run": "true"} if dry_run else {}
    if yaml_body:
        return api.request(
            "PUT",
            "/config",
            content=yaml.safe_dump(document).encode(),
            params=params,
            headers={"Content-Type": "application/yaml"},
        )
    return api.request("PUT", "/config", json=document, params=params)


def test_export_has_settings_flow_and_clients_but_no_secret(api: Api, factory: Factory):
    _configure(api, factory)
    response = api.request("GET", "/config")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["keystead_config"] == 1 and document["tenant"] == api.tenant.name
    assert document["settings"]["login_flow"] == FLOW
    assert document["settings"]["mfa"] == "always" and "version" not in document["settings"]
    assert sorted(c["name"] for c in document["clients"]) == ["Mobile", "Shop", "admin"]
    assert all("secret" not in key for c in document["clients"] for key in c)
    assert "secret_hash" not in response.text

    as_yaml = api.request("GET", "/config", headers={"Accept": "application/yaml"})
    assert as_yaml.status_code == 200 and as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == document


def test_round_trip_into_a_fresh_tenant_and_reimport_is_a_no_op(
    api: Api, other_api: Api, factory: Factory, keystead: Keystead
):
    _configure(api, factory)
    exported = api.request("GET", "/config", headers={"Accept": "application/yaml"}).text
    fresh_before = {c.client_id for c in keystead.clients.list(other_api.tenant.id)}

    imported = other_api.request(
        "PUT", "/config", content=exported.encode(), headers={"Content-Type": "application/yaml"}
    )

    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert result["applied"] is True
    created = {c["target"] for c in result["changes"] if c["kind"] == "create"}
    confidential = {
        c["client_id"] for c in yaml.safe_load(exported)["clients"] if c["client_type"] == "confidential"
    }
    assert set(result["secrets"]) == confidential & created  # each new confidential client's secret, once
    assert all(len(secret) >= 32 for secret in result["secrets"].values())
    again = other_api.request("GET", "/config").json()
    original = yaml.safe_load(exported)
    # the fresh tenant's own admin client was not in the file: kept, and reported
    assert [c for c in again["clients"] if c["client_id"] not in fresh_before] == original["clients"]
    assert again["settings"] == original["settings"]
    assert set(result["unlisted_clients"]) == fresh_before - {c["client_id"] for c in original["clients"]}

    # the created secret works at the token endpoint
    client_id, secret = next(iter(result["secrets"].items()))
    token = other_api.http.post(
        f"/t/{other_api.tenant.name}/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert token.status_code in (200, 400)  # authenticated (400: a grant this client may not use)
    assert token.json().get("error") != "invalid_client"

    version = keystead.tenant_settings.read(other_api.tenant.id).version
    repeat = other_api.request(
        "PUT", "/config", content=exported.encode(), headers={"Content-Type": "application/yaml"}
    )
    assert repeat.json() == {
        "applied": False,
        "changes": [],
        "secrets": {},
        "unlisted_clients": result["unlisted_clients"],
    }
    assert keystead.tenant_settings.read(other_api.tenant.id).version == version
    events = other_api.request("GET", "/audit-events", params={"action": "tenant.config.import"}).json()
    assert len(events["items"]) == 1 and "secret" not in str(events["items"][0]["after"]).lower()


def test_a_dry_run_reports_the_differences_and_changes_nothing(
    api: Api, factory: Factory, keystead: Keystead
):
    document = api.request("GET", "/config").json()
    before_clients = len(keystead.clients.list(api.tenant.id))
    wanted = copy.deepcopy(document)
    wanted["settings"]["mfa"] = "always"
    wanted["settings"]["tokens"]["code_ttl"] = 45
    wanted["clients"].append(
        {"client_id": "new-app", "name": "New", "redirect_uris": ["https://new.example/cb"]}
    )

    response = _put(api, wanted, dry_run=True, yaml_body=True)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["applied"] is False and result["secrets"] == {}
    assert {(c["kind"], c["target"]) for c in result["changes"]} == {
        ("settings", "mfa"),
        ("settings", "tokens.code_ttl"),
        ("create", "new-app"),
    }
    assert api.request("GET", "/config").json() == document
    assert len(keystead.clients.list(api.tenant.id)) == before_clients


def test_an_invalid_document_is_refused_naming_the_field_and_nothing_is_written(
    api: Api, factory: Factory, keystead: Keystead
):
    document = api.request("GET", "/config").json()
    bad_cases = [
        ({**document, "settings": {**document["settings"], "mfa": "sometimes"}}, "settings.mfa"),
        (
            {**document, "settings": {**document["settings"], "login_flow": [{"stage": "enrol_totp"}]}},
            "settings.login_flow",
        ),
        (
            {
                **document,
                "settings": {**document["settings"], "mfa": "always"},  # valid on its own: not written
                "clients": [
                    {"client_id": "ok-app", "name": "OK", "redirect_uris": ["https://ok.example/cb"]},
                    {"client_id": "bad-app", "name": "Bad", "redirect_uris": ["http://bad.example/cb"]},
                ],
            },
            "clients.1.redirect_uris",
        ),
        ({**document, "clients": [{"client_id": "x", "name": "X", "secret": "s"}]}, "clients.0.secret"),
        ({**document, "keystead_config": 2}, "keystead_config"),
        (
            {
                **document,
                "clients": [
                    {"client_id": "keystead-console", "name": "C", "grant_types": ["client_credentials"]}
                ],
            },
            "clients.0.client_id",
        ),
    ]
    for body, field in bad_cases:
        problem = assert_problem(_put(api, body), 422, "validation")
        assert problem["errors"][0]["field"] == field, (field, problem)
    assert api.request("GET", "/config").json() == document
    assert keystead.clients.find(api.tenant.id, "ok-app") is None
    assert (
        api.request("GET", "/audit-events", params={"action": "tenant.config.import"}).json()["items"] == []
    )


def test_a_client_type_cannot_change_and_bad_bodies_are_refused(api: Api, factory: Factory):
    rp = factory.client(api.tenant, name="Shop")
    document = api.request("GET", "/config").json()
    for client in document["clients"]:
        if client["client_id"] == rp.client_id:
            client["client_type"] = "public"
            client["grant_types"] = ["authorization_code"]
    problem = assert_problem(_put(api, document), 422, "validation")
    assert problem["errors"][0]["field"].endswith(".client_type")
    assert_problem(
        api.request("PUT", "/config", content=b"a: [", headers={"Content-Type": "application/yaml"}),
        422,
        "validation",
    )
    assert_problem(
        api.request("PUT", "/config", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "bad-request",
    )
    assert_problem(
        api.request("PUT", "/config", content=b"x", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported-media-type",
    )
    assert_problem(
        api.request("PUT", "/config", content=b"- 1\n", headers={"Content-Type": "application/yaml"}),
        422,
        "validation",
    )


def test_an_update_changes_only_what_differs(api: Api, factory: Factory, keystead: Keystead):
    rp = factory.client(api.tenant, name="Shop")
    document = api.request("GET", "/config").json()
    for client in document["clients"]:
        if client["client_id"] == rp.client_id:
            client["name"] = "Shop (renamed)"
            client["status"] = "disabled"
    result = _put(api, document).json()
    assert result["changes"] == [
        {
            "kind": "update",
            "target": rp.client_id,
            "before": {"name": "Shop", "status": "active"},
            "after": {"name": "Shop (renamed)", "status": "disabled"},
        }
    ]
    stored = keystead.clients.lookup(api.tenant.id, rp.client_id)
    assert stored.name == "Shop (renamed)" and stored.status == "disabled"
    assert stored.secret_hash == rp.client.secret_hash  # the secret is untouched
