"""The client credentials grant (RFC 6749 section 4.4) with JWT access tokens (RFC 9068)."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from keystead.errors import InvalidInput
from tests.support.flow import Flow


def _setup(client, factory, **client_kwargs: Any):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    rp = factory.client(tenant, **client_kwargs)
    return tenant, rp, Flow(client, tenant.name)


def _cc(flow, rp, *, basic: bool = True, **extra: str):  # type: ignore[no-untyped-def]
    return flow.token(rp, {"grant_type": "client_credentials", **extra}, basic=basic)


def _error(response, error: str, status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "access_token" not in response.json()
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "post"])
def test_confidential_client_gets_an_access_token(client, factory, clock, basic):
    tenant, rp, flow = _setup(client, factory)

    response = _cc(flow, rp, basic=basic, scope="api")

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body
    assert "id_token" not in body
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    access = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt"
    assert access.claims["sub"] == rp.client_id
    assert access.claims["client_id"] == rp.client_id
    assert access.claims["scope"] == "api"
    assert access.claims["exp"] == int(clock()) + 600
    assert "auth_time" not in access.claims
    assert "amr" not in access.claims


def test_token_introspects_as_active_with_client_subject(client, factory):
    tenant, rp, flow = _setup(client, factory)
    token = _cc(flow, rp, scope="api").json()["access_token"]

    body = client.post(
        f"/t/{tenant.name}/introspect", data={"token": token}, auth=(rp.client_id, rp.secret)
    ).json()

    assert body["active"] is True
    assert body["sub"] == rp.client_id
    assert body["scope"] == "api"


def test_token_can_be_revoked(client, factory):
    tenant, rp, flow = _setup(client, factory)
    token = _cc(flow, rp, scope="api").json()["access_token"]

    assert (
        client.post(
            f"/t/{tenant.name}/revoke", data={"token": token}, auth=(rp.client_id, rp.secret)
        ).status_code
        == 200
    )

    body = client.post(
        f"/t/{tenant.name}/introspect", data={"token": token}, auth=(rp.client_id, rp.secret)
    ).json()
    assert body == {"active": False}


def test_without_scope_the_allowed_non_user_scopes_are_granted(client, factory):
    _tenant, rp, flow = _setup(
        client, factory, scopes=["openid", "profile", "offline_access", "api", "reports"]
    )

    body = _cc(flow, rp).json()

    granted = body["scope"].split()
    assert set(granted) == {"profile", "api", "reports"}
    assert "openid" not in granted
    assert "offline_access" not in granted


def test_scope_subset_is_granted(client, factory):
    _tenant, rp, flow = _setup(client, factory, scopes=["openid", "api", "reports"])

    body = _cc(flow, rp, scope="reports").json()

    assert body["scope"] == "reports"


@pytest.mark.parametrize("scope", ["openid", "offline_access", "admin", "api admin", "openid api"])
def test_scope_not_allowed_is_invalid_scope(client, factory, scope):
    _tenant, rp, flow = _setup(client, factory)

    _error(_cc(flow, rp, scope=scope), "invalid_scope")


def test_public_client_is_refused(client, factory):
    _tenant, rp, flow = _setup(client, factory, client_type="public")
    assert rp.secret is None

    response = _cc(flow, rp)

    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert "access_token" not in response.json()


def test_public_client_cannot_be_registered_for_client_credentials(factory):
    tenant = factory.tenant()
    with pytest.raises(InvalidInput):
        factory.client(tenant, client_type="public", grant_types=["client_credentials"])


def test_confidential_client_without_the_grant_is_unauthorized_client(client, factory):
    _tenant, rp, flow = _setup(client, factory, grant_types=["authorization_code", "refresh_token"])

    _error(_cc(flow, rp), "unauthorized_client")


def test_wrong_secret_is_invalid_client(client, factory):
    tenant, rp, _flow = _setup(client, factory)

    response = client.post(
        f"/t/{tenant.name}/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, "wrong")
    )

    _error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].lower().startswith("basic")


def test_rotated_secret_replaces_the_old_one(client, factory, keystead):
    tenant, rp, _flow = _setup(client, factory)
    rotated = keystead.clients.rotate_secret(tenant.id, rp.client_id)

    old = client.post(
        f"/t/{tenant.name}/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.secret)
    )
    new = client.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "client_credentials"},
        auth=(rp.client_id, rotated.secret),
    )

    _error(old, "invalid_client", 401)
    assert new.status_code == 200, new.text


def test_duplicate_scope_parameter_is_invalid_request(client, factory):
    tenant, rp, _flow = _setup(client, factory)

    response = client.post(
        f"/t/{tenant.name}/token",
        content=b"grant_type=client_credentials&scope=api&scope=api",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.secret),
    )

    _error(response, "invalid_request")


def test_each_request_gets_a_distinct_token(client, factory):
    tenant, rp, flow = _setup(client, factory)

    first = _cc(flow, rp).json()["access_token"]
    second = _cc(flow, rp).json()["access_token"]

    assert first != second
    keys = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    assert jwt.decode(first, keys).claims["jti"] != jwt.decode(second, keys).claims["jti"]
