"""The UserInfo endpoint (OIDC Core section 5.3) with bearer token usage (RFC 6750 section 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.flow import Flow

ADDRESS = {"street_address": "1 Main St", "locality": "Springfield", "country": "US"}


def _setup(client, factory, **client_kwargs: Any):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    user = factory.user(
        tenant,
        name="Una Info",
        given_name="Una",
        family_name="Info",
        locale="en-GB",
        phone_number="+15550001111",
        address=ADDRESS,
    )
    rp = factory.client(tenant, **client_kwargs)
    return tenant, user, rp, Flow(client, tenant.name)


def _tokens(flow, rp, user, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = flow.exchange(rp, flow.login(rp, user.username, **extra))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _get(client, tenant, token: str):  # type: ignore[no-untyped-def]
    return client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {token}"})


def _assert_bearer_error(response, status: int, error: str | None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'realm="keystead"' in challenge
    if error is not None:
        assert f'error="{error}"' in challenge
        assert response.json()["error"] == error
    assert "sub" not in response.json()


def test_get_with_authorization_header(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = _get(client, tenant, tokens["access_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["sub"] == user.id
    assert body["name"] == "Una Info"
    assert body["email"] == user.email


def test_bearer_scheme_is_case_insensitive(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"bearer {tokens['access_token']}"}
    )

    assert response.status_code == 200
    assert response.json()["sub"] == user.id


def test_post_with_authorization_header(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.post(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["sub"] == user.id


def test_post_with_form_body_access_token(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.post(f"/t/{tenant.name}/userinfo", data={"access_token": tokens["access_token"]})

    assert response.status_code == 200, response.text
    assert response.json()["sub"] == user.id


def test_token_in_header_and_body_at_once_is_refused(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.post(
        f"/t/{tenant.name}/userinfo",
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_in_query_string_is_not_accepted(client, factory):
    """RFC 6750 section 2.3 (URI query parameter) is not supported: tokens leak into logs."""
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.get(f"/t/{tenant.name}/userinfo?access_token={tokens['access_token']}")

    _assert_bearer_error(response, 401, None)


def test_missing_token_is_401_with_bearer_challenge(client, factory):
    tenant, _user, _rp, _flow = _setup(client, factory)

    for response in (
        client.get(f"/t/{tenant.name}/userinfo"),
        client.post(f"/t/{tenant.name}/userinfo"),
        client.post(f"/t/{tenant.name}/userinfo", data={}),
    ):
        _assert_bearer_error(response, 401, None)
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"],
    ids=["basic", "bearer-no-value", "bearer-blank", "other-scheme"],
)
def test_malformed_authorization_header_is_401(client, factory, authorization):
    tenant, _user, _rp, _flow = _setup(client, factory)

    response = client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": authorization})

    _assert_bearer_error(response, 401, None)


def test_invalid_token_is_401_invalid_token(client, factory):
    tenant, _user, _rp, _flow = _setup(client, factory)

    for token in ("garbage", "a.b.c"):
        _assert_bearer_error(_get(client, tenant, token), 401, "invalid_token")


def test_expired_token_is_401(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    clock.advance(601)

    _assert_bearer_error(_get(client, tenant, tokens["access_token"]), 401, "invalid_token")


def test_token_of_another_tenant_is_401(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other = factory.tenant()

    _assert_bearer_error(_get(client, other, tokens["access_token"]), 401, "invalid_token")


def test_id_token_is_not_an_access_token(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    _assert_bearer_error(_get(client, tenant, tokens["id_token"]), 401, "invalid_token")


def test_disabled_user_token_is_401(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.set_status(tenant.id, user.id, "disabled")

    _assert_bearer_error(_get(client, tenant, tokens["access_token"]), 401, "invalid_token")


def test_client_credentials_token_is_403_insufficient_scope(client, factory):
    tenant, _user, rp, flow = _setup(client, factory)
    token = flow.token(rp, {"grant_type": "client_credentials", "scope": "api"}).json()["access_token"]

    response = _get(client, tenant, token)

    _assert_bearer_error(response, 403, "insufficient_scope")


def test_token_without_openid_scope_is_403(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user, scope="email api")

    _assert_bearer_error(_get(client, tenant, tokens["access_token"]), 403, "insufficient_scope")


PROFILE = {"name", "given_name", "family_name", "preferred_username", "locale", "updated_at"}
EMAIL = {"email", "email_verified"}
PHONE = {"phone_number", "phone_number_verified"}
ADDR = {"address"}
ALL = PROFILE | EMAIL | PHONE | ADDR


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", set()),
        ("openid profile", PROFILE),
        ("openid email", EMAIL),
        ("openid phone", PHONE),
        ("openid address", ADDR),
        ("openid profile email phone address", ALL),
    ],
    ids=["openid", "profile", "email", "phone", "address", "all"],
)
def test_claims_are_released_by_scope(client, factory, scope, expected):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user, scope=scope)

    body = _get(client, tenant, tokens["access_token"]).json()

    assert set(body) == {"sub"} | expected
    assert body["sub"] == user.id
    if "address" in expected:
        assert body["address"] == ADDRESS
    if "phone_number" in expected:
        assert body["phone_number"] == "+15550001111"
        assert body["phone_number_verified"] is False
    if "email" in expected:
        assert body["email"] == user.email
        assert body["email_verified"] is False
    if "name" in expected:
        assert body["given_name"] == "Una"
        assert body["preferred_username"] == user.username


def test_claims_request_parameter_adds_a_userinfo_claim(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    claims = {"userinfo": {"phone_number": {"essential": True}, "address": None, "unknown_claim": None}}
    tokens = _tokens(flow, rp, user, scope="openid email", claims=json.dumps(claims))

    body = _get(client, tenant, tokens["access_token"]).json()

    assert body["phone_number"] == "+15550001111"
    assert body["address"] == ADDRESS
    assert body["email"] == user.email
    assert "unknown_claim" not in body
    assert "name" not in body
    assert "phone_number_verified" not in body
    # the userinfo member does not put the claims in the ID token
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    id_claims = jwt.decode(tokens["id_token"], keys).claims
    assert "phone_number" not in id_claims


def test_claims_request_id_token_member_does_not_leak_into_userinfo(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    claims = {"id_token": {"phone_number": None}}
    tokens = _tokens(flow, rp, user, scope="openid", claims=json.dumps(claims))

    body = _get(client, tenant, tokens["access_token"]).json()
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    id_claims = jwt.decode(tokens["id_token"], keys).claims

    assert body == {"sub": user.id}
    assert id_claims["phone_number"] == "+15550001111"


def test_malformed_claims_parameter_is_an_error_redirect(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory)
    params = flow.authorize_params(rp, claims="{not json")

    result = flow.follow(flow.start(params))

    assert result.params["error"] == "invalid_request"
    assert "code" not in result.params


def test_userinfo_reflects_profile_updates(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.update(tenant.id, user.id, name="Una Renamed")

    assert _get(client, tenant, tokens["access_token"]).json()["name"] == "Una Renamed"


def test_userinfo_after_refresh_with_narrowed_scope(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user, scope="openid profile email")
    narrowed = flow.token(
        rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "openid"}
    ).json()

    assert _get(client, tenant, narrowed["access_token"]).json() == {"sub": user.id}
