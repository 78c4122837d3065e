"""Property tests: whatever bytes arrive, the protocol parsers answer with a typed protocol
error or a value, never with another exception (which would become a 500)."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.protocols import jose
from keystead.protocols.jose.keys import generate, keyset
from keystead.protocols.oauth2 import authorization as authz
from keystead.protocols.oauth2 import bearer, client_auth, token_request
from keystead.protocols.oauth2.client import ClientMetadata
from keystead.protocols.oauth2.errors import OAuth2Error

CLIENT = ClientMetadata("rp", "public", ("https://rp/cb",), ("authorization_code",), ("openid", "email"))
NAMES = st.sampled_from(
    [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
        "claims",
        "request",
        "request_uri",
        "grant_type",
        "code",
        "code_verifier",
        "refresh_token",
        "client_secret",
        "access_token",
        "x",
    ]
)
VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "rp",
            "https://rp/cb",
            "code",
            "openid",
            "none login",
            "S256",
            "plain",
            "{}",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "-1",
            "10",
        ]
    ),
)
PARAMS = st.dictionaries(NAMES, st.lists(VALUES, min_size=0, max_size=3), max_size=10)
KEYS = keyset([generate("ES256")])


@settings(max_examples=300, deadline=None)
@given(PARAMS)
def test_authorization_request_parsing_only_raises_protocol_errors(params):
    try:
        target = authz.identify_client(params, lambda cid: CLIENT if cid == "rp" else None)
        authz.validate_request(params, target)
    except OAuth2Error:
        pass


@settings(max_examples=300, deadline=None)
@given(PARAMS)
def test_token_request_parsing_only_raises_protocol_errors(params):
    with contextlib.suppress(OAuth2Error):
        token_request.parse(params)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=120), st.builds(lambda s: "Basic " + s, st.text(max_size=60))),
    PARAMS,
)
def test_client_and_bearer_credentials_only_raise_protocol_errors(header, params):
    for extract in (client_auth.extract, bearer.extract):
        with contextlib.suppress(OAuth2Error):
            extract(header, params)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=60), st.text(max_size=60), st.text(max_size=60)
        ),
    )
)
def test_token_verification_only_raises_jose_errors(token):
    try:
        jose.verify(token, KEYS, now=0, issuer="https://op")
    except jose.JoseError:
        return
    raise AssertionError("an arbitrary string verified")
