"""Sessions through the admin API: list a user's, revoke one, revoke all; a revoked session
stops working at /authorize and its refresh tokens fail, checked through the real endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from tests.admin.conftest import Api, assert_problem
from tests.support.factories import REDIRECT_URI, Factory, RegisteredClient
from tests.support.flow import Flow


@dataclass
class Browser:
    http: httpx.Client
    flow: Flow
    tokens: dict[str, Any]


@pytest.fixture
def browsers(app, api: Api, factory: Factory, clock) -> Iterator[tuple[Any, RegisteredClient, list[Browser]]]:
    """A user of ``api``'s tenant signed in from two browsers, each with its own tokens."""
    user = factory.user(api.tenant, "alice")
    rp = factory.client(api.tenant)
    made = []
    try:
        for _ in range(2):
            clock.advance(1)  # the second browser's session is the newer one
            http = TestClient(app, base_url="http://testserver", follow_redirects=False)
            flow = Flow(http, api.tenant.name)
            response = flow.exchange(rp, flow.login(rp, "alice"))
            assert response.status_code == 200, response.text
            made.append(Browser(http, flow, response.json()))
        yield user, rp, made
    finally:
        for browser in made:
            browser.http.close()


def _prompt_none(browser: Browser, tenant_name: str, rp: RegisteredClient) -> dict[str, str]:
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "prompt": "none",
        "state": "s",
    }
    response = browser.http.get(f"/t/{tenant_name}/authorize?{urlencode(params)}")
    assert response.status_code == 303
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _refresh(browser: Browser, rp: RegisteredClient) -> int:
    data = {"grant_type": "refresh_token", "refresh_token": browser.tokens["refresh_token"]}
    return browser.flow.token(rp, data).status_code


def test_list_shows_the_users_live_sessions(api: Api, browsers):
    user, _, _ = browsers

    response = api.request("GET", f"/users/{user.id}/sessions")

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 2
    assert set(items[0]) == {"id", "user_id", "created_at", "auth_time", "expires_at", "acr", "amr"}
    assert all(s["user_id"] == user.id and "pwd" in s["amr"] for s in items)
    assert "token_hmac" not in response.text


def test_revoke_one_session_ends_it_and_its_grants_only(api: Api, browsers):
    user, rp, (first, second) = browsers
    sessions = api.request("GET", f"/users/{user.id}/sessions").json()["items"]
    # the newest session is the second browser's
    newest = sessions[0]["id"]

    response = api.request("DELETE", f"/sessions/{newest}")

    assert response.status_code == 204, response.text
    assert _prompt_none(second, api.tenant.name, rp)["error"] == "login_required"
    assert _refresh(second, rp) == 400
    assert "code" in _prompt_none(first, api.tenant.name, rp)
    assert _refresh(first, rp) == 200
    left = api.request("GET", f"/users/{user.id}/sessions").json()["items"]
    assert [s["id"] for s in left] == [sessions[1]["id"]]
    assert_problem(api.request("DELETE", f"/sessions/{newest}"), 404, "not-found")
    events = api.request("GET", "/audit-events", params={"action": "session.revoke"}).json()["items"]
    assert events[0]["target"] == newest


def test_revoke_all_of_a_user(api: Api, browsers):
    user, rp, made = browsers

    response = api.request("DELETE", f"/users/{user.id}/sessions")

    assert response.status_code == 204, response.text
    for browser in made:
        assert _prompt_none(browser, api.tenant.name, rp)["error"] == "login_required"
        assert _refresh(browser, rp) == 400
    assert api.request("GET", f"/users/{user.id}/sessions").json()["items"] == []
    events = api.request("GET", "/audit-events", params={"action": "user.sessions.revoke"}).json()["items"]
    assert events[0]["target"] == user.id and len(events[0]["after"]["sessions"]) == 2


def test_sessions_of_another_tenant_are_not_found(api: Api, other_api: Api, browsers):
    user, rp, made = browsers
    session_id = api.request("GET", f"/users/{user.id}/sessions").json()["items"][0]["id"]

    assert_problem(other_api.request("DELETE", f"/sessions/{session_id}"), 404, "not-found")
    assert_problem(other_api.request("GET", f"/users/{user.id}/sessions"), 404, "not-found")
    assert_problem(other_api.request("DELETE", f"/users/{user.id}/sessions"), 404, "not-found")
    assert_problem(
        api.http.delete(other_api.base + f"/sessions/{session_id}", headers=api.headers()), 403, "forbidden"
    )
    assert len(api.request("GET", f"/users/{user.id}/sessions").json()["items"]) == 2
    assert _refresh(made[0], rp) == 200


def test_unknown_user_or_session_is_404(api: Api):
    assert_problem(api.request("GET", "/users/nobody/sessions"), 404, "not-found")
    assert_problem(api.request("DELETE", "/users/nobody/sessions"), 404, "not-found")
    assert_problem(api.request("DELETE", "/sessions/nothing"), 404, "not-found")
    assert_problem(api.request("DELETE", "/sessions/not%20an%20id"), 422, "validation")


def test_user_without_sessions_has_an_empty_list(api: Api):
    user = api.create_user()

    assert api.request("GET", f"/users/{user['id']}/sessions").json() == {"items": [], "next_cursor": None}


def test_sessions_page_by_cursor(api: Api, browsers):
    user, _, _ = browsers
    url = f"/users/{user.id}/sessions"
    everything = [s["id"] for s in api.request("GET", url).json()["items"]]

    first = api.request("GET", url, params={"limit": 1}).json()
    second = api.request("GET", url, params={"limit": 1, "cursor": first["next_cursor"]}).json()

    assert [s["id"] for s in first["items"] + second["items"]] == everything
    assert second["next_cursor"] is None
    foreign = api.request("GET", f"/users/{user.id}/grants", params={"cursor": first["next_cursor"]})
    assert_problem(foreign, 400, "invalid-cursor")
    assert_problem(api.request("GET", url, params={"limit": 201}), 422, "validation")
