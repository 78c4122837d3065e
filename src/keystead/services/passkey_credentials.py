"""How a passkey is stored: a ``user_factors`` row of kind ``passkey``, always ``active``, its
WebAuthn credential in ``data`` (nothing in it is secret: a public key, a counter, flags), and
its ``amr`` values (RFC 8176).

``data``: ``credential_id`` and ``public_key`` (COSE) in base64url, ``sign_count``,
``transports``, ``aaguid``, ``backup_eligible`` and ``backed_up`` (the BE and BS flags),
``user_verified`` (at registration), ``counter_regressions`` (assertions refused because the
counter did not increase: a sign of a cloned authenticator) and ``last_regression_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

from keystead.errors import InvalidInput
from keystead.ports.records import UserFactor
from keystead.services.passkey_challenges import b64url, from_b64url

KIND = "passkey"
DEFAULT_NAME = "Passkey"
MAX_NAME = 100
MAX_PER_USER = 20
_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


@dataclass(frozen=True, slots=True)
class PasskeyInfo:
    """What the account page shows about a passkey (no key material)."""

    id: str
    name: str
    created_at: float
    last_used_at: float | None
    backed_up: bool  # synced (a multi-device credential that is backed up)
    transports: tuple[str, ...]
    aaguid: str


def passkeys_of(factors: Sequence[UserFactor]) -> list[UserFactor]:
    return [f for f in factors if f.kind == KIND and f.status == "active"]


def credential_id(factor: UserFactor) -> bytes:
    return from_b64url(str(factor.data["credential_id"]))


def public_key(factor: UserFactor) -> bytes:
    return from_b64url(str(factor.data["public_key"]))


def sign_count(factor: UserFactor) -> int:
    return int(factor.data.get("sign_count") or 0)


def descriptor(factor: UserFactor) -> PublicKeyCredentialDescriptor:
    transports = [_TRANSPORTS[t] for t in factor.data.get("transports", []) if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=credential_id(factor), transports=transports or None)


def info(factor: UserFactor) -> PasskeyInfo:
    return PasskeyInfo(
        id=factor.id,
        name=factor.name,
        created_at=factor.created_at,
        last_used_at=factor.last_used_at,
        backed_up=bool(factor.data.get("backed_up")),
        transports=tuple(str(t) for t in factor.data.get("transports", [])),
        aaguid=str(factor.data.get("aaguid", "")),
    )


def new_data(
    *,
    credential: bytes,
    key: bytes,
    count: int,
    transports: Sequence[str],
    aaguid: str,
    backup_eligible: bool,
    backed_up: bool,
    user_verified: bool,
) -> dict[str, Any]:
    return {
        "credential_id": b64url(credential),
        "public_key": b64url(key),
        "sign_count": count,
        "transports": [t for t in transports if t in _TRANSPORTS],
        "aaguid": aaguid,
        "backup_eligible": backup_eligible,
        "backed_up": backed_up,
        "user_verified": user_verified,
        "counter_regressions": 0,
        "last_regression_at": None,
    }


def amr(factor: UserFactor, *, user_verified: bool) -> tuple[str, ...]:
    """RFC 8176 values of one assertion: ``swk`` for a key that may be synced (backup
    eligible: it lives in a software keychain), ``hwk`` for a device-bound one; ``user`` (the
    user-presence test every assertion passes); and ``mfa`` when the authenticator verified
    the user (PIN or biometric: something known or inherent, besides the key possessed)."""
    values = ("swk" if factor.data.get("backup_eligible") else "hwk", "user")
    return (*values, "mfa") if user_verified else values


def label(name: str | None, taken: set[str]) -> str:
    """The name given, its spaces collapsed, or the first free default name."""
    if name is None or not name.strip():
        candidate, n = DEFAULT_NAME, 1
        while candidate in taken:
            n += 1
            candidate = f"{DEFAULT_NAME} {n}"
        return candidate
    candidate = " ".join(name.split())
    if len(candidate) > MAX_NAME or not candidate.isprintable():
        raise InvalidInput("name", f"a name of 1 to {MAX_NAME} printable characters")
    if candidate in taken:
        raise InvalidInput("name", "another passkey has this name")
    return candidate
