"""Every admin write is audited: who, what, when, from where, before/after without secrets."""

from __future__ import annotations

from tests.admin.conftest import Api, assert_problem


def test_create_update_delete_are_audited_without_secrets(api: Api):
    user = api.create_user(password="a long password", email="audit@example.com")
    etag = api.request("GET", f"/users/{user['id']}").headers["etag"]
    api.request("PATCH", f"/users/{user['id']}", json={"name": "Renamed"}, headers={"If-Match": etag})
    api.request("DELETE", f"/users/{user['id']}")

    response = api.request("GET", "/audit-events")

    assert response.status_code == 200
    events = response.json()["items"]
    assert [e["action"] for e in events] == ["user.delete", "user.update", "user.create"]
    delete, update, create = events
    assert create["target"] == user["id"]
    assert create["after"]["email"] == "audit@example.com"
    assert create["before"] is None
    assert update["before"]["name"] is None and update["after"]["name"] == "Renamed"
    assert delete["before"]["name"] == "Renamed" and delete["after"] is None
    assert all(e["actor"] and e["ip"] and e["created_at"].endswith("Z") for e in events)
    assert "argon2" not in response.text and "password_hash" not in response.text
    assert "a long password" not in response.text


def test_failed_writes_and_reads_are_not_audited(api: Api):
    api.request("POST", "/users", json={"username": "x", "email": "bad"})
    api.request("GET", "/users")

    assert api.request("GET", "/audit-events").json()["items"] == []


def test_filters_and_pages(api: Api):
    users = [api.create_user() for _ in range(5)]
    api.request("DELETE", f"/users/{users[0]['id']}")

    creates = api.request("GET", "/audit-events", params={"action": "user.create"}).json()["items"]
    target = api.request("GET", "/audit-events", params={"target": users[0]["id"]}).json()["items"]
    assert len(creates) == 5
    assert [e["action"] for e in target] == ["user.delete", "user.create"]

    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.request("GET", "/audit-events", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6


def test_audit_events_are_per_tenant(api: Api, other_api: Api):
    api.create_user()

    assert other_api.request("GET", "/audit-events").json()["items"] == []
    assert_problem(other_api.request("GET", "/audit-events", params={"limit": "500"}), 422, "validation")


def test_scrub_removes_secrets_at_any_depth():
    from keystead.services.audit import scrub

    cleaned = scrub(
        {
            "name": "n",
            "password_hash": "$argon2id$...",
            "nested": {
                "secret_hash": "x",
                "token_hmac": "y",
                "client_secret": "z",
                "ok": [{"password": "p"}],
            },
        }
    )

    assert cleaned == {"name": "n", "nested": {"ok": [{}]}}
