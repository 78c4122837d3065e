"""The authorization request pipelines (RFC 6749 section 4.1.1, OIDC Core section 3.1.2)."""

import pytest

from keystead.protocols.oauth2 import authorization as authz
from keystead.protocols.oauth2.client import ClientMetadata
from keystead.protocols.oauth2.errors import (
    InvalidRequest,
    InvalidScope,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from keystead.protocols.oauth2.response import failure, success

CB = "https://rp.example/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CLIENT = ClientMetadata(
    client_id="rp",
    client_type="confidential",
    redirect_uris=(CB,),
    grant_types=("authorization_code",),
    scopes=("openid", "profile", "email"),
)
PUBLIC = ClientMetadata(
    client_id="spa",
    client_type="public",
    redirect_uris=(CB,),
    grant_types=("authorization_code",),
    scopes=("openid",),
)


def lookup(client_id):
    return {"rp": CLIENT, "spa": PUBLIC}.get(client_id)


def params(**values):
    base = {"client_id": "rp", "redirect_uri": CB, "response_type": "code", "scope": "openid"}
    base.update(values)
    return {k: [v] for k, v in base.items() if v is not None}


def parse(**values):
    p = params(**values)
    return authz.validate_request(p, authz.identify_client(p, lookup))


def test_valid_request():
    request = parse(state="s", nonce="n", prompt="login", max_age="30", claims='{"userinfo": {"name": null}}')
    assert request.scopes == ("openid",)
    assert request.prompt == ("login",)
    assert request.max_age == 30
    assert request.claims == {"userinfo": {"name": None}}
    assert authz.AuthorizationRequest.from_dict(request.to_dict()) == request


@pytest.mark.parametrize(
    "values",
    [
        {"client_id": "nope"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": None},
        {"redirect_uri": CB + "/"},
    ],
)
def test_client_and_redirect_uri_errors_are_not_redirected(values):
    with pytest.raises(InvalidRequest):
        authz.identify_client(params(**values), lookup)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"response_type": None}, InvalidRequest),
        ({"response_type": "token"}, UnsupportedResponseType),
        ({"scope": "openid admin"}, InvalidScope),
        ({"scope": None}, InvalidScope),
        ({"prompt": "none login"}, InvalidRequest),
        ({"prompt": "bogus"}, InvalidRequest),
        ({"response_mode": "fragment"}, InvalidRequest),
        ({"request": "eyJ..."}, RequestNotSupported),
        ({"request_uri": "https://x"}, RequestUriNotSupported),
        ({"claims": "not json"}, InvalidRequest),
        ({"claims": '{"other": {}}'}, InvalidRequest),
        ({"max_age": "-3"}, InvalidRequest),
    ],
)
def test_redirectable_errors(values, error):
    with pytest.raises(error):
        parse(**values)


def test_public_client_needs_pkce():
    with pytest.raises(InvalidRequest, match="PKCE"):
        parse(client_id="spa")
    assert parse(client_id="spa", code_challenge=CHALLENGE, code_challenge_method="S256").code_challenge


def test_client_without_code_grant():
    other = ClientMetadata("m2m", "confidential", (CB,), ("client_credentials",), ("openid",))
    p = params(client_id="m2m")
    with pytest.raises(UnauthorizedClient):
        authz.validate_request(p, authz.identify_client(p, lambda _: other))


def test_response_keeps_redirect_uri_query_and_adds_iss():
    response = success("https://rp.example/cb?x=1", "query", code="c", state="s", issuer="https://op")
    assert response.location() == "https://rp.example/cb?x=1&code=c&state=s&iss=https%3A%2F%2Fop"
    error = failure(CB, "query", error={"error": "access_denied"}, state=None, issuer="https://op")
    assert "state" not in error.params and error.params["iss"] == "https://op"
