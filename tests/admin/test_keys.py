"""The signing keys resource: a listing without key material, and rotation."""

from __future__ import annotations

from tests.admin.conftest import Api

PUBLIC_FIELDS = {"kid", "alg", "status", "created_at", "publish_until"}


def test_list_shows_only_public_facts(api: Api):
    response = api.request("GET", "/keys")

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items and all(set(k) == PUBLIC_FIELDS for k in items)
    assert any(k["alg"] == "ES256" and k["status"] == "active" for k in items)
    for private in ('"d"', '"p"', '"q"', "encrypted_jwk", "PRIVATE"):
        assert private not in response.text


def test_rotate_returns_new_kids_and_keeps_old_keys_published(api: Api):
    old = {k["kid"] for k in api.request("GET", "/keys").json()["items"] if k["status"] == "active"}

    response = api.request("POST", "/keys/rotate")

    assert response.status_code == 200, response.text
    rotated = response.json()["rotated"]
    new = {k["kid"] for k in rotated}
    assert new and not new & old
    listed = {k["kid"]: k for k in api.request("GET", "/keys").json()["items"]}
    assert all(listed[kid]["status"] == "active" for kid in new)
    assert all(listed[kid]["status"] == "retired" and listed[kid]["publish_until"] for kid in old)
    published = {k["kid"] for k in api.http.get(f"/t/{api.tenant.name}/jwks").json()["keys"]}
    assert new | old <= published
    events = api.request("GET", "/audit-events", params={"action": "keys.rotate"}).json()["items"]
    assert {k["kid"] for k in events[0]["after"]["rotated"]} == new


def test_admin_token_signed_before_rotation_still_works(api: Api):
    assert api.request("POST", "/keys/rotate").status_code == 200

    assert api.request("GET", "/keys").status_code == 200
