"""The users resource: create, read, update with If-Match, delete; bad input refused."""

from __future__ import annotations

import pytest

from tests.admin.conftest import API, Api, assert_problem, token_for
from tests.conftest import unique


def test_create_returns_201_location_etag_and_no_password_hash(api: Api):
    name = unique("alice")
    response = api.request(
        "POST", "/users", json={"username": name, "email": f"{name}@example.com", "password": "s3cret-pass!"}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == name
    assert body["has_password"] is True
    assert "password_hash" not in body and "password" not in body
    assert "argon2" not in response.text
    assert response.headers["location"] == f"{API}/tenants/{api.tenant.name}/users/{body['id']}"
    assert response.headers["etag"].startswith('"')
    again = api.http.get(response.headers["location"], headers=api.headers())
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["etag"] == response.headers["etag"]


def test_create_without_password(api: Api):
    body = api.create_user(given_name="Ann", address={"country": "FR"}, status="disabled")

    assert body["has_password"] is False
    assert body["given_name"] == "Ann"
    assert body["address"] == {"country": "FR"}
    assert body["status"] == "disabled"


def test_patch_with_current_etag_updates_and_returns_new_etag(api: Api):
    user = api.create_user()
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]

    response = api.request(
        "PATCH",
        f"/users/{user['id']}",
        json={"name": "New Name", "locale": None, "email": "new@example.com", "status": "disabled"},
        headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "New Name"
    assert response.json()["email"] == "new@example.com"
    assert response.json()["status"] == "disabled"
    assert response.headers["etag"] != etag


def test_stale_if_match_is_412_and_changes_nothing(api: Api):
    user = api.create_user()
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]
    first = api.request("PATCH", f"/users/{user['id']}", json={"name": "First"}, headers={"If-Match": etag})
    assert first.status_code == 200

    stale = api.request("PATCH", f"/users/{user['id']}", json={"name": "Second"}, headers={"If-Match": etag})

    assert_problem(stale, 412, "precondition-failed")
    assert api.request("GET", f"/users/{user['id']}").json()["name"] == "First"


def test_patch_without_if_match_is_428(api: Api):
    user = api.create_user()

    response = api.request("PATCH", f"/users/{user['id']}", json={"name": "X"})

    assert_problem(response, 428, "precondition-required")


def test_delete_is_204_then_404(api: Api):
    user = api.create_user()

    assert api.request("DELETE", f"/users/{user['id']}").status_code == 204
    assert_problem(api.request("GET", f"/users/{user['id']}"), 404, "not-found")
    assert_problem(api.request("DELETE", f"/users/{user['id']}"), 404, "not-found")


def test_delete_with_stale_if_match_is_412(api: Api):
    user = api.create_user()

    response = api.request("DELETE", f"/users/{user['id']}", headers={"If-Match": '"stale"'})

    assert_problem(response, 412, "precondition-failed")
    assert api.request("GET", f"/users/{user['id']}").status_code == 200


def test_duplicate_username_is_409(api: Api):
    name = unique("dup")
    api.create_user(name)

    response = api.request("POST", "/users", json={"username": name.upper()})

    assert_problem(response, 409, "conflict")


def test_rename_onto_an_existing_username_is_409(api: Api):
    taken = api.create_user()["username"]
    user = api.create_user()
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]

    response = api.request(
        "PATCH", f"/users/{user['id']}", json={"username": taken}, headers={"If-Match": etag}
    )

    assert_problem(response, 409, "conflict")


def _fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x", "is_admin": True}, "is_admin"),
        ({"username": 42}, "username"),
        ({"username": "x", "email_verified": "yes"}, "email_verified"),
        ({"username": "x", "email": "not-an-email"}, "email"),
        ({"username": "x", "password": "short"}, "password"),
        ({"username": "x", "status": "banned"}, "status"),
        ({"username": "x", "address": {"planet": "Mars"}}, "address.planet"),
        ({"username": "x\u0000y"}, "username"),
        ({"username": "x", "roles": ["Admin"]}, "roles.0"),
        ({"username": "x", "roles": "admin"}, "roles"),
        ({"username": "x", "roles": ["ok", "has space"]}, "roles.1"),
        ({}, "username"),
        ([1, 2], "body"),
    ],
)
def test_invalid_create_is_422_naming_the_field_and_writes_nothing(api: Api, body, field):
    response = api.request("POST", "/users", json=body)

    problem = assert_problem(response, 422, "validation")
    assert field in _fields(problem), problem
    assert api.request("GET", "/users").json()["items"] == []


def test_malformed_json_is_400(api: Api):
    response = api.request(
        "POST", "/users", content=b'{"username": "x",', headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400, "bad-request")


