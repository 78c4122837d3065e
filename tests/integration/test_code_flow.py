"""The authorization code flow end to end through the hosted pages (OIDC Core section 3.1)."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.factories import REDIRECT_URI
from tests.support.flow import Flow


def test_code_flow_issues_valid_tokens(client, factory, keystead):
    tenant = factory.tenant()
    user = factory.user(tenant, "alice", name="Alice Liddell")
    rp = factory.client(tenant)
    flow = Flow(client, tenant.name)

    result = flow.login(rp, "alice")

    assert result.location.startswith(REDIRECT_URI)
    assert result.pages == ["login", "consent"]
    assert result.params["iss"] == f"http://testserver/t/{tenant.name}"
    response = flow.exchange(rp, result)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(body)
    jwks = KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())
    id_token = jwt.decode(body["id_token"], jwks, algorithms=["ES256"])
    assert id_token.claims["sub"] == user.id
    assert id_token.claims["aud"] == rp.client_id
    assert id_token.claims["iss"] == f"http://testserver/t/{tenant.name}"
    assert {"at_hash", "auth_time", "acr", "amr", "sid", "nonce"} <= set(id_token.claims)
    access = jwt.decode(body["access_token"], jwks, algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt"
    assert "jti" in access.claims

    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json()["sub"] == user.id
    assert info.json()["email"] == "alice@example.com"
    assert info.json()["name"] == "Alice Liddell"


def test_second_authorization_uses_sso_session_and_remembered_consent(client, factory):
    tenant = factory.tenant()
    factory.user(tenant, "bob")
    rp = factory.client(tenant)
    flow = Flow(client, tenant.name)
    flow.login(rp, "bob")

    again = flow.login(rp, None)  # type: ignore[arg-type]

    assert again.pages == []
    assert "code" in again.params
