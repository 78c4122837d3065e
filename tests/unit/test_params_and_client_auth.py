"""RFC 6749 section 3.1 parameter rules and section 2.3.1 client authentication."""

import base64

import pytest

from keystead.protocols.oauth2 import bearer, client_auth, token_request
from keystead.protocols.oauth2.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    UnsupportedGrantType,
)
from keystead.protocols.oauth2.params import parse_int, single, space_list


def test_duplicate_parameter_is_invalid_request():
    with pytest.raises(InvalidRequest, match="more than once"):
        single({"scope": ["a", "b"]}, "scope")


def test_empty_parameter_is_absent():
    assert single({"state": [""]}, "state") is None


def test_oversized_parameter():
    with pytest.raises(InvalidRequest, match="too long"):
        single({"state": ["x" * 5000]}, "state")


def test_space_list_keeps_order_and_drops_repeats():
    assert space_list("openid  email openid profile") == ("openid", "email", "profile")


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "99999999999"])
def test_parse_int_refuses_non_integers(value):
    with pytest.raises(InvalidRequest):
        parse_int("max_age", value)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_credentials_are_form_url_decoded():
    creds = client_auth.extract(basic("my%3Aclient", "s%2Bcret"), {})
    assert (creds.client_id, creds.secret, creds.method) == ("my:client", "s+cret", "client_secret_basic")


def test_post_credentials():
    creds = client_auth.extract(None, {"client_id": ["c"], "client_secret": ["s"]})
    assert creds.method == "client_secret_post"


def test_public_client_names_itself():
    creds = client_auth.extract(None, {"client_id": ["c"]})
    assert creds.method == "none" and creds.secret is None


def test_two_methods_at_once_are_refused():
    with pytest.raises(InvalidRequest):
        client_auth.extract(basic("c", "s"), {"client_secret": ["s"]})


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()])
def test_malformed_basic(header):
    with pytest.raises(InvalidClient):
        client_auth.extract(header, {})


def test_no_credentials():
    with pytest.raises(InvalidClient):
        client_auth.extract(None, {})


def test_token_request_types():
    assert isinstance(
        token_request.parse({"grant_type": ["client_credentials"], "scope": ["a b"]}),
        token_request.ClientCredentialsGrant,
    )
    with pytest.raises(UnsupportedGrantType):
        token_request.parse({"grant_type": ["password"]})
    with pytest.raises(InvalidRequest):
        token_request.parse({"grant_type": ["authorization_code"]})


def test_bearer_extraction():
    assert bearer.extract("Bearer abc", None) == "abc"
    assert bearer.extract(None, {"access_token": ["abc"]}) == "abc"
    with pytest.raises(InvalidRequest):
        bearer.extract("Bearer abc", {"access_token": ["abc"]})
    with pytest.raises(InvalidToken):
        bearer.extract("Basic abc", None)
    assert 'error="invalid_token"' in bearer.challenge("invalid_token", 'say "hi"')
