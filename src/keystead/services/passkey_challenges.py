"""WebAuthn ceremonies' challenges and relying party (sans the ceremony itself, services.passkeys).

A challenge is 32 random bytes, stored server-side only as its SHA-256 (the row's id), with the
ceremony's purpose, the user (if known), an HMAC of what it belongs to (the sign-in interaction,
the account session) and a short expiry. The answer's ``clientDataJSON`` names its challenge;
taking it deletes the row, so a challenge answers once: a replayed ceremony finds nothing, even
from an authenticator whose signature counter stays 0.

The relying party is the tenant's issuer: its host is the RP ID and its scheme and host the only
origin accepted (a custom domain is its own RP ID); the RP name is the tenant's display name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keystead.ports.records import PasskeyChallenge
from keystead.ports.stores import PasskeyStore
from keystead.services.factor_checks import FactorError
from keystead.services.secrets import KeyRing
from keystead.types import Clock

REGISTER = "register"
SECOND_FACTOR = "second_factor"
PASSWORDLESS = "passwordless"
PURPOSES = (REGISTER, SECOND_FACTOR, PASSWORDLESS)
CHALLENGE_BYTES = 32
CHALLENGE_TTL = 300.0  # seconds; the browser's own timeout (options "timeout") is shorter
TIMEOUT_MS = 120_000


class PasskeyRejected(FactorError):
    """A WebAuthn response was refused. ``reason`` is for logs and tests only: the pages answer
    every refusal the same way."""

    def __init__(self, reason: str) -> None:
        super().__init__("the passkey could not be used")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str  # the RP ID: the issuer's host
    name: str  # shown by the authenticator: the tenant's display name
    origin: str  # scheme://host[:port] the browser reports in clientDataJSON

    @classmethod
    def for_issuer(cls, issuer: str, display_name: str) -> RelyingParty:
        parts = urlsplit(issuer)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise ValueError(f"not an issuer URL: {issuer!r}")
        return cls(id=parts.hostname, name=display_name, origin=f"{parts.scheme}://{parts.netloc}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PasskeyRejected("malformed base64url") from exc


def challenge_id(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def parse_credential(raw: str | Mapping[str, Any]) -> dict[str, Any]:
    """The browser's ``PublicKeyCredential`` as JSON (what ``toJSON()`` gives)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as exc:
        raise PasskeyRejected("the credential is not JSON") from exc
    if not isinstance(value, dict) or not isinstance(value.get("response"), dict):
        raise PasskeyRejected("the credential has no response")
    return value


def answered_challenge(credential: Mapping[str, Any]) -> bytes:
    """The challenge ``clientDataJSON`` says it answers (checked again by the library)."""
    encoded = credential["response"].get("clientDataJSON")
    if not isinstance(encoded, str) or len(encoded) > 4096:
        raise PasskeyRejected("no clientDataJSON")
    try:
        client_data = json.loads(from_b64url(encoded))
    except ValueError as exc:
        raise PasskeyRejected("clientDataJSON is not JSON") from exc
    value = client_data.get("challenge") if isinstance(client_data, dict) else None
    if not isinstance(value, str) or len(value) > 128:
        raise PasskeyRejected("clientDataJSON has no challenge")
    return from_b64url(value)


class Challenges:
    def __init__(self, store: PasskeyStore, ring: KeyRing, clock: Clock, ttl: float = CHALLENGE_TTL) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._ttl = ttl

    def issue(self, tenant_id: str, purpose: str, binding: str, user_id: str | None) -> bytes:
        """A new challenge for this ceremony (an earlier one of the same binding and purpose
        stops working)."""
        if purpose not in PURPOSES:
            raise ValueError(purpose)
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        now = self._clock()
        self._store.add_passkey_challenge(
            PasskeyChallenge(
                id=challenge_id(challenge),
                tenant_id=tenant_id,
                purpose=purpose,
                binding=self._bind(tenant_id, binding),
                created_at=now,
                expires_at=now + self._ttl,
                user_id=user_id,
            )
        )
        return challenge

    def take(
        self, tenant_id: str, purpose: str, binding: str, user_id: str | None, credential: Mapping[str, Any]
    ) -> bytes:
        """The challenge the credential answers, consumed; ``PasskeyRejected`` unless it was
        issued for this tenant, ceremony, binding and user and has not expired or been used."""
        challenge = answered_challenge(credential)
        record = self._store.take_passkey_challenge(tenant_id, challenge_id(challenge), self._clock())
        if record is None:
            raise PasskeyRejected("unknown, used or expired challenge")
        if (record.purpose, record.user_id) != (purpose, user_id) or record.binding != self._bind(
            tenant_id, binding
        ):
            raise PasskeyRejected("the challenge belongs to another ceremony")
        return challenge

    def _bind(self, tenant_id: str, binding: str) -> str:
        return self._ring.mac("passkey-binding", f"{tenant_id}:{binding}")
