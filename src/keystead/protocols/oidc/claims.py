"""Standard claims released by scope (OIDC Core section 5.4) and ``at_hash`` (section 3.1.3.6)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Sign you in with your account",
    "profile": "Your name and basic profile",
    "email": "Your email address",
    "address": "Your postal address",
    "phone": "Your phone number",
    "offline_access": "Stay connected when you are not using the app",
}

ALL_CLAIMS = ("sub", *(c for claims in SCOPE_CLAIMS.values() for c in claims))


def names_for(scopes: Iterable[str], requested: Mapping[str, Any] | None = None) -> set[str]:
    """Claim names released for ``scopes`` plus those named in a ``claims`` request member."""
    names = {"sub"}
    for scope in scopes:
        names.update(SCOPE_CLAIMS.get(scope, ()))
    if requested:
        names.update(n for n in requested if n in ALL_CLAIMS)
    return names


def release(available: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    """The subset of a user's claims that may be released; empty values are left out."""
    return {n: v for n, v in available.items() if n in names and v not in (None, "", {})}


def at_hash(access_token: str, alg: str) -> str:
    """Left-most half of the hash of the access token, base64url (SHA-256 for ES256/RS256)."""
    if alg not in ("ES256", "RS256"):
        raise ValueError(f"no at_hash rule for {alg}")
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
