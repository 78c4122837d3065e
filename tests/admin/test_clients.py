"""The clients resource: register (secret shown once), list, read, update with If-Match,
disable, rotate the secret; bad input refused and nothing written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.admin.conftest import API, Api, assert_problem
from tests.conftest import unique

CB = "https://rp.example.com/cb"


def _register(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Shop", "redirect_uris": [CB], **fields}
    response = api.request("POST", "/clients", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _token(api: Api, client_id: str, secret: str) -> int:
    response = api.http.post(
        f"/t/{api.tenant.name}/token",
        data={"grant_type": "client_credentials", "scope": "api"},
        auth=(client_id, secret),
    )
    return response.status_code


def _machine(api: Api) -> dict[str, Any]:
    return _register(api, grant_types=["client_credentials"], scopes=["api"], redirect_uris=[])


def test_create_confidential_shows_the_secret_once(api: Api):
    response = api.request(
        "POST",
        "/clients",
        json={
            "name": "Shop",
            "redirect_uris": [CB],
            "post_logout_redirect_uris": ["https://rp.example.com/bye"],
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client_type"] == "confidential"
    assert body["has_secret"] is True
    assert len(body["client_secret"]) >= 32
    assert body["redirect_uris"] == [CB]
    assert "secret_hash" not in response.text
    assert response.headers["location"] == f"{API}/tenants/{api.tenant.name}/clients/{body['client_id']}"
    again = api.http.get(response.headers["location"], headers=api.headers())
    assert again.status_code == 200
    assert "client_secret" not in again.json()
    assert body["client_secret"] not in again.text
    assert again.headers["etag"] == response.headers["etag"]
    listed = api.request("GET", "/clients", params={"limit": 200})
    assert body["client_secret"] not in listed.text and "secret_hash" not in listed.text


def test_the_secret_authenticates_and_is_not_in_the_audit_trail(api: Api):
    body = _machine(api)

    assert _token(api, body["client_id"], body["client_secret"]) == 200
    events = api.request("GET", "/audit-events", params={"action": "client.create"})
    assert events.json()["items"][0]["target"] == body["client_id"]
    assert body["client_secret"] not in events.text


def test_create_with_all_settings_and_a_chosen_client_id(api: Api):
    client_id = unique("spa")
    body = _register(
        api,
        client_id=client_id,
        client_type="public",
        grant_types=["authorization_code", "refresh_token"],
        scopes=["openid", "profile"],
        first_party=True,
        id_token_alg="RS256",
        access_token_ttl=300,
        id_token_ttl=120,
        refresh_token_ttl=86400,
    )

    assert body["client_id"] == client_id
    assert body["has_secret"] is False
    assert "client_secret" not in body
    assert (body["first_party"], body["id_token_alg"], body["access_token_ttl"]) == (True, "RS256", 300)
    keys = api.request("GET", "/keys").json()["items"]
    assert any(k["alg"] == "RS256" and k["status"] == "active" for k in keys)


def test_duplicate_client_id_is_409(api: Api):
    client_id = unique("app")
    _register(api, client_id=client_id)

    response = api.request(
        "POST", "/clients", json={"name": "Again", "client_id": client_id, "redirect_uris": [CB]}
    )

    assert_problem(response, 409, "conflict")


def test_idempotent_replay_does_not_reveal_the_secret(api: Api):
    key = unique("idem")
    body = {"name": "Once", "redirect_uris": [CB]}

    first = api.request("POST", "/clients", json=body, headers={"Idempotency-Key": key})
    replay = api.request("POST", "/clients", json=body, headers={"Idempotency-Key": key})

    assert first.status_code == replay.status_code == 201
    assert "client_secret" in first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert "client_secret" not in replay.json()
    assert first.json()["client_secret"] not in replay.text
    assert replay.json()["client_id"] == first.json()["client_id"]
    listed = api.request("GET", "/clients", params={"limit": 200}).json()["items"]
    assert [c["name"] for c in listed].count("Once") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "redirect_uris": ["http://evil.example.com/cb"]}, "redirect_uris"),
        ({"name": "X", "redirect_uris": ["https://rp.example.com/cb#frag"]}, "redirect_uris"),
        ({"name": "X", "redirect_uris": ["javascript:alert(1)"]}, "redirect_uris"),
        (
            {"name": "X", "redirect_uris": [CB], "post_logout_redirect_uris": ["/relative"]},
            "post_logout_redirect_uris",
        ),
        ({"name": "X", "redirect_uris": []}, "redirect_uris"),
        ({"name": "X", "redirect_uris": [CB], "grant_types": ["password"]}, "grant_types"),
        ({"name": "X", "redirect_uris": [CB], "id_token_alg": "none"}, "id_token_alg"),
        ({"name": "X", "client_type": "public", "grant_types": ["client_credentials"]}, "grant_types"),
        ({"name": "X", "redirect_uris": [CB], "client_id": "has space"}, "client_id"),
    ],
)
def test_invalid_settings_are_422_naming_the_field(api: Api, body, field):
    before = len(api.request("GET", "/clients", params={"limit": 200}).json()["items"])

    response = api.request("POST", "/clients", json=body)

    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["field"] == field
    assert len(api.request("GET", "/clients", params={"limit": 200}).json()["items"]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "redirect_uris": [CB], "colour": "red"}, "colour"),
        ({"name": "X", "redirect_uris": [CB], "first_party": "yes"}, "first_party"),
        ({"name": "X", "redirect_uris": CB}, "redirect_uris"),
        ({"name": "X", "client_type": "hybrid"}, "client_type"),
        ({"name": "X", "access_token_ttl": 5}, "access_token_ttl"),
        ({"redirect_uris": [CB]}, "name"),
    ],
)
def test_unknown_fields_and_wrong_types_are_422(api: Api, body, field):
    problem = assert_problem(api.request("POST", "/clients", json=body), 422, "validation")

    assert [e["field"] for e in problem["errors"]] == [field]


def test_malformed_json_is_400(api: Api):
    response = api.request(
        "POST", "/clients", content=b'{"name": "X",', headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400, "bad-request")


def test_list_walks_keyset_pages(api: Api):
    made = [_register(api, name=f"app{i}")["client_id"] for i in range(5)]

    seen: list[str] = []
    order: list[tuple[datetime, str]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.request("GET", "/clients", params=params).json()
        assert len(page["items"]) <= 2
        seen += [c["client_id"] for c in page["items"]]
        order += [(datetime.fromisoformat(c["created_at"]), c["id"]) for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert set(made) <= set(seen)
    assert order == sorted(order)  # keyset order: (created_at, id)
    assert len(seen) == len(set(seen)) == 6  # with the admin client the fixture registered
    assert "count" not in page


def test_tampered_or_foreign_cursor_is_400(api: Api, other_api: Api):
    for _ in range(2):
        _register(other_api)
    foreign = other_api.request("GET", "/clients", params={"limit": 1}).json()["next_cursor"]

    assert_problem(api.request("GET", "/clients", params={"cursor": foreign}), 400, "invalid-cursor")
    assert_problem(api.request("GET", "/clients", params={"cursor": "abc.def"}), 400, "invalid-cursor")


def test_unknown_client_is_404(api: Api, other_api: Api):
    theirs = _register(other_api)

    assert_problem(api.request("GET", "/clients/nope"), 404, "not-found")
    assert_problem(api.request("GET", f"/clients/{theirs['client_id']}"), 404, "not-found")


def test_patch_with_current_etag_updates_redirect_uris(api: Api):
    client = _register(api)
    etag = api.request("GET", f"/clients/{client['client_id']}").headers["etag"]

    response = api.request(
        "PATCH",
        f"/clients/{client['client_id']}",
        json={"name": "Renamed", "redirect_uris": [CB, "com.example.app:/cb"], "client_uri": None},
        headers={"If-Match": etag},
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed"
    assert response.json()["redirect_uris"] == [CB, "com.example.app:/cb"]
    assert response.headers["etag"] != etag
    assert api.request("GET", f"/clients/{client['client_id']}").json() == response.json()
    events = api.request("GET", "/audit-events", params={"action": "client.update"}).json()["items"]
    assert events[0]["before"]["name"] == "Shop" and events[0]["after"]["name"] == "Renamed"


def test_patch_refuses_a_bad_redirect_uri_and_writes_nothing(api: Api):
    client = _register(api)
    etag = api.request("GET", f"/clients/{client['client_id']}").headers["etag"]

    response = api.request(
        "PATCH",
        f"/clients/{client['client_id']}",
        json={"redirect_uris": ["http://evil.example.com/cb"]},
        headers={"If-Match": etag},
    )

    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["field"] == "redirect_uris"
    assert api.request("GET", f"/clients/{client['client_id']}").headers["etag"] == etag


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"client_type": "public"}, "client_type"),
        ({"secret_hash": "x"}, "secret_hash"),
    ],
)
def test_patch_refuses_nulls_and_fields_that_cannot_change(api: Api, body, field):
    client = _register(api)

    response = api.request("PATCH", f"/clients/{client['client_id']}", json=body, headers={"If-Match": "*"})

    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["field"] == field


def test_stale_if_match_is_412_and_missing_is_428(api: Api):
    client = _register(api)
    path = f"/clients/{client['client_id']}"
    etag = api.request("GET", path).headers["etag"]
    assert api.request("PATCH", path, json={"name": "First"}, headers={"If-Match": etag}).status_code == 200

    assert_problem(
        api.request("PATCH", path, json={"name": "Second"}, headers={"If-Match": etag}),
        412,
        "precondition-failed",
    )
    assert_problem(api.request("PATCH", path, json={"name": "Third"}), 428, "precondition-required")
    assert api.request("GET", path).json()["name"] == "First"


def test_disabled_client_cannot_get_tokens(api: Api):
    client = _machine(api)
    assert _token(api, client["client_id"], client["client_secret"]) == 200

    response = api.request(
        "PATCH", f"/clients/{client['client_id']}", json={"status": "disabled"}, headers={"If-Match": "*"}
    )

    assert response.json()["status"] == "disabled"
    assert _token(api, client["client_id"], client["client_secret"]) == 401
    assert api.request("GET", f"/clients/{client['client_id']}").json()["status"] == "disabled"


def test_rotate_secret_shows_a_new_secret_once_and_the_old_one_stops(api: Api):
    client = _machine(api)
    path = f"/clients/{client['client_id']}"
    etag = api.request("GET", path).headers["etag"]

    response = api.request("POST", f"{path}/secret")

    assert response.status_code == 200, response.text
    secret = response.json()["client_secret"]
    assert secret != client["client_secret"]
    assert response.headers["cache-control"] == "no-store"
    assert _token(api, client["client_id"], client["client_secret"]) == 401
    assert _token(api, client["client_id"], secret) == 200
    after = api.request("GET", path)
    assert secret not in after.text and after.headers["etag"] != etag
    assert_problem(
        api.request("POST", f"{path}/secret", headers={"If-Match": etag}), 412, "precondition-failed"
    )
    events = api.request("GET", "/audit-events", params={"action": "client.secret.rotate"})
    assert events.json()["items"][0]["target"] == client["client_id"]
    assert secret not in events.text


def test_public_client_has_no_secret_to_rotate(api: Api):
    client = _register(api, client_type="public", grant_types=["authorization_code"])

    response = api.request("POST", f"/clients/{client['client_id']}/secret")

    assert_problem(response, 422, "validation")
    assert api.request("GET", f"/clients/{client['client_id']}").json()["has_secret"] is False


def test_a_leaked_secret_is_replaced_while_the_client_is_disabled(api: Api):
    client = _machine(api)
    path = f"/clients/{client['client_id']}"
    api.request("PATCH", path, json={"status": "disabled"}, headers={"If-Match": "*"})

    rotated = api.request("POST", f"{path}/secret")
    api.request("PATCH", path, json={"status": "active"}, headers={"If-Match": "*"})

    assert rotated.status_code == 200, rotated.text
    assert _token(api, client["client_id"], client["client_secret"]) == 401
    assert _token(api, client["client_id"], rotated.json()["client_secret"]) == 200


def test_a_client_changed_between_read_and_write_is_stale_and_unchanged(keystead, factory):
    """Compare-and-set on the client's version: an update from an old read writes nothing."""
    from keystead.errors import Stale

    tenant = factory.tenant()
    rp = factory.client(tenant)
    old = keystead.clients.lookup(tenant.id, rp.client_id)
    keystead.clients.update(tenant.id, rp.client_id, expected=old, name="First writer")

    with pytest.raises(Stale):
        keystead.clients.update(tenant.id, rp.client_id, expected=old, name="Second writer")
    assert keystead.clients.lookup(tenant.id, rp.client_id).name == "First writer"


