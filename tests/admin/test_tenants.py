"""The tenants resource, for platform admins only: list (keyset by name, filters), create
(idempotent, audited in the new tenant), read, update (audited with before/after)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.admin.conftest import API, Api, assert_problem
from tests.conftest import unique


class Platform:
    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.token = token

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.http.request(method, f"{API}/tenants{path}", headers=headers, **kw)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.request("POST", "", json={"name": unique("acme"), **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def platform(client: httpx.Client, platform_token: str) -> Platform:
    return Platform(client, platform_token)


def test_create_returns_201_with_location_and_audits_in_the_new_tenant(platform: Platform):
    name = unique("acme")
    response = platform.request(
        "POST",
        "",
        json={
            "name": name,
            "display_name": "Acme",
            "brand_color": "#AABBCC",
            "logo_url": "https://x.test/l.png",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name
    assert body["display_name"] == "Acme"
    assert body["brand_color"] == "#aabbcc"
    assert body["status"] == "active"
    assert body["issuer"] == f"http://testserver/t/{name}"
    assert response.headers["location"] == f"{API}/tenants/{name}"
    assert platform.http.get(f"/t/{name}/.well-known/openid-configuration").status_code == 200
    listed = platform.http.get(
        f"{API}/tenants/{name}/audit-events", headers={"Authorization": f"Bearer {platform.token}"}
    )
    assert listed.status_code == 200, listed.text
    assert [e["action"] for e in listed.json()["items"]] == ["tenant.create"]


def test_create_is_idempotent_with_a_key(platform: Platform):
    body = {"name": unique("acme")}
    headers = {"Idempotency-Key": unique("k")}

    first = platform.request("POST", "", json=body, headers=headers)
    second = platform.request("POST", "", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


def test_duplicate_name_is_409(platform: Platform):
    created = platform.create()

    assert_problem(platform.request("POST", "", json={"name": created["name"]}), 409, "conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Not A Name"}, "name"),
        ({"name": "ok-name-x", "brand_color": "red"}, "brand_color"),
        ({"name": "ok-name-y", "unknown": 1}, "unknown"),
    ],
)
def test_invalid_input_is_422_naming_the_field(platform: Platform, body, field):
    problem = assert_problem(platform.request("POST", "", json=body), 422, "validation")

    assert field in [e["field"] for e in problem["errors"]]


def test_get_and_404(platform: Platform):
    created = platform.create()

    got = platform.request("GET", f"/{created['name']}")

    assert got.status_code == 200
    assert got.json() == created
    assert_problem(platform.request("GET", f"/{unique('nope')}"), 404, "not-found")


def test_update_sets_fields_and_audits_before_after(platform: Platform):
    created = platform.create(display_name="Old")

    response = platform.request(
        "PATCH", f"/{created['name']}", json={"display_name": "New", "brand_color": "#112233"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "New"
    assert response.json()["brand_color"] == "#112233"
    assert platform.request("GET", f"/{created['name']}").json()["display_name"] == "New"
    events = platform.http.get(
        f"{API}/tenants/{created['name']}/audit-events",
        params={"action": "tenant.update"},
        headers={"Authorization": f"Bearer {platform.token}"},
    ).json()["items"]
    assert events[0]["before"]["display_name"] == "Old"
    assert events[0]["after"]["display_name"] == "New"


def test_update_rejects_a_bad_colour_and_null_display_name(platform: Platform):
    created = platform.create()

    bad = assert_problem(
        platform.request("PATCH", f"/{created['name']}", json={"brand_color": "x"}), 422, "validation"
    )
    null = platform.request("PATCH", f"/{created['name']}", json={"display_name": None})

    assert bad["errors"][0]["field"] == "brand_color"
    assert_problem(null, 422, "validation")


def test_disable_then_enable(platform: Platform):
    created = platform.create()

    disabled = platform.request("PATCH", f"/{created['name']}", json={"status": "disabled"})

    assert disabled.json()["status"] == "disabled"
    assert platform.http.get(f"/t/{created['name']}/.well-known/openid-configuration").status_code == 404
    listed = platform.request("GET", "", params={"status": "disabled", "name_prefix": created["name"]})
    assert [t["name"] for t in listed.json()["items"]] == [created["name"]]
    enabled = platform.request("PATCH", f"/{created['name']}", json={"status": "active"})
    assert enabled.json()["status"] == "active"


def test_list_pages_by_name_with_a_signed_cursor(platform: Platform):
    prefix = unique("pg")
    names = sorted(platform.create(name=f"{prefix}-{i}")["name"] for i in range(5))

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "name_prefix": prefix}
        if cursor:
            params["cursor"] = cursor
        page = platform.request("GET", "", params=params).json()
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == names
    tampered = platform.request("GET", "", params={"cursor": "W10.AAAA"})
    assert_problem(tampered, 400, "invalid-cursor")


def test_name_prefix_is_a_literal_prefix_not_a_like_pattern(platform: Platform):
    prefix = unique("lit")
    platform.create(name=f"{prefix}-a")

    for pattern in (f"{prefix[:3]}%", f"{prefix[:3]}_", "%", "_"):
        listed = platform.request("GET", "", params={"name_prefix": pattern})
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == [], pattern
    assert [
        t["name"] for t in platform.request("GET", "", params={"name_prefix": prefix}).json()["items"]
    ] == [f"{prefix}-a"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("POST", "", {"name": "sneaky"}),
        ("GET", "/{own}", None),
        ("PATCH", "/{own}", {"status": "disabled"}),
    ],
)
def test_tenant_admin_gets_403_even_on_its_own_tenant(api: Api, keystead, method, path, body):
    response = api.http.request(
        method, f"{API}/tenants{path.format(own=api.tenant.name)}", json=body, headers=api.headers()
    )

    assert_problem(response, 403, "forbidden")
    assert keystead.tenants.get(api.tenant.name).status == "active"
