"""Token introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.flow import Flow


def _setup(client, factory, **client_kwargs: Any):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    user = factory.user(tenant)
    rp = factory.client(tenant, **client_kwargs)
    return tenant, user, rp, Flow(client, tenant.name)


def _tokens(flow, rp, user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = flow.exchange(rp, flow.login(rp, user.username))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _introspect(client, tenant, caller, token: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/t/{tenant.name}/introspect", data={"token": token, **extra}, auth=(caller.client_id, caller.secret)
    )


def _state(client, tenant, caller, token: str, **extra: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = _introspect(client, tenant, caller, token, **extra)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def _revoke(client, tenant, caller, token: str, **extra: str):  # type: ignore[no-untyped-def]
    if caller.secret:
        return client.post(
            f"/t/{tenant.name}/revoke", data={"token": token, **extra}, auth=(caller.client_id, caller.secret)
        )
    return client.post(
        f"/t/{tenant.name}/revoke", data={"token": token, "client_id": caller.client_id, **extra}
    )


def _refresh(flow, rp, token: str):  # type: ignore[no-untyped-def]
    return flow.token(rp, {"grant_type": "refresh_token", "refresh_token": token})


def _userinfo_status(client, tenant, token: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code
    )


# introspection
def test_introspection_requires_client_authentication(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    anonymous = client.post(f"/t/{tenant.name}/introspect", data={"token": tokens["access_token"]})
    wrong = client.post(
        f"/t/{tenant.name}/introspect", data={"token": tokens["access_token"]}, auth=(rp.client_id, "nope")
    )
    id_only = client.post(
        f"/t/{tenant.name}/introspect", data={"token": tokens["access_token"], "client_id": rp.client_id}
    )

    for response in (anonymous, wrong, id_only):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert "active" not in response.json()
        assert "www-authenticate" in response.headers


def test_active_access_token_shows_its_claims(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    resource_server = factory.client(tenant, name="API")

    body = _state(client, tenant, resource_server, tokens["access_token"])

    assert body["active"] is True
    assert body["sub"] == user.id
    assert body["client_id"] == rp.client_id
    assert body["scope"] == "openid profile email"
    assert body["iss"] == f"http://testserver/t/{tenant.name}"
    assert body["exp"] == int(clock()) + 600
    assert body["iat"] == int(clock())
    assert body["token_type"] == "Bearer"
    assert body["jti"]


def test_access_token_hint_and_refresh_token_hint_both_find_an_access_token(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    for hint in ("access_token", "refresh_token", "something_else"):
        assert _state(client, tenant, rp, tokens["access_token"], token_type_hint=hint)["active"] is True


def test_expired_access_token_is_inactive(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    clock.advance(599)
    assert _state(client, tenant, rp, tokens["access_token"])["active"] is True
    clock.advance(2)

    assert _state(client, tenant, rp, tokens["access_token"]) == {"active": False}


def test_garbage_tokens_are_inactive(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)

    for garbage in ("garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 5000):
        assert _state(client, tenant, rp, garbage) == {"active": False}, garbage


def test_tampered_access_token_is_inactive(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    token = _tokens(flow, rp, user)["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if not signature.endswith('AAAA') else 'BBBB'}"

    assert _state(client, tenant, rp, tampered) == {"active": False}


def test_access_token_of_another_tenant_is_inactive(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other_tenant = factory.tenant()
    other_rs = factory.client(other_tenant)

    assert _state(client, other_tenant, other_rs, tokens["access_token"]) == {"active": False}
    assert _state(client, other_tenant, other_rs, tokens["refresh_token"]) == {"active": False}


def test_refresh_token_introspection_by_its_own_client(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    body = _state(client, tenant, rp, tokens["refresh_token"], token_type_hint="refresh_token")

    assert body["active"] is True
    assert body["client_id"] == rp.client_id
    assert body["scope"] == "openid profile email"
    assert body["exp"] == int(clock()) + 30 * 86400
    # without a hint it is found as well
    assert _state(client, tenant, rp, tokens["refresh_token"])["active"] is True


def test_refresh_token_is_inactive_to_other_clients(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other = factory.client(tenant, name="Other")

    assert _state(client, tenant, other, tokens["refresh_token"], token_type_hint="refresh_token") == {
        "active": False
    }


def test_rotated_refresh_token_is_inactive(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    new = _refresh(flow, rp, tokens["refresh_token"]).json()

    assert _state(client, tenant, rp, tokens["refresh_token"]) == {"active": False}
    assert _state(client, tenant, rp, new["refresh_token"])["active"] is True


def test_public_client_may_not_introspect(client, factory):
    tenant, user, rp, flow = _setup(client, factory, client_type="public")
    tokens = _tokens(flow, rp, user)

    response = client.post(
        f"/t/{tenant.name}/introspect", data={"token": tokens["access_token"], "client_id": rp.client_id}
    )

    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert "active" not in response.json()
    assert "sub" not in response.json()


def test_introspection_needs_the_token_parameter(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)

    response = client.post(f"/t/{tenant.name}/introspect", data={}, auth=(rp.client_id, rp.secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_introspection_refuses_duplicate_token_and_json(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    token = _tokens(flow, rp, user)["access_token"]

    duplicate = client.post(
        f"/t/{tenant.name}/introspect",
        content=f"token={token}&token={token}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.secret),
    )
    as_json = client.post(
        f"/t/{tenant.name}/introspect", json={"token": token}, auth=(rp.client_id, rp.secret)
    )

    for response in (duplicate, as_json):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"


def test_access_token_of_deleted_user_is_inactive(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.delete(tenant.id, user.id)

    assert _state(client, tenant, rp, tokens["access_token"]) == {"active": False}
    assert _state(client, tenant, rp, tokens["refresh_token"]) == {"active": False}
    assert _userinfo_status(client, tenant, tokens["access_token"]) == 401


def test_access_token_of_disabled_user_is_inactive(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.set_status(tenant.id, user.id, "disabled")

    assert _state(client, tenant, rp, tokens["access_token"]) == {"active": False}
    assert _state(client, tenant, rp, tokens["refresh_token"]) == {"active": False}


# revocation
def test_revoking_a_refresh_token_revokes_its_family(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    rotated = _refresh(flow, rp, tokens["refresh_token"]).json()

    response = _revoke(client, tenant, rp, rotated["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert _refresh(flow, rp, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    for access_token in (tokens["access_token"], rotated["access_token"]):
        assert _state(client, tenant, rp, access_token) == {"active": False}
        assert _userinfo_status(client, tenant, access_token) == 401


def test_revoking_an_access_token(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    assert _userinfo_status(client, tenant, tokens["access_token"]) == 200

    response = _revoke(client, tenant, rp, tokens["access_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert _state(client, tenant, rp, tokens["access_token"]) == {"active": False}
    assert _userinfo_status(client, tenant, tokens["access_token"]) == 401
    # only that access token: the refresh token still works and gives a fresh access token
    refreshed = _refresh(flow, rp, tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert _userinfo_status(client, tenant, refreshed.json()["access_token"]) == 200


def test_revoking_twice_is_fine(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    assert _revoke(client, tenant, rp, tokens["refresh_token"]).status_code == 200
    assert _revoke(client, tenant, rp, tokens["refresh_token"]).status_code == 200
    assert _state(client, tenant, rp, tokens["refresh_token"]) == {"active": False}


@pytest.mark.parametrize(
    "token", ["unknown-token", "a.b.c", "Qm9ndXMtcmFuZG9tLWxvb2tpbmctcmVmcmVzaC10b2tlbi0wMDA"]
)
def test_revoking_an_unknown_token_is_200(client, factory, token):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    response = _revoke(client, tenant, rp, token)

    assert response.status_code == 200
    assert response.content == b""
    assert _state(client, tenant, rp, tokens["access_token"])["active"] is True


@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
def test_revoking_another_clients_token_is_refused(client, factory, kind):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other = factory.client(tenant, name="Other")

    response = _revoke(client, tenant, other, tokens[kind], token_type_hint=kind)

    assert response.status_code in (400, 401, 403)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client", "invalid_grant")
    assert _state(client, tenant, rp, tokens["access_token"])["active"] is True
    assert _state(client, tenant, rp, tokens["refresh_token"])["active"] is True
    assert _refresh(flow, rp, tokens["refresh_token"]).status_code == 200


def test_revoking_a_token_of_another_tenant_changes_nothing(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other_tenant = factory.tenant()
    twin = factory.client(other_tenant, client_id=rp.client_id)

    for kind in ("refresh_token", "access_token"):
        response = _revoke(client, other_tenant, twin, tokens[kind])
        assert response.status_code == 200  # unknown there
    assert _state(client, tenant, rp, tokens["access_token"])["active"] is True
    assert _state(client, tenant, rp, tokens["refresh_token"])["active"] is True


def test_revocation_requires_client_authentication(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)

    anonymous = client.post(f"/t/{tenant.name}/revoke", data={"token": tokens["refresh_token"]})
    wrong = client.post(
        f"/t/{tenant.name}/revoke", data={"token": tokens["refresh_token"]}, auth=(rp.client_id, "bad")
    )

    for response in (anonymous, wrong):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    assert _state(client, tenant, rp, tokens["refresh_token"])["active"] is True


def test_revocation_needs_the_token_parameter(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)

    response = client.post(f"/t/{tenant.name}/revoke", data={}, auth=(rp.client_id, rp.secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_public_client_revokes_its_own_refresh_token(client, factory):
    tenant, user, rp, flow = _setup(client, factory, client_type="public")
    tokens = _tokens(flow, rp, user)

    response = _revoke(client, tenant, rp, tokens["refresh_token"])

    assert response.status_code == 200
    assert _refresh(flow, rp, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _userinfo_status(client, tenant, tokens["access_token"]) == 401


def test_revocation_while_the_user_is_disabled_still_revokes(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    keystead.users.set_status(tenant.id, user.id, "disabled")

    assert _revoke(client, tenant, rp, tokens["refresh_token"]).status_code == 200
    keystead.users.set_status(tenant.id, user.id, "active")

    assert _refresh(flow, rp, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _state(client, tenant, rp, tokens["access_token"]) == {"active": False}