def test_roles_are_created_listed_patched_and_audited(api: Api):
    user = api.create_user(roles=["admin", "support:read", "admin"])
    assert user["roles"] == ["admin", "support:read"]
    assert api.create_user()["roles"] == []
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]

    response = api.request(
        "PATCH", f"/users/{user['id']}", json={"roles": ["auditor"]}, headers={"If-Match": etag}
    )

    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["auditor"]
    listed = api.request("GET", "/users", params={"username": user["username"]}).json()["items"]
    assert listed[0]["roles"] == ["auditor"]
    event = api.request("GET", "/audit-events", params={"action": "user.update"}).json()["items"][0]
    assert event["before"]["roles"] == ["admin", "support:read"] and event["after"]["roles"] == ["auditor"]
    etag = response.headers["etag"]
    refused = api.request("PATCH", f"/users/{user['id']}", json={"roles": None}, headers={"If-Match": etag})
    assert "roles" in _fields(assert_problem(refused, 422, "validation"))
    assert api.request("GET", f"/users/{user['id']}").json()["roles"] == ["auditor"]


def test_invalid_patch_names_the_field(api: Api):
    user = api.create_user()
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]

    for body, field in [({"username": None}, "username"), ({"password_hash": "x"}, "password_hash")]:
        response = api.request("PATCH", f"/users/{user['id']}", json=body, headers={"If-Match": etag})
        assert field in _fields(assert_problem(response, 422, "validation"))


def test_oversized_body_is_413(api: Api):
    response = api.request("POST", "/users", json={"username": "x", "name": "a" * 10_000})

    assert response.status_code == 413


def test_unknown_user_and_bad_ids(api: Api):
    assert_problem(api.request("GET", f"/users/{unique('x')}"), 404, "not-found")
    assert_problem(api.request("GET", "/users/bad%00id"), 422, "validation")
    assert_problem(api.request("PUT", "/users"), 405, "method-not-allowed")
    assert_problem(api.request("GET", "/nothing-here"), 404, "not-found")


def test_idempotent_create_replays_the_first_response(api: Api):
    key = unique("key")
    body = {"username": unique("idem"), "password": "correct horse"}

    first = api.request("POST", "/users", json=body, headers={"Idempotency-Key": key})
    second = api.request("POST", "/users", json=body, headers={"Idempotency-Key": key})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert len(api.request("GET", "/users").json()["items"]) == 1


def test_idempotency_key_with_another_body_is_409(api: Api):
    key = unique("key")
    api.request("POST", "/users", json={"username": unique("a")}, headers={"Idempotency-Key": key})

    response = api.request("POST", "/users", json={"username": unique("b")}, headers={"Idempotency-Key": key})

    assert_problem(response, 409, "idempotency-key-reused")
    assert len(api.request("GET", "/users").json()["items"]) == 1


def test_idempotency_key_is_released_when_the_create_fails(api: Api):
    key = unique("key")
    bad = api.request(
        "POST", "/users", json={"username": "x", "email": "bad"}, headers={"Idempotency-Key": key}
    )
    assert bad.status_code == 422

    good = api.request("POST", "/users", json={"username": unique("ok")}, headers={"Idempotency-Key": key})

    assert good.status_code == 201


def test_idempotency_key_expires_after_a_day(api: Api, keystead, clock):
    created = keystead.clients.create(
        api.tenant.id, "admin", grant_types=["client_credentials"], scopes=["keystead:admin"]
    )
    key, body = unique("key"), {"username": unique("once")}

    def post():  # type: ignore[no-untyped-def]
        token = token_for(
            api.http, api.tenant, created.client.client_id, created.secret or "", "keystead:admin"
        )
        return api.http.post(
            api.base + "/users",
            json=body,
            headers={"Idempotency-Key": key, "Authorization": f"Bearer {token}"},
        )

    first = post()
    api.request("DELETE", f"/users/{first.json()['id']}")
    clock.advance(24 * 3600 + 1)
    api.token = token_for(
        api.http, api.tenant, created.client.client_id, created.secret or "", "keystead:admin"
    )

    second = post()

    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]


def test_oversized_chunked_body_is_413(api: Api):
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"username": "x", "name": "'
        for _ in range(10):
            yield b"a" * 1000
        yield b'"}'

    response = api.request("POST", "/users", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert api.request("GET", "/users").json()["items"] == []


def test_unexpected_error_is_a_500_problem_without_detail(api: Api, keystead, monkeypatch, caplog):
    def boom(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("internal secret detail")

    monkeypatch.setattr(keystead.users, "get", boom)

    response = api.request("GET", f"/users/{unique('x')}")

    problem = assert_problem(response, 500, "server-error")
    assert "detail" not in problem
    assert "internal secret detail" not in response.text
    assert "internal secret detail" in caplog.text


def test_a_change_between_the_if_match_check_and_the_write_is_412_not_a_lost_update(keystead, factory):
    """Compare-and-set in the store: a writer holding an old version cannot overwrite a newer one."""
    from keystead.errors import Stale

    tenant = factory.tenant()
    user = factory.user(tenant, "race")
    keystead.users.update(tenant.id, user.id, name="First writer")  # lands after `user` was read

    with pytest.raises(Stale):
        keystead.users.update(tenant.id, user.id, expected=user, name="Second writer")
    with pytest.raises(Stale):
        keystead.users.set_status(tenant.id, user.id, "disabled", expected=user)
    stored = keystead.users.get(tenant.id, user.id)
    assert stored.name == "First writer" and stored.status == "active"


def test_a_body_over_the_server_limit_is_a_413_problem(api: Api):
    response = api.request(
        "POST", "/users", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/payload-too-large")
