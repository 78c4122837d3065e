"""Refresh tokens (RFC 6749 section 6): rotation, reuse detection that revokes the family
(OAuth 2.0 Security BCP, RFC 9700 section 4.14.2), client binding, scope narrowing, expiry."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.flow import Flow


def _setup(client, factory, **client_kwargs: Any):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    user = factory.user(tenant, name="Rita Refresh", phone_number="+15551234567")
    rp = factory.client(tenant, **client_kwargs)
    return tenant, user, rp, Flow(client, tenant.name)


def _tokens(flow, rp, user, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = flow.exchange(rp, flow.login(rp, user.username, **extra))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "refresh_token" in body
    return body


def _refresh(flow, rp, token: str, **extra: str):  # type: ignore[no-untyped-def]
    return flow.token(rp, {"grant_type": "refresh_token", "refresh_token": token, **extra})


def _active(client, tenant, rp, token: str) -> bool:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/t/{tenant.name}/introspect", data={"token": token}, auth=(rp.client_id, rp.secret)
    )
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def _error(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "access_token" not in body
    return str(body["error"])


def test_refresh_rotates_the_refresh_token(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    first = _tokens(flow, rp, user)
    clock.advance(10)

    response = _refresh(flow, rp, first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token_type"] == "Bearer"
    assert second["scope"] == first["scope"]
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    access = jwt.decode(second["access_token"], keys, algorithms=["ES256"])
    assert access.claims["sub"] == user.id
    assert access.claims["iat"] == int(clock())
    id_token = jwt.decode(second["id_token"], keys, algorithms=["ES256"])
    assert id_token.claims["sub"] == user.id
    assert "nonce" not in id_token.claims
    # the new refresh token works in turn, and is active at introspection
    assert _active(client, tenant, rp, second["refresh_token"])
    assert not _active(client, tenant, rp, first["refresh_token"])
    third = _refresh(flow, rp, second["refresh_token"])
    assert third.status_code == 200, third.text


def test_reuse_of_a_rotated_refresh_token_revokes_the_family(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    first = _tokens(flow, rp, user)
    second = _refresh(flow, rp, first["refresh_token"]).json()
    assert _active(client, tenant, rp, second["access_token"])

    reuse = _refresh(flow, rp, first["refresh_token"])

    assert _error(reuse) == "invalid_grant"
    # the newest refresh token of the family is dead too
    assert _error(_refresh(flow, rp, second["refresh_token"])) == "invalid_grant"
    assert not _active(client, tenant, rp, second["refresh_token"])
    for access_token in (first["access_token"], second["access_token"]):
        assert not _active(client, tenant, rp, access_token)
        info = client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {access_token}"})
        assert info.status_code == 401


def test_family_revocation_spares_other_grants(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    stolen = _tokens(flow, rp, user)
    separate = _tokens(flow, rp, user)
    _refresh(flow, rp, stolen["refresh_token"])

    assert _error(_refresh(flow, rp, stolen["refresh_token"])) == "invalid_grant"

    assert _active(client, tenant, rp, separate["access_token"])
    assert _refresh(flow, rp, separate["refresh_token"]).status_code == 200


def test_refresh_token_is_bound_to_its_client(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    other = factory.client(tenant, name="Other")
    tokens = _tokens(flow, rp, user)

    response = _refresh(flow, other, tokens["refresh_token"])

    assert _error(response) == "invalid_grant"
    # the legitimate client is not locked out by another client's attempt
    assert _refresh(flow, rp, tokens["refresh_token"]).status_code == 200


def test_refresh_token_does_not_cross_tenants(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    other_tenant = factory.tenant()
    twin = factory.client(other_tenant, client_id=rp.client_id)
    tokens = _tokens(flow, rp, user)

    response = _refresh(Flow(client, other_tenant.name), twin, tokens["refresh_token"])

    assert _error(response) == "invalid_grant"


def test_unknown_refresh_token(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory)

    assert _error(_refresh(flow, rp, secrets.token_urlsafe(32))) == "invalid_grant"


def test_missing_refresh_token_parameter(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory)

    assert _error(flow.token(rp, {"grant_type": "refresh_token"})) == "invalid_request"


def test_duplicate_refresh_token_parameter(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    value = tokens["refresh_token"]

    response = client.post(
        f"/t/{tenant.name}/token",
        content=f"grant_type=refresh_token&refresh_token={value}&refresh_token={value}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.secret),
    )

    assert _error(response) == "invalid_request"
    assert _refresh(flow, rp, value).status_code == 200


def test_refresh_requires_client_authentication(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = client.post(
        f"/t/{tenant.name}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": rp.client_id,
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # the token was not consumed by the unauthenticated attempt
    assert _refresh(flow, rp, tokens["refresh_token"]).status_code == 200


def test_public_client_refreshes_with_rotation(client, factory):
    _tenant, user, rp, flow = _setup(client, factory, client_type="public")
    tokens = _tokens(flow, rp, user)

    second = _refresh(flow, rp, tokens["refresh_token"])

    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != tokens["refresh_token"]
    assert _error(_refresh(flow, rp, tokens["refresh_token"])) == "invalid_grant"
    assert _error(_refresh(flow, rp, second.json()["refresh_token"])) == "invalid_grant"


def test_scope_narrowing_is_allowed(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user, scope="openid profile email phone")

    narrowed = _refresh(flow, rp, tokens["refresh_token"], scope="openid email")

    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    assert body["scope"] == "openid email"
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    assert jwt.decode(body["access_token"], keys).claims["scope"] == "openid email"
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert "email" in info
    assert "name" not in info
    assert "phone_number" not in info
    # RFC 6749 section 6: the refresh token keeps the original grant's scope
    full = _refresh(flow, rp, body["refresh_token"])
    assert full.status_code == 200, full.text
    assert full.json()["scope"] == "openid profile email phone"


def test_scope_narrowing_without_openid_gives_no_id_token(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user, scope="openid email api")

    body = _refresh(flow, rp, tokens["refresh_token"], scope="api").json()

    assert body["scope"] == "api"
    assert "id_token" not in body


@pytest.mark.parametrize("scope", ["openid profile email phone", "api", "openid admin"])
def test_scope_widening_is_invalid_scope(client, factory, scope):
    _tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)  # openid profile email

    response = _refresh(flow, rp, tokens["refresh_token"], scope=scope)

    assert _error(response) == "invalid_scope"
    # the refused request did not use up the refresh token
    assert _refresh(flow, rp, tokens["refresh_token"]).status_code == 200


def test_expired_refresh_token(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory, refresh_token_ttl=120)
    tokens = _tokens(flow, rp, user)
    clock.advance(121)

    assert _error(_refresh(flow, rp, tokens["refresh_token"])) == "invalid_grant"
    assert not _active(client, tenant, rp, tokens["refresh_token"])


def test_rotation_does_not_extend_the_refresh_lifetime(client, factory, clock):
    _tenant, user, rp, flow = _setup(client, factory, refresh_token_ttl=120)
    tokens = _tokens(flow, rp, user)
    clock.advance(100)
    rotated = _refresh(flow, rp, tokens["refresh_token"])
    assert rotated.status_code == 200
    clock.advance(21)  # 121 s after the original grant

    assert _error(_refresh(flow, rp, rotated.json()["refresh_token"])) == "invalid_grant"


def test_refresh_token_valid_just_before_expiry(client, factory, clock):
    _tenant, user, rp, flow = _setup(client, factory, refresh_token_ttl=120)
    tokens = _tokens(flow, rp, user)
    clock.advance(119)

    assert _refresh(flow, rp, tokens["refresh_token"]).status_code == 200


def test_disabled_user_cannot_refresh(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.set_status(tenant.id, user.id, "disabled")

    assert _error(_refresh(flow, rp, tokens["refresh_token"])) == "invalid_grant"
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401


def test_deleted_user_cannot_refresh(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.delete(tenant.id, user.id)

    assert _error(_refresh(flow, rp, tokens["refresh_token"])) == "invalid_grant"


def test_client_without_refresh_grant_gets_no_refresh_token(client, factory):
    _tenant, user, rp, flow = _setup(client, factory, grant_types=["authorization_code"])
    body = flow.exchange(rp, flow.login(rp, user.username)).json()

    assert "access_token" in body
    assert "refresh_token" not in body
    response = _refresh(flow, rp, secrets.token_urlsafe(32))
    assert _error(response) == "unauthorized_client"
