"""Keys derived from the master secret: HMACs for stored tokens and CSRF, AEAD for keys at rest.

Tokens handed out (codes, refresh tokens, session cookies, interaction handles) are random
256-bit values; only their HMAC-SHA256 under a purpose-specific key is ever stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


class KeyRing:
    def __init__(self, master_secret: str) -> None:
        self._master = master_secret.encode("utf-8")
        self._hmac_keys: dict[str, bytes] = {}
        self._aead = AESGCM(self._derive("keystead/at-rest/v1"))

    def _derive(self, purpose: str) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._master)

    def mac(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the key for ``purpose``, hex."""
        key = self._hmac_keys.get(purpose)
        if key is None:
            key = self._hmac_keys.setdefault(purpose, self._derive(f"keystead/hmac/{purpose}"))
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def mac_matches(self, purpose: str, value: str, expected: str) -> bool:
        return hmac.compare_digest(self.mac(purpose, value), expected)

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], context.encode())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
