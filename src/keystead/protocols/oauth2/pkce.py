"""Proof Key for Code Exchange (RFC 7636).

Only ``S256`` is accepted: ``plain`` offers no protection against a leaked authorization request
(OAuth 2.0 Security BCP, RFC 9700 section 2.1.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from keystead.protocols.oauth2.errors import InvalidGrant, InvalidRequest

SUPPORTED_METHODS = ("S256",)
# RFC 7636 section 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# The S256 challenge is BASE64URL(SHA256(verifier)): 43 characters, no padding.
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> str | None:
    """Validate the ``code_challenge`` of an authorization request (RFC 7636 section 4.3)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if required:
            raise InvalidRequest("PKCE is required: send code_challenge with method S256")
        return None
    if (method or "plain") not in SUPPORTED_METHODS:
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge is malformed")
    return challenge


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_verifier(challenge: str | None, verifier: str | None) -> None:
    """Verify the ``code_verifier`` of a token request (RFC 7636 section 4.6)."""
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent but no code_challenge was")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
