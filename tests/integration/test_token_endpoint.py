"""The token endpoint (RFC 6749 sections 3.2, 4.1.3 and 5; RFC 7636; OIDC Core section 3.1.3).

Code exchange, replay detection, redirect URI and PKCE binding, client authentication, strict
request parsing and the ID token's claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.support.factories import REDIRECT_URI
from tests.support.flow import Flow, pkce_pair

FORM = "application/x-www-form-urlencoded"


# helpers (local to this file)
def _setup(client, factory, **client_kwargs: Any):  # type: ignore[no-untyped-def]
    tenant = factory.tenant()
    user = factory.user(tenant)
    rp = factory.client(tenant, **client_kwargs)
    return tenant, user, rp, Flow(client, tenant.name)


def _jwks(client, tenant) -> KeySet:  # type: ignore[no-untyped-def]
    return KeySet.import_key_set(client.get(f"/t/{tenant.name}/jwks").json())


def _introspect(client, tenant, rp, token: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/t/{tenant.name}/introspect", data={"token": token}, auth=(rp.client_id, rp.secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _userinfo(client, tenant, token: str):  # type: ignore[no-untyped-def]
    return client.get(f"/t/{tenant.name}/userinfo", headers={"Authorization": f"Bearer {token}"})


def _raw(client, tenant, body: bytes, *, auth=None, content_type: str = FORM):  # type: ignore[no-untyped-def]
    return client.post(
        f"/t/{tenant.name}/token", content=body, headers={"content-type": content_type}, auth=auth
    )


def _assert_error(response, error: str, status: int = 400) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    assert response.headers["cache-control"] == "no-store"
    return body


def _at_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


# the happy path
def test_code_exchange_returns_bearer_tokens(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = flow.exchange(rp, result)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"].split() == ["openid", "profile", "email"]
    assert {"access_token", "refresh_token", "id_token"} <= set(body)
    access = jwt.decode(body["access_token"], _jwks(client, tenant), algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt"
    assert access.claims["sub"] == user.id
    assert access.claims["client_id"] == rp.client_id
    assert access.claims["iss"] == f"http://testserver/t/{tenant.name}"
    assert access.claims["exp"] == int(clock()) + 600
    assert access.claims["scope"] == "openid profile email"
    assert _userinfo(client, tenant, body["access_token"]).json()["sub"] == user.id


def test_unknown_code_is_invalid_grant(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory)
    response = flow.token(
        rp,
        {"grant_type": "authorization_code", "code": secrets.token_urlsafe(32), "redirect_uri": REDIRECT_URI},
    )
    _assert_error(response, "invalid_grant")


# single use
def test_code_replay_is_refused_and_revokes_the_first_tokens(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    first = flow.exchange(rp, result).json()
    assert _introspect(client, tenant, rp, first["access_token"])["active"] is True

    replay = flow.exchange(rp, result)

    _assert_error(replay, "invalid_grant")
    assert _introspect(client, tenant, rp, first["access_token"]) == {"active": False}
    assert _introspect(client, tenant, rp, first["refresh_token"]) == {"active": False}
    info = _userinfo(client, tenant, first["access_token"])
    assert info.status_code == 401
    assert info.headers["www-authenticate"].startswith("Bearer")
    refreshed = flow.token(rp, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    _assert_error(refreshed, "invalid_grant")


def test_code_replay_does_not_revoke_other_grants_of_the_same_user(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    first = flow.login(rp, user.username)
    other = flow.exchange(rp, flow.login(rp, None)).json()  # second code, same session
    flow.exchange(rp, first)

    _assert_error(flow.exchange(rp, first), "invalid_grant")

    assert _introspect(client, tenant, rp, other["access_token"])["active"] is True


# redirect URI binding
def test_wrong_redirect_uri_is_invalid_grant(client, factory):
    _tenant, user, rp, flow = _setup(
        client, factory, redirect_uris=[REDIRECT_URI, "https://rp.example.com/other"]
    )
    result = flow.login(rp, user.username)

    response = flow.exchange(rp, result, redirect_uri="https://rp.example.com/other")

    _assert_error(response, "invalid_grant")


def test_redirect_uri_must_match_exactly(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = flow.exchange(rp, result, redirect_uri=REDIRECT_URI + "/")

    _assert_error(response, "invalid_grant")


def test_missing_redirect_uri_is_refused(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = flow.exchange(rp, result, redirect_uri=None)

    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")
    assert "access_token" not in response.json()


# client binding
def test_code_issued_to_another_client_is_refused(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    thief = factory.client(tenant, name="Other App")
    result = flow.login(rp, user.username)

    response = flow.exchange(thief, result)

    _assert_error(response, "invalid_grant")


def test_code_from_another_tenant_is_refused(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    other_tenant = factory.tenant()
    # same client_id in the other tenant: only the tenant differs
    twin = factory.client(other_tenant, client_id=rp.client_id)
    result = flow.login(rp, user.username)

    response = Flow(client, other_tenant.name).exchange(twin, result)

    _assert_error(response, "invalid_grant")


# expiry
def test_code_expires_after_sixty_seconds(client, factory, clock):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    clock.advance(61)

    response = flow.exchange(rp, result)

    _assert_error(response, "invalid_grant")


def test_code_still_valid_just_before_expiry(client, factory, clock):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    clock.advance(59)

    assert flow.exchange(rp, result).status_code == 200


# PKCE (RFC 7636 section 4.6)
@pytest.fixture
def public_setup(client, factory):  # type: ignore[no-untyped-def]
    return _setup(client, factory, client_type="public")


def test_public_client_exchanges_code_with_pkce(client, public_setup):
    _tenant, user, rp, flow = public_setup
    assert rp.secret is None
    result = flow.login(rp, user.username)

    response = flow.exchange(rp, result)

    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json()


def test_pkce_missing_verifier(public_setup):
    _tenant, user, rp, flow = public_setup
    result = flow.login(rp, user.username)

    _assert_error(flow.exchange(rp, result, code_verifier=None), "invalid_grant")


def test_pkce_wrong_verifier(public_setup):
    _tenant, user, rp, flow = public_setup
    result = flow.login(rp, user.username)
    other_verifier, _ = pkce_pair()

    _assert_error(flow.exchange(rp, result, code_verifier=other_verifier), "invalid_grant")


@pytest.mark.parametrize(
    "verifier",
    [
        "short",
        "a" * 42,
        "a" * 129,
        "a" * 42 + "!",
        "a" * 42 + " ",
    ],
    ids=["short", "42-chars", "129-chars", "bad-char", "space"],
)
def test_pkce_malformed_verifier(public_setup, verifier):
    _tenant, user, rp, flow = public_setup
    result = flow.login(rp, user.username)

    _assert_error(flow.exchange(rp, result, code_verifier=verifier), "invalid_grant")


def test_pkce_verifier_sent_without_challenge_is_refused(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username, pkce=False)
    verifier, _ = pkce_pair()

    _assert_error(flow.exchange(rp, result, code_verifier=verifier), "invalid_grant")


def test_confidential_client_with_pkce_must_send_verifier(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)  # with a challenge

    _assert_error(flow.exchange(rp, result, code_verifier=None), "invalid_grant")


def test_public_client_without_pkce_gets_error_redirect(client, public_setup):
    tenant, _user, rp, flow = public_setup
    params = flow.authorize_params(rp, state="st-123")

    response = flow.start(params)

    assert response.status_code in (302, 303)
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    result = flow.follow(response)
    assert result.params["error"] == "invalid_request"
    assert result.params["state"] == "st-123"
    assert result.params["iss"] == f"http://testserver/t/{tenant.name}"
    assert "code" not in result.params


@pytest.mark.parametrize("client_type", ["public", "confidential"])
def test_pkce_plain_method_is_refused(client, factory, client_type):
    _tenant, _user, rp, flow = _setup(client, factory, client_type=client_type)
    verifier = secrets.token_urlsafe(32)  # 43 characters: a well-formed plain "challenge"
    params = flow.authorize_params(rp, code_challenge=verifier, code_challenge_method="plain")

    result = flow.follow(flow.start(params))

    assert result.location.startswith(REDIRECT_URI)
    assert result.params["error"] == "invalid_request"
    assert "code" not in result.params


def test_pkce_challenge_without_method_defaults_to_plain_and_is_refused(client, public_setup):
    _tenant, _user, rp, flow = public_setup
    _, challenge = pkce_pair()
    params = flow.authorize_params(rp, code_challenge=challenge)

    result = flow.follow(flow.start(params))

    assert result.params["error"] == "invalid_request"


# client authentication (RFC 6749 section 2.3.1)
def test_client_secret_basic_works(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = flow.token(rp, _code_body(result), basic=True)

    assert response.status_code == 200, response.text


def test_client_secret_post_works(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = flow.token(rp, _code_body(result), basic=False)

    assert response.status_code == 200, response.text
    assert "access_token" in response.json()


def test_basic_credentials_are_form_urlencoded(client, factory):
    """RFC 6749 section 2.3.1: the id and secret are form-urlencoded before Basic encoding."""
    tenant, user, rp, flow = _setup(client, factory, client_id="app+x%y")
    result = flow.login(rp, user.username)
    raw = f"{quote_plus(rp.client_id)}:{quote_plus(rp.secret)}".encode()
    header = "Basic " + base64.b64encode(raw).decode()

    response = client.post(
        f"/t/{tenant.name}/token", data=_code_body(result), headers={"Authorization": header}
    )

    assert response.status_code == 200, response.text


def test_two_authentication_methods_at_once_are_refused(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    body = dict(_code_body(result), client_id=rp.client_id, client_secret=rp.secret)

    response = client.post(f"/t/{tenant.name}/token", data=body, auth=(rp.client_id, rp.secret))

    _assert_error(response, "invalid_request")
    # the code was not consumed by the refused request
    assert flow.exchange(rp, result).status_code == 200


def test_basic_auth_and_different_body_client_id_are_refused(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    other = factory.client(tenant)
    result = flow.login(rp, user.username)
    body = dict(_code_body(result), client_id=other.client_id)

    response = client.post(f"/t/{tenant.name}/token", data=body, auth=(rp.client_id, rp.secret))

    _assert_error(response, "invalid_request")


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "post"])
def test_wrong_secret_is_invalid_client_401(client, factory, basic):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    impostor = type(rp)(rp.client, secret=rp.secret[:-2] + ("AA" if not rp.secret.endswith("AA") else "BB"))

    response = flow.token(impostor, _code_body(result), basic=basic)

    _assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].lower().startswith("basic")
    # a failed authentication does not burn the code
    assert flow.exchange(rp, result).status_code == 200


def test_confidential_client_without_secret_is_invalid_client(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = client.post(f"/t/{tenant.name}/token", data=dict(_code_body(result), client_id=rp.client_id))

    _assert_error(response, "invalid_client", 401)
    assert "www-authenticate" in response.headers


def test_no_client_authentication_at_all_is_invalid_client(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = client.post(f"/t/{tenant.name}/token", data=_code_body(result))

    _assert_error(response, "invalid_client", 401)


def test_unknown_client_is_invalid_client(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = client.post(
        f"/t/{tenant.name}/token", data=_code_body(result), auth=("no-such-client", "whatever-secret")
    )

    _assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].lower().startswith("basic")


def test_client_of_another_tenant_is_unknown_here(client, factory):
    _tenant, _user, _rp, flow = _setup(client, factory)
    elsewhere = factory.client(factory.tenant())

    response = flow.token(elsewhere, {"grant_type": "client_credentials"})

    _assert_error(response, "invalid_client", 401)


def test_malformed_basic_header_is_invalid_client(client, factory):
    tenant, _user, _rp, _flow = _setup(client, factory)

    response = client.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64!!!"},
    )

    _assert_error(response, "invalid_client", 401)


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "post"])
def test_public_client_presenting_a_secret_is_refused(client, public_setup, basic):
    _tenant, user, rp, flow = public_setup
    result = flow.login(rp, user.username)
    pretend = type(rp)(rp.client, secret="some-secret-value")

    response = flow.token(pretend, _code_body(result), basic=basic)

    _assert_error(response, "invalid_client", 401)


# request parsing (RFC 6749 sections 3.2 and 5.2)
@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
def test_unsupported_grant_type(client, factory, grant_type):
    _tenant, user, rp, flow = _setup(client, factory)

    response = flow.token(rp, {"grant_type": grant_type, "username": user.username, "password": "x"})

    _assert_error(response, "unsupported_grant_type")


def test_missing_grant_type(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    body = {k: v for k, v in _code_body(result).items() if k != "grant_type"}

    _assert_error(flow.token(rp, body), "invalid_request")


def test_missing_code(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory)

    response = flow.token(rp, {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI})

    _assert_error(response, "invalid_request")


@pytest.mark.parametrize("name", ["code", "grant_type", "redirect_uri", "code_verifier"])
def test_duplicate_parameters_are_invalid_request(client, factory, name):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    pairs = list(_code_body(result).items())
    pairs.append((name, dict(pairs)[name]))  # the same value twice
    response = _raw(client, tenant, urlencode(pairs).encode(), auth=(rp.client_id, rp.secret))

    body = _assert_error(response, "invalid_request")
    assert name in body.get("error_description", "")
    # the refused request did not consume the code
    assert flow.exchange(rp, result).status_code == 200


def test_json_body_is_invalid_request(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)

    response = _raw(
        client,
        tenant,
        json.dumps(_code_body(result)).encode(),
        auth=(rp.client_id, rp.secret),
        content_type="application/json",
    )

    _assert_error(response, "invalid_request")


def test_form_body_with_charset_parameter_is_accepted(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)
    response = _raw(
        client,
        tenant,
        urlencode({"grant_type": "client_credentials"}).encode(),
        auth=(rp.client_id, rp.secret),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [b"grant_type=%ff", b"grant_type=client_credentials&scope=%c3%28", b"grant_type=\xff"],
    ids=["pct-ff", "pct-bad-utf8", "raw-non-ascii"],
)
def test_invalid_utf8_is_invalid_request(client, factory, body):
    tenant, _user, rp, _flow = _setup(client, factory)

    response = _raw(client, tenant, body, auth=(rp.client_id, rp.secret))

    _assert_error(response, "invalid_request")


def test_oversized_body_is_413(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)
    body = b"grant_type=client_credentials&pad=" + b"a" * (64 * 1024)

    response = _raw(client, tenant, body, auth=(rp.client_id, rp.secret))

    assert response.status_code == 413
    assert "access_token" not in response.text


def test_oversized_chunked_body_without_length_is_413(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)

    def chunks():  # type: ignore[no-untyped-def]
        yield b"grant_type=client_credentials&pad="
        for _ in range(70):
            yield b"a" * 1024

    response = client.post(
        f"/t/{tenant.name}/token",
        content=chunks(),
        headers={"content-type": FORM},
        auth=(rp.client_id, rp.secret),
    )

    assert response.status_code == 413, response.text


def test_body_just_under_the_limit_is_parsed(client, factory):
    tenant, _user, rp, _flow = _setup(client, factory)
    prefix = b"grant_type=client_credentials&pad="
    body = prefix + b"a" * (64 * 1024 - len(prefix))

    response = _raw(client, tenant, body, auth=(rp.client_id, rp.secret))

    # parsed (the long parameter is simply ignored), not refused for size
    assert response.status_code == 200, response.text


def test_get_is_not_allowed(client, factory):
    tenant, _user, _rp, _flow = _setup(client, factory)

    response = client.get(f"/t/{tenant.name}/token?grant_type=client_credentials")

    assert response.status_code == 405


def test_unknown_tenant_is_404(client):
    response = client.post("/t/no-such-tenant-xyz/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 404


def test_errors_are_not_cacheable(client, factory):
    tenant, _user, rp, flow = _setup(client, factory)

    for response in (
        flow.token(rp, {"grant_type": "password"}),
        client.post(f"/t/{tenant.name}/token", data={"grant_type": "client_credentials"}),
        _raw(client, tenant, b"grant_type=%ff", auth=(rp.client_id, rp.secret)),
    ):
        assert response.status_code in (400, 401)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


def test_disabled_user_cannot_exchange_a_code(client, factory, keystead):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username)
    keystead.users.set_status(tenant.id, user.id, "disabled")

    _assert_error(flow.exchange(rp, result), "invalid_grant")


def test_client_not_allowed_the_grant_is_unauthorized_client(client, factory):
    _tenant, _user, rp, flow = _setup(client, factory, grant_types=["authorization_code"])

    response = flow.token(rp, {"grant_type": "client_credentials"})

    _assert_error(response, "unauthorized_client")


# the ID token (OIDC Core sections 2 and 3.1.3.6)
def test_id_token_claims(client, factory, keystead, clock):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username, nonce="n-0S6_WzA2Mj")
    body = flow.exchange(rp, result).json()
    keys = _jwks(client, tenant)

    id_token = jwt.decode(body["id_token"], keys, algorithms=["ES256"])

    claims = id_token.claims
    assert id_token.header["alg"] == "ES256"
    assert id_token.header["kid"] in {k["kid"] for k in client.get(f"/t/{tenant.name}/jwks").json()["keys"]}
    assert claims["iss"] == f"http://testserver/t/{tenant.name}"
    assert claims["sub"] == user.id
    assert claims["aud"] == rp.client_id
    assert claims["azp"] == rp.client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == _at_hash(body["access_token"])
    assert claims["at_hash"] != _at_hash(body["refresh_token"])
    assert claims["iat"] == int(clock())
    assert claims["exp"] == int(clock()) + 600
    assert claims["auth_time"] == int(clock())
    assert isinstance(claims["auth_time"], int)
    assert claims["acr"] == "urn:keystead:acr:pwd"
    assert claims["amr"] == ["pwd"]
    session_cookie = client.cookies.get("ks_session")
    session = keystead.storage.session_by_hmac(tenant.id, keystead.ring.mac("session", session_cookie))
    assert claims["sid"] == session.id


def test_id_token_auth_time_is_the_login_time_not_the_issue_time(client, factory, clock):
    tenant, user, rp, flow = _setup(client, factory)
    flow.login(rp, user.username)
    login_time = int(clock())
    clock.advance(300)

    again = flow.login(rp, None)  # SSO: no new login
    claims = jwt.decode(flow.exchange(rp, again).json()["id_token"], _jwks(client, tenant)).claims

    assert claims["auth_time"] == login_time
    assert claims["iat"] == login_time + 300


def test_id_token_sid_is_per_browser_session(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    keys = _jwks(client, tenant)
    first = jwt.decode(flow.exchange(rp, flow.login(rp, user.username)).json()["id_token"], keys)
    same = jwt.decode(flow.exchange(rp, flow.login(rp, None)).json()["id_token"], keys)
    client.cookies.clear()
    other = jwt.decode(flow.exchange(rp, flow.login(rp, user.username)).json()["id_token"], keys)

    assert first.claims["sid"] == same.claims["sid"]
    assert first.claims["sid"] != other.claims["sid"]


def test_id_token_without_nonce_has_no_nonce_claim(client, factory):
    tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username, nonce="")

    claims = jwt.decode(flow.exchange(rp, result).json()["id_token"], _jwks(client, tenant)).claims

    assert "nonce" not in claims


def test_no_id_token_without_openid_scope(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    result = flow.login(rp, user.username, scope="api")

    body = flow.exchange(rp, result).json()

    assert "id_token" not in body
    assert body["scope"] == "api"


def test_rs256_id_token_verifies_against_jwks(client, factory):
    tenant, user, rp, flow = _setup(client, factory, id_token_alg="RS256")
    result = flow.login(rp, user.username, nonce="rs-nonce")
    body = flow.exchange(rp, result).json()
    jwks = client.get(f"/t/{tenant.name}/jwks").json()
    keys = KeySet.import_key_set(jwks)

    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])

    assert id_token.header["alg"] == "RS256"
    published = {k["kid"]: k for k in jwks["keys"]}
    assert published[id_token.header["kid"]]["kty"] == "RSA"
    assert published[id_token.header["kid"]]["alg"] == "RS256"
    assert id_token.claims["nonce"] == "rs-nonce"
    assert id_token.claims["at_hash"] == _at_hash(body["access_token"])
    with pytest.raises(JoseError):
        jwt.decode(body["id_token"], keys, algorithms=["ES256"])
    # access tokens stay ES256 whatever the ID token algorithm
    assert jwt.decode(body["access_token"], keys, algorithms=["ES256"]).header["alg"] == "ES256"


def test_id_token_does_not_verify_with_another_tenants_keys(client, factory):
    _tenant, user, rp, flow = _setup(client, factory)
    body = flow.exchange(rp, flow.login(rp, user.username)).json()
    other = factory.tenant()

    with pytest.raises((JoseError, ValueError)):
        jwt.decode(body["id_token"], _jwks(client, other))


def _code_body(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = {"grant_type": "authorization_code", "code": result.code, "redirect_uri": REDIRECT_URI}
    if result.verifier:
        body["code_verifier"] = result.verifier
    return body