def _introspect(api: Api, caller: dict[str, Any], token: str) -> bool:
    response = api.http.post(
        f"/t/{api.tenant.name}/introspect",
        data={"token": token},
        auth=(caller["client_id"], caller["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def test_delete_revokes_the_clients_tokens_and_it_is_gone(api: Api):
    client, watcher = _machine(api), _machine(api)
    issued = api.http.post(
        f"/t/{api.tenant.name}/token",
        data={"grant_type": "client_credentials", "scope": "api"},
        auth=(client["client_id"], client["client_secret"]),
    ).json()["access_token"]
    assert _introspect(api, watcher, issued)
    etag = api.request("GET", f"/clients/{client['client_id']}").headers["etag"]

    stale = api.request("DELETE", f"/clients/{client['client_id']}", headers={"If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition-failed")
    response = api.request("DELETE", f"/clients/{client['client_id']}", headers={"If-Match": etag})

    assert response.status_code == 204, response.text
    assert not _introspect(api, watcher, issued)
    assert _token(api, client["client_id"], client["client_secret"]) == 401
    assert_problem(api.request("GET", f"/clients/{client['client_id']}"), 404, "not-found")
    assert_problem(api.request("DELETE", f"/clients/{client['client_id']}"), 404, "not-found")
    listed = [c["client_id"] for c in api.request("GET", "/clients", params={"limit": 200}).json()["items"]]
    assert client["client_id"] not in listed and watcher["client_id"] in listed
    event = api.request("GET", "/audit-events", params={"action": "client.delete"}).json()["items"][0]
    assert event["target"] == client["client_id"] and event["before"]["name"] == "Shop"
    assert client["client_secret"] not in str(event)


def test_delete_of_another_tenants_client_is_404_and_keeps_it(api: Api, other_api: Api):
    client = _machine(api)

    assert_problem(other_api.request("DELETE", f"/clients/{client['client_id']}"), 404, "not-found")
    assert _token(api, client["client_id"], client["client_secret"]) == 200
