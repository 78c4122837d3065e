"""RFC 7636 PKCE, with the example of Appendix B."""

import pytest

from keystead.protocols.oauth2 import pkce
from keystead.protocols.oauth2.errors import InvalidGrant, InvalidRequest

# RFC 7636 Appendix B
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_rfc7636_appendix_b():
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE
    pkce.check_verifier(RFC_CHALLENGE, RFC_VERIFIER)


def test_wrong_verifier_is_invalid_grant():
    with pytest.raises(InvalidGrant):
        pkce.check_verifier(RFC_CHALLENGE, RFC_VERIFIER[:-1] + "A")


@pytest.mark.parametrize("verifier", [None, "short", "x" * 129, "bad verifier with spaces" * 3])
def test_missing_or_malformed_verifier(verifier):
    with pytest.raises(InvalidGrant):
        pkce.check_verifier(RFC_CHALLENGE, verifier)


def test_verifier_without_challenge_is_refused():
    with pytest.raises(InvalidGrant):
        pkce.check_verifier(None, RFC_VERIFIER)


def test_plain_method_is_refused():
    with pytest.raises(InvalidRequest, match="S256"):
        pkce.check_challenge(RFC_VERIFIER, "plain", required=False)


def test_missing_method_means_plain_and_is_refused():
    with pytest.raises(InvalidRequest):
        pkce.check_challenge(RFC_CHALLENGE, None, required=True)


def test_required_challenge_missing():
    with pytest.raises(InvalidRequest, match="required"):
        pkce.check_challenge(None, None, required=True)


def test_malformed_challenge():
    with pytest.raises(InvalidRequest):
        pkce.check_challenge("not+base64url", "S256", required=True)


def test_valid_challenge_passes():
    assert pkce.check_challenge(RFC_CHALLENGE, "S256", required=True) == RFC_CHALLENGE
