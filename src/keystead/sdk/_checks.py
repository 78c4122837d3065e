"""Sans-IO checks of a JWT access token (RFC 9068 section 4, RFC 8725): header, signature with
an already-chosen key, then the claims. Each check raises :class:`InvalidToken` with its reason."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from keystead.sdk.access_token import AccessToken, split_scope
from keystead.sdk.errors import InvalidToken

MAX_TOKEN_LENGTH = 16384
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 section 4, case-insensitive
ASYMMETRIC_ALGS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})

PublicKey = ECKey | RSAKey


@dataclass(frozen=True, slots=True)
class Policy:
    """What a token must satisfy besides its signature."""

    issuer: str
    audiences: frozenset[str] | None
    leeway: float
    algorithms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Header:
    alg: str
    kid: str
    typ: str


def allowed_algorithms(algorithms: Collection[str]) -> frozenset[str]:
    """The allow-list, refusing ``none`` and symmetric (HS*) algorithms (RFC 8725 section 3.1)."""
    chosen = frozenset(algorithms)
    refused = chosen - ASYMMETRIC_ALGS
    if refused or not chosen:
        raise ValueError(f"algorithms must be asymmetric signature algorithms, not {sorted(refused)}")
    return chosen


def read_header(token: str, policy: Policy) -> Header:
    """The protected header, checked before any key is looked up."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidToken("not a compact JWS")
    raw = _b64_json(token.partition(".")[0])
    alg, kid, typ = raw.get("alg"), raw.get("kid"), raw.get("typ")
    if not isinstance(alg, str) or alg not in policy.algorithms:
        raise InvalidToken(f"algorithm {alg!r} not allowed")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken(f"typ {typ!r} is not at+jwt")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("no kid in the header")
    if "crit" in raw:
        raise InvalidToken("unsupported critical header")
    return Header(alg=alg, kid=kid, typ=typ)


def _b64_json(segment: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("malformed header") from exc
    if not isinstance(data, dict):
        raise InvalidToken("malformed header")
    return data


def verify_signature(token: str, header: Header, key: PublicKey, key_alg: str | None) -> dict[str, Any]:
    """The claims, once the signature checks out with ``key``."""
    if key_alg is not None and key_alg != header.alg:
        raise InvalidToken(f"key {header.kid} is for {key_alg}, not {header.alg}")
    try:
        decoded = jwt.decode(token, key, algorithms=[header.alg])
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(f"bad signature or format: {exc.__class__.__name__}") from exc
    return dict(decoded.claims)


def check_claims(claims: Mapping[str, Any], policy: Policy, now: float) -> AccessToken:
    """``iss``, ``aud``, ``exp``/``nbf``/``iat`` (with leeway) and the RFC 9068 required claims."""
    if claims.get("iss") != policy.issuer:
        raise InvalidToken(f"wrong issuer {claims.get('iss')!r}")
    _check_audience(claims.get("aud"), policy.audiences)
    exp, iat = _number(claims, "exp"), _number(claims, "iat")
    if exp is None or iat is None:
        raise InvalidToken("exp and iat are required")
    if now >= exp + policy.leeway:
        raise InvalidToken("expired")
    if iat > now + policy.leeway:
        raise InvalidToken("issued in the future")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + policy.leeway:
        raise InvalidToken("not yet valid")
    sub, client_id, jti = claims.get("sub"), claims.get("client_id"), claims.get("jti")
    if not isinstance(sub, str) or not isinstance(client_id, str):
        raise InvalidToken("sub and client_id are required")
    return AccessToken(
        sub=sub,
        client_id=client_id,
        scopes=split_scope(claims.get("scope")),
        expires_at=int(exp),
        claims=dict(claims),
        jti=jti if isinstance(jti, str) else None,
    )


def _check_audience(aud: Any, accepted: frozenset[str] | None) -> None:
    if accepted is None:
        return
    values = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(v, str) and v in accepted for v in values):
        raise InvalidToken(f"wrong audience {aud!r}")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"{name} is not a number")
    return float(value)
