"""Signing and checking JWTs with a fixed algorithm allow-list (RFC 8725 section 3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError as _LibJoseError
from joserfc.jwk import KeySet

from keystead.protocols.jose.keys import SUPPORTED_ALGS, SigningKey


class JoseError(Exception):
    """A token failed a check; the message says which (for logs, not for callers)."""


@dataclass(frozen=True, slots=True)
class Verified:
    header: dict[str, Any]
    claims: dict[str, Any]


def sign(key: SigningKey, claims: dict[str, Any], *, typ: str = "JWT") -> str:
    header = {"alg": key.alg, "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key.key)


def verify(
    token: str,
    keys: KeySet,
    *,
    now: float,
    issuer: str,
    audience: str | None = None,
    typ: str | None = None,
    skew: int = 0,
    check_expiry: bool = True,
    algorithms: Sequence[str] = SUPPORTED_ALGS,
) -> Verified:
    """Signature, ``typ``, ``iss``, ``aud``, ``exp`` and ``nbf``; raise :class:`JoseError`."""
    if token.count(".") != 2 or len(token) > 16384:
        raise JoseError("not a compact JWS")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(algorithms))
    except (_LibJoseError, ValueError, TypeError, KeyError) as exc:
        raise JoseError(f"signature or format: {exc.__class__.__name__}") from exc
    header, claims = dict(decoded.header), dict(decoded.claims)
    if typ is not None and str(header.get("typ", "")).lower() != typ:
        raise JoseError("wrong typ")
    _check_claims(claims, now=now, issuer=issuer, audience=audience, skew=skew, expiry=check_expiry)
    return Verified(header, claims)


def _check_claims(
    claims: dict[str, Any], *, now: float, issuer: str, audience: str | None, skew: int, expiry: bool
) -> None:
    if claims.get("iss") != issuer:
        raise JoseError("wrong issuer")
    if audience is not None:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if audience not in auds:
            raise JoseError("wrong audience")
    exp = claims.get("exp")
    if expiry and (not isinstance(exp, int | float) or exp + skew <= now):
        raise JoseError("expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf - skew > now:
        raise JoseError("not yet valid")
