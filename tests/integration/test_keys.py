"""Signing keys: the published JWK Set (RFC 7517) and rotation with an overlap window."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from keystead.adapters.sql import tables
from tests.support.flow import Flow

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


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


def _jwks(client, tenant) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"/t/{tenant.name}/jwks")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _kids(client, tenant) -> set[str]:  # type: ignore[no-untyped-def]
    return {k["kid"] for k in _jwks(client, tenant)["keys"]}


def _header(token: str) -> dict[str, Any]:
    segment = token.split(".", maxsplit=1)[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


def _active(client, tenant, rp, token: str) -> bool:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/t/{tenant.name}/introspect", data={"token": token}, auth=(rp.client_id, rp.secret)
    )
    return bool(response.json()["active"])


def test_jwks_publishes_public_keys_only(client, factory):
    tenant = factory.tenant()
    factory.client(tenant, id_token_alg="RS256")  # the RS256 key is made for the first RS256 client

    response = client.get(f"/t/{tenant.name}/jwks")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    assert "public" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert len(keys) >= 2
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids)), "kids must be distinct"
    assert {k["alg"] for k in keys} >= {"ES256", "RS256"}
    for key in keys:
        assert not (PRIVATE_MEMBERS & set(key)), f"private member published: {sorted(set(key))}"
        assert key["use"] == "sig"
        assert key["kty"] == {"ES256": "EC", "RS256": "RSA"}[key["alg"]]
    KeySet.import_key_set(response.json())  # parses as a JWK Set


def test_rs256_key_exists_only_once_a_client_needs_it(client, factory):
    tenant = factory.tenant()
    algs = {k["alg"] for k in client.get(f"/t/{tenant.name}/jwks").json()["keys"]}
    assert algs == {"ES256"}

    factory.client(tenant, id_token_alg="RS256")

    algs = {k["alg"] for k in client.get(f"/t/{tenant.name}/jwks").json()["keys"]}
    assert algs == {"ES256", "RS256"}


def test_discovery_points_at_the_jwks(client, factory):
    tenant = factory.tenant()

    metadata = client.get(f"/t/{tenant.name}/.well-known/openid-configuration").json()

    assert metadata["jwks_uri"] == f"http://testserver/t/{tenant.name}/jwks"


def test_tenants_have_their_own_keys(client, factory):
    one = factory.tenant()
    two = factory.tenant()

    assert _kids(client, one).isdisjoint(_kids(client, two))


def test_jwks_of_unknown_tenant_is_404(client):
    assert client.get("/t/no-such-tenant-kk/jwks").status_code == 404


def test_rotation_signs_new_tokens_with_the_new_key_and_keeps_the_old_one(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    rs256 = factory.client(tenant, name="RSA app", id_token_alg="RS256")
    old = _tokens(flow, rp, user)
    old_rsa = _tokens(flow, rs256, user)
    old_kids = _kids(client, tenant)
    old_access_kid = _header(old["access_token"])["kid"]
    old_rsa_kid = _header(old_rsa["id_token"])["kid"]
    assert {old_access_kid, old_rsa_kid} <= old_kids

    new_keys = keystead.keys.rotate(tenant.id)

    new_kids = {k.kid for k in new_keys}
    assert new_kids.isdisjoint(old_kids)
    published = _jwks(client, tenant)
    kids = [k["kid"] for k in published["keys"]]
    assert len(kids) == len(set(kids))
    assert old_kids | new_kids <= set(kids)
    for key in published["keys"]:
        assert not (PRIVATE_MEMBERS & set(key))
    # new tokens: new kids
    new = _tokens(flow, rp, user)
    new_rsa = _tokens(flow, rs256, user)
    assert _header(new["access_token"])["kid"] in new_kids
    assert _header(new["id_token"])["kid"] in new_kids
    assert _header(new_rsa["id_token"])["kid"] in new_kids
    assert _header(new_rsa["id_token"])["alg"] == "RS256"
    # old tokens still verify against the published set, and are still active
    keyset = KeySet.import_key_set(published)
    jwt.decode(old["access_token"], keyset, algorithms=["ES256"])
    jwt.decode(old["id_token"], keyset, algorithms=["ES256"])
    jwt.decode(old_rsa["id_token"], keyset, algorithms=["RS256"])
    assert _active(client, tenant, rp, old["access_token"])
    assert _active(client, tenant, rp, new["access_token"])
    info = client.get(
        f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {old['access_token']}"}
    )
    assert info.status_code == 200
    # refresh tokens are not tied to a signing key
    refreshed = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": old["refresh_token"]})
    assert refreshed.status_code == 200
    assert _header(refreshed.json()["access_token"])["kid"] in new_kids


def test_retired_key_leaves_the_jwks_after_the_overlap(client, factory, keystead, settings, clock):
    tenant, user, rp, flow = _setup(client, factory)
    old = _tokens(flow, rp, user)
    first_kids = _kids(client, tenant)
    second_kids = {k.kid for k in keystead.keys.rotate(tenant.id)}
    overlap = settings.tokens.max_token_ttl + settings.tokens.clock_skew

    clock.advance(overlap - 10)
    assert first_kids <= _kids(client, tenant)  # still inside the window

    clock.advance(11)
    third_kids = {k.kid for k in keystead.keys.rotate(tenant.id)}

    published = _kids(client, tenant)
    assert first_kids.isdisjoint(published)
    assert second_kids <= published  # the previous key now has its own overlap
    assert third_kids <= published
    keyset = KeySet.import_key_set(_jwks(client, tenant))
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(old["id_token"], keyset, algorithms=["ES256"])
    assert not _active(client, tenant, rp, old["access_token"])
    new = _tokens(flow, rp, user)
    assert _header(new["access_token"])["kid"] in third_kids
    assert _active(client, tenant, rp, new["access_token"])


def test_retired_key_does_not_sign(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    before = _header(_tokens(flow, rp, user)["access_token"])["kid"]
    keystead.keys.rotate(tenant.id)

    for _ in range(3):
        assert _header(_tokens(flow, rp, user)["access_token"])["kid"] != before


def test_rotation_in_one_tenant_does_not_touch_another(client, factory, keystead):
    tenant, _user, _rp, _flow = _setup(client, factory)
    bystander = factory.tenant()
    bystander_kids = _kids(client, bystander)

    keystead.keys.rotate(tenant.id)

    assert _kids(client, bystander) == bystander_kids


def test_tokens_do_not_verify_with_another_tenants_jwks(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    tokens = _tokens(flow, rp, user)
    other = factory.tenant()
    keyset = KeySet.import_key_set(_jwks(client, other))

    with pytest.raises((JoseError, ValueError)):
        jwt.decode(tokens["access_token"], keyset, algorithms=["ES256"])


def test_private_keys_are_encrypted_at_rest(keystead, factory):
    tenant = factory.tenant()
    with keystead.storage.engine.connect() as conn:
        rows = (
            conn.execute(select(tables.signing_keys).where(tables.signing_keys.c.tenant_id == tenant.id))
            .mappings()
            .all()
        )

    assert rows
    for row in rows:
        blob = bytes(row["encrypted_jwk"])
        assert b'"d"' not in blob
        assert b"kty" not in blob
