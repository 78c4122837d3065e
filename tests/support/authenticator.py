"""A software WebAuthn authenticator for tests: ES256 keys, real ``authenticatorData``,
``clientDataJSON`` and a ``none`` attestation in CBOR, so the server's verification runs on the
same bytes a browser would send. Options in, ``PublicKeyCredential.toJSON()`` out.

Knobs for negative tests: the origin and RP ID the "browser" reports, user verification, backup
eligibility, and how the signature counter moves (``counter_step=0``: an authenticator that
always reports 0, like most synced passkeys)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str | None = None  # default: the options' rp.id / rpId
    uv: bool = True
    backup_eligible: bool = False
    counter_step: int = 1
    aaguid: bytes = bytes(16)
    credentials: dict[bytes, SoftCredential] = field(default_factory=dict)

    def create(self, options_json: str, **overrides: Any) -> dict[str, Any]:
        options = json.loads(options_json)
        rp_id = overrides.get("rp_id") or self.rp_id or options["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        if excluded & self.credentials.keys():
            raise AssertionError("InvalidStateError: this authenticator holds an excluded credential")
        cred = SoftCredential(
            id=overrides.get("credential_id") or os.urandom(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=unb64url(options["user"]["id"]),
        )
        self.credentials[cred.id] = cred
        numbers = cred.key.public_key().public_numbers()
        cose = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        attested = self.aaguid + struct.pack(">H", len(cred.id)) + cred.id + cose
        auth_data = self._auth_data(rp_id, cred.count, AT, overrides) + attested
        client_data = self._client_data("webauthn.create", options["challenge"], overrides)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(cred.id),
            "rawId": b64url(cred.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(
        self, options_json: str, credential: SoftCredential | None = None, **overrides: Any
    ) -> dict[str, Any]:
        options = json.loads(options_json)
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials", [])]
        if credential is None:
            candidates = [c for i, c in self.credentials.items() if (not allowed or i in allowed)]
            if not candidates:
                raise AssertionError("NotAllowedError: no credential for this request")
            credential = candidates[0]
        credential.count += self.counter_step
        rp_id = overrides.get("rp_id") or self.rp_id or options["rpId"]
        auth_data = self._auth_data(rp_id, credential.count, 0, overrides)
        client_data = self._client_data("webauthn.get", options["challenge"], overrides)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

    @property
    def only(self) -> SoftCredential:
        (credential,) = self.credentials.values()
        return credential

    def _auth_data(self, rp_id: str, count: int, extra: int, overrides: dict[str, Any]) -> bytes:
        flags = UP | extra
        if overrides.get("uv", self.uv):
            flags |= UV
        if overrides.get("backup_eligible", self.backup_eligible):
            flags |= BE | BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count)

    def _client_data(self, kind: str, challenge: str, overrides: dict[str, Any]) -> bytes:
        body = {
            "type": kind,
            "challenge": overrides.get("challenge", challenge),
            "origin": overrides.get("origin", self.origin),
            "crossOrigin": False,
        }
        return json.dumps(body, separators=(",", ":")).encode()


def tamper(response: dict[str, Any]) -> dict[str, Any]:
    """The same assertion with one bit of its signature flipped."""
    signature = bytearray(unb64url(response["response"]["signature"]))
    signature[-1] ^= 0x01
    return {**response, "response": {**response["response"], "signature": b64url(bytes(signature))}}
