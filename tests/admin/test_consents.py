"""Consents and grants through the admin API: list a user's, withdraw a consent (the user's
grants for that client go with it), revoke one grant. What stops working is checked through the
real /token, /introspect and /authorize endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.ports.records import User
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import REDIRECT_URI, Factory, RegisteredClient
from tests.support.flow import Flow


@dataclass
class Signed:
    """Tokens one relying party got for the user."""

    rp: RegisteredClient
    tokens: dict[str, Any]


@dataclass
class Scene:
    user: User
    http: httpx.Client
    flow: Flow
    first: Signed
    second: Signed
    introspector: RegisteredClient


@pytest.fixture
def scene(app, api: Api, factory: Factory, clock) -> Iterator[Scene]:
    """A user who consented to two relying parties from one browser, with tokens from each."""
    user = factory.user(api.tenant, "alice")
    rps = [factory.client(api.tenant, name=f"RP {i}") for i in range(2)]
    introspector = factory.client(api.tenant, name="Resource server")
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as http:
        flow = Flow(http, api.tenant.name)
        signed = []
        for rp in rps:
            clock.advance(1)
            response = flow.exchange(rp, flow.login(rp, "alice"))  # the second signs in by SSO
            assert response.status_code == 200, response.text
            signed.append(Signed(rp, response.json()))
        yield Scene(user, http, flow, signed[0], signed[1], introspector)


def _refresh(scene: Scene, signed: Signed) -> int:
    data = {"grant_type": "refresh_token", "refresh_token": signed.tokens["refresh_token"]}
    return scene.flow.token(signed.rp, data).status_code


def _active(scene: Scene, token: str) -> bool:
    rs = scene.introspector
    response = scene.http.post(
        f"{scene.flow.base}/introspect", data={"token": token}, auth=(rs.client_id, rs.secret or "")
    )
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def _prompt_none(scene: Scene, rp: RegisteredClient) -> dict[str, str]:
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "prompt": "none",
        "state": "s",
    }
    response = scene.http.get(f"{scene.flow.base}/authorize?{urlencode(params)}")
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def test_lists_the_users_consents_and_grants(api: Api, scene: Scene):
    consents = api.request("GET", f"/users/{scene.user.id}/consents")
    grants = api.request("GET", f"/users/{scene.user.id}/grants")

    assert consents.status_code == 200, consents.text
    items = consents.json()["items"]
    assert sorted(c["client_id"] for c in items) == sorted(
        [scene.first.rp.client_id, scene.second.rp.client_id]
    )
    assert all("openid" in c["scopes"] and c["granted_at"].endswith("Z") for c in items)
    assert consents.json()["next_cursor"] is None
    assert grants.status_code == 200, grants.text
    listed = grants.json()["items"]
    # newest first: the second relying party's grant was made last
    assert [g["client_id"] for g in listed] == [scene.second.rp.client_id, scene.first.rp.client_id]
    assert all(g["user_id"] == scene.user.id and "pwd" in g["amr"] and g["session_id"] for g in listed)
    assert "hmac" not in grants.text


def test_revoking_a_consent_revokes_that_clients_tokens_only(api: Api, scene: Scene):
    first, second = scene.first, scene.second
    assert _active(scene, first.tokens["access_token"])

    response = api.request("DELETE", f"/users/{scene.user.id}/consents/{first.rp.client_id}")

    assert response.status_code == 204, response.text
    assert _refresh(scene, first) == 400
    assert not _active(scene, first.tokens["access_token"])
    assert not _active(scene, first.tokens["refresh_token"])
    # the next authorization must ask again: prompt=none cannot answer silently
    assert _prompt_none(scene, first.rp)["error"] == "consent_required"
    # the other client is untouched
    assert _active(scene, second.tokens["access_token"])
    assert _refresh(scene, second) == 200
    left = api.request("GET", f"/users/{scene.user.id}/consents").json()["items"]
    assert [c["client_id"] for c in left] == [second.rp.client_id]
    grants = api.request("GET", f"/users/{scene.user.id}/grants").json()["items"]
    assert {g["client_id"] for g in grants} == {second.rp.client_id}
    event = api.request("GET", "/audit-events", params={"action": "consent.revoke"}).json()["items"][0]
    assert event["target"] == scene.user.id
    assert event["after"]["client_id"] == first.rp.client_id and len(event["after"]["grants"]) == 1
    assert_problem(
        api.request("DELETE", f"/users/{scene.user.id}/consents/{first.rp.client_id}"), 404, "not-found"
    )


def test_revoking_one_grant(api: Api, scene: Scene):
    grants = api.request("GET", f"/users/{scene.user.id}/grants").json()["items"]
    target = next(g for g in grants if g["client_id"] == scene.second.rp.client_id)

    response = api.request("DELETE", f"/users/{scene.user.id}/grants/{target['id']}")

    assert response.status_code == 204, response.text
    assert _refresh(scene, scene.second) == 400
    assert not _active(scene, scene.second.tokens["access_token"])
    assert _refresh(scene, scene.first) == 200
    # the consent stays: only the tokens were revoked
    assert len(api.request("GET", f"/users/{scene.user.id}/consents").json()["items"]) == 2
    event = api.request("GET", "/audit-events", params={"action": "grant.revoke"}).json()["items"][0]
    assert event["target"] == target["id"] and event["before"]["client_id"] == scene.second.rp.client_id
    assert_problem(api.request("DELETE", f"/users/{scene.user.id}/grants/{target['id']}"), 404, "not-found")


def test_grants_and_consents_page_by_cursor(api: Api, scene: Scene):
    first = api.request("GET", f"/users/{scene.user.id}/grants", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = api.request(
        "GET", f"/users/{scene.user.id}/grants", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]
    assert second["next_cursor"] is None
    page = api.request("GET", f"/users/{scene.user.id}/consents", params={"limit": 1}).json()
    rest = api.request(
        "GET", f"/users/{scene.user.id}/consents", params={"limit": 1, "cursor": page["next_cursor"]}
    ).json()
    assert page["items"][0]["client_id"] < rest["items"][0]["client_id"]
    # a cursor of the grants list is not a cursor of the consents list
    tampered = api.request("GET", f"/users/{scene.user.id}/consents", params={"cursor": first["next_cursor"]})
    assert_problem(tampered, 400, "invalid-cursor")


def test_another_tenant_or_user_cannot_reach_them(api: Api, other_api: Api, scene: Scene, factory: Factory):
    grant = api.request("GET", f"/users/{scene.user.id}/grants").json()["items"][0]
    bob = factory.user(api.tenant, "bob")
    client_id = scene.first.rp.client_id

    assert_problem(other_api.request("GET", f"/users/{scene.user.id}/consents"), 404, "not-found")
    assert_problem(
        other_api.request("DELETE", f"/users/{scene.user.id}/grants/{grant['id']}"), 404, "not-found"
    )
    assert_problem(
        other_api.request("DELETE", f"/users/{scene.user.id}/consents/{client_id}"), 404, "not-found"
    )
    assert_problem(api.request("DELETE", f"/users/{bob.id}/grants/{grant['id']}"), 404, "not-found")
    assert_problem(api.request("DELETE", f"/users/{bob.id}/consents/{client_id}"), 404, "not-found")
    assert_problem(
        api.http.get(other_api.base + f"/users/{scene.user.id}/grants", headers=api.headers()),
        403,
        "forbidden",
    )
    assert_problem(api.request("GET", "/users/nobody/grants"), 404, "not-found")
    assert_problem(
        api.request("GET", f"/users/{scene.user.id}/grants", params={"cursor": "x.y"}), 400, "invalid-cursor"
    )
    assert_problem(
        api.request("GET", f"/users/{scene.user.id}/grants", params={"limit": 0}), 422, "validation"
    )
    # nothing was revoked
    assert _refresh(scene, scene.first) == 200
    assert len(api.request("GET", f"/users/{scene.user.id}/grants").json()["items"]) == 2


def test_deleting_a_client_revokes_the_users_grants_and_consent_for_it(api: Api, scene: Scene):
    first = scene.first

    response = api.request("DELETE", f"/clients/{first.rp.client_id}")

    assert response.status_code == 204, response.text
    assert not _active(scene, first.tokens["access_token"])
    assert _refresh(scene, first) == 401  # the client itself no longer authenticates
    consents = api.request("GET", f"/users/{scene.user.id}/consents").json()["items"]
    assert [c["client_id"] for c in consents] == [scene.second.rp.client_id]
    grants = api.request("GET", f"/users/{scene.user.id}/grants").json()["items"]
    assert {g["client_id"] for g in grants} == {scene.second.rp.client_id}
    assert _refresh(scene, scene.second) == 200
