"""openid-client and oauth4webapi (npm, both by the author of OpenID-certified RP libraries) run
the core oidcc modules against the live Keystead. Each script runs all its scenarios in one
``node`` process; every test below asserts on one scenario's JSON result.

The libraries do the validating (discovery issuer, state, RFC 9207 ``iss``, PKCE, ID token
signature via the JWKS, iss/aud/exp/iat/nonce, userinfo ``sub``); a scenario that throws where
it should not comes back as ``ok: false`` with the library's error code and message.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.conftest import run_node

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def openid_client(node_ready, live) -> dict[str, Any]:
    return run_node("openid_client.mjs", live)


@pytest.fixture(scope="module")
def oauth4webapi(node_ready, live) -> dict[str, Any]:
    return run_node("oauth4webapi.mjs", live)


def scenario(results: dict[str, Any], name: str) -> dict[str, Any]:
    result = results[name]
    assert result["ok"], (
        f"{name}: {result.get('code')} {result.get('message')} ({result.get('cause')})\n{result.get('stack')}"
    )
    return dict(result)


def _sound_id_token(claims: dict[str, Any], live) -> None:
    assert claims["iss"] == live.issuer
    assert claims["aud"] == live.client_id
    assert {"sub", "iat", "exp", "auth_time", "at_hash", "nonce", "acr"} <= set(claims)


# openid-client
def test_openid_client_discovery(openid_client, live):
    result = scenario(openid_client, "discovery")
    assert (result["issuer"], result["pkce"], result["iss_parameter"]) == (live.issuer, True, True)


def test_openid_client_oidcc_server_userinfo_refresh(openid_client, live):
    result = scenario(openid_client, "happy_path")
    claims = result["claims"]
    _sound_id_token(claims, live)
    assert result["token_type"] == "bearer" and result["expires_in"] > 0
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["email"] == "alice@example.com"
    assert result["introspection_active"] is True
    refreshed = result["refreshed_claims"]
    assert (refreshed["sub"], refreshed["auth_time"]) == (claims["sub"], claims["auth_time"])
    assert "nonce" not in refreshed
    assert result["refresh_rotated"] is True
    assert result["refreshed_userinfo_sub"] == claims["sub"]
    assert result["old_refresh_reuse"]["error"] == "invalid_grant"


def test_openid_client_oidcc_prompt_none_logged_in_with_id_token_hint_and_max_age(openid_client):
    result = scenario(openid_client, "prompt_none_logged_in")
    assert result["pages"] == []
    assert result["sub"] == result["first_sub"]
    assert result["auth_time"] == result["first_auth_time"]


def test_openid_client_oidcc_server_client_secret_post(openid_client):
    result = scenario(openid_client, "client_secret_post")
    assert result["sub"] == result["userinfo_sub"]


def test_openid_client_public_client_with_pkce(openid_client, live):
    result = scenario(openid_client, "public_client_pkce")
    assert result["aud"] == live.public_client_id
    assert result["sub"] == result["userinfo_sub"]
    assert result["refreshed"] is True


def test_openid_client_oidcc_prompt_none_not_logged_in(openid_client):
    error = scenario(openid_client, "prompt_none_not_logged_in")["error"]
    assert (error["code"], error["error"]) == ("OAUTH_AUTHORIZATION_RESPONSE_ERROR", "login_required")


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("state_mismatch", '"state" response parameter'),
        ("tampered_iss", '"iss" (issuer) response parameter'),
        ("nonce_mismatch", "JWT claim"),
        ("forged_id_token", "signature verification failed"),
    ],
    ids=["state_mismatch", "tampered_iss", "nonce_mismatch", "forged_id_token"],
)
def test_openid_client_rejects(openid_client, name, cause):
    error = scenario(openid_client, name)["error"]
    assert cause in f"{error['message']} {error.get('cause')}", error


def test_openid_client_oidcc_codereuse(openid_client):
    result = scenario(openid_client, "code_reuse")
    assert result["replay"]["error"] == "invalid_grant"
    assert result["userinfo_after"]["status"] == 401
    assert result["introspection_active"] is False


def test_openid_client_revocation_and_rp_initiated_logout(openid_client):
    result = scenario(openid_client, "revocation_and_logout")
    assert result["refresh_after_revoke"]["error"] == "invalid_grant"
    assert result["logout"] == {"status": 303, "location": result["expected_location"]}
    assert result["after"]["error"] == "login_required"


# oauth4webapi
def test_oauth4webapi_discovery(oauth4webapi, live):
    result = scenario(oauth4webapi, "discovery")
    assert (result["issuer"], result["iss_parameter"]) == (live.issuer, True)
    assert result["mismatch"]["code"] == "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED"


def test_oauth4webapi_rfc8414_discovery(oauth4webapi, live):
    result = scenario(oauth4webapi, "rfc8414_discovery")
    prefix, _, path = live.issuer.partition("/t/")
    assert result["url"] == f"{prefix}/.well-known/oauth-authorization-server/t/{path}"
    assert (result["issuer"], result["token_endpoint"]) == (live.issuer, f"{live.issuer}/token")


def test_oauth4webapi_oidcc_server_userinfo_refresh(oauth4webapi, live):
    result = scenario(oauth4webapi, "happy_path")
    claims = result["claims"]
    _sound_id_token(claims, live)
    assert result["token_type"] == "bearer" and result["expires_in"] > 0
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["wrong_subject"]["code"] == "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED"
    assert result["refreshed_claims"]["sub"] == claims["sub"]
    assert result["refresh_rotated"] is True
    assert result["introspection_active"] is True


def test_oauth4webapi_oidcc_server_client_secret_post(oauth4webapi):
    result = scenario(oauth4webapi, "client_secret_post")
    assert result["sub"] == result["userinfo_sub"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tampered_iss", 'unexpected "iss" (issuer) response parameter value'),
        ("missing_iss", 'response parameter "iss" (issuer) missing'),
        ("state_mismatch", 'unexpected "state" response parameter value'),
        ("nonce_mismatch", 'unexpected ID Token "nonce" claim value'),
    ],
    ids=["tampered_iss", "missing_iss", "state_mismatch", "nonce_mismatch"],
)
def test_oauth4webapi_rejects(oauth4webapi, name, message):
    error = scenario(oauth4webapi, name)["error"]
    assert error["message"] == message, error


def test_oauth4webapi_oidcc_prompt_none_not_logged_in(oauth4webapi):
    error = scenario(oauth4webapi, "prompt_none_not_logged_in")["error"]
    assert (error["code"], error["error"]) == ("OAUTH_AUTHORIZATION_RESPONSE_ERROR", "login_required")


def test_oauth4webapi_oidcc_codereuse(oauth4webapi):
    result = scenario(oauth4webapi, "code_reuse")
    assert result["replay"]["error"] == "invalid_grant"
    assert result["userinfo_after"]["status"] == 401


def test_oauth4webapi_pkce_wrong_verifier(oauth4webapi):
    assert scenario(oauth4webapi, "pkce_wrong_verifier")["error"]["error"] == "invalid_grant"
