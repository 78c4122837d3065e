"""Keyset pagination of users: complete walks, filters, and cursors that cannot be forged."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from tests.admin.conftest import Api, assert_problem


@pytest.fixture
def many(api: Api, keystead) -> list[str]:
    names = [f"user{i:03d}" for i in range(120)]
    for i, name in enumerate(names):
        keystead.users.create(
            api.tenant.id, name.upper() if i % 7 == 0 else name, email=f"{name}@example.com"
        )
    return names


def _walk(api: Api, limit: int, **params: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(200):
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        response = api.request("GET", "/users", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("limit", [1, 7, 50, 200])
def test_walking_all_pages_has_no_duplicates_and_no_gaps(api: Api, many, limit):
    items = _walk(api, limit)

    usernames = [item["username"].casefold() for item in items]
    assert usernames == sorted(many)
    assert len({item["id"] for item in items}) == 120


def test_default_page_is_50(api: Api, many):
    page = api.request("GET", "/users").json()

    assert len(page["items"]) == 50
    assert page["next_cursor"]


def test_filters(api: Api, many, keystead):
    disabled = keystead.users.find(api.tenant.id, "user005")
    keystead.users.set_status(api.tenant.id, disabled.id, "disabled")

    def names(**params: str) -> list[str]:
        return [i["username"].casefold() for i in _walk(api, 50, **params)]

    assert names(email="USER010@example.com") == ["user010"]
    assert names(username="User011") == ["user011"]
    assert names(username_prefix="user11") == [f"user11{i}" for i in range(10)]
    assert names(username_prefix="user1%") == []
    assert names(status="disabled") == ["user005"]
    before = datetime.fromtimestamp(keystead.clock() - 1, UTC).isoformat()
    after = datetime.fromtimestamp(keystead.clock() + 1, UTC).isoformat()
    assert len(names(created_before=before)) == 0
    assert len(names(created_after=before)) == 120
    assert len(names(created_after=after)) == 0
    assert len(names(created_before=after, username_prefix="user00")) == 10


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "gone"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"sort": "email"}, "sort"),
    ],
)
def test_bad_query_parameters_are_422(api: Api, params, field):
    problem = assert_problem(api.request("GET", "/users", params=params), 422, "validation")

    assert field in {e["field"] for e in problem["errors"]}


def test_tampered_cursor_is_400(api: Api, many):
    cursor = api.request("GET", "/users", params={"limit": "5"}).json()["next_cursor"]
    payload, mac = cursor.split(".")
    forged_payload = base64.urlsafe_b64encode(b'["user100","zzz"]').rstrip(b"=").decode()

    flipped = mac[:-1] + ("1" if mac.endswith("0") else "0")
    for bad in [f"{forged_payload}.{mac}", f"{payload}.{flipped}", "garbage", f"{payload}.é", "."]:
        problem = assert_problem(api.request("GET", "/users", params={"cursor": bad}), 400, "invalid-cursor")
        assert problem["errors"][0]["field"] == "cursor"


def test_cursor_of_another_tenant_is_400(api: Api, other_api: Api, many, keystead):
    for i in range(3):
        keystead.users.create(other_api.tenant.id, f"other{i}")
    cursor = other_api.request("GET", "/users", params={"limit": "1"}).json()["next_cursor"]

    assert_problem(api.request("GET", "/users", params={"cursor": cursor}), 400, "invalid-cursor")


def test_cursor_of_another_list_is_400(api: Api, many):
    for _ in range(3):
        api.create_user()
    cursor = api.request("GET", "/audit-events", params={"limit": "1"}).json()["next_cursor"]

    assert_problem(api.request("GET", "/users", params={"cursor": cursor}), 400, "invalid-cursor")
