"""Signing keys: generation (ES256 on P-256, RS256 on RSA-2048) and the published JWK Set."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

SUPPORTED_ALGS = ("ES256", "RS256")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and the algorithm it signs with; ``kid`` is its RFC 7638 thumbprint."""

    kid: str
    alg: str
    key: ECKey | RSAKey

    def private_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=True))

    def public_jwk(self) -> dict[str, Any]:
        jwk = dict(self.key.as_dict(private=False))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk

    @classmethod
    def from_jwk(cls, alg: str, jwk: dict[str, Any]) -> SigningKey:
        key = import_key(jwk)
        if not isinstance(key, ECKey | RSAKey):
            raise ValueError("unsupported key type")
        return cls(kid=str(jwk["kid"]), alg=alg, key=key)


def generate(alg: str) -> SigningKey:
    if alg == "ES256":
        key: ECKey | RSAKey = ECKey.generate_key("P-256", private=True, auto_kid=True)
    elif alg == "RS256":
        key = RSAKey.generate_key(2048, private=True, auto_kid=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    assert key.kid is not None
    return SigningKey(kid=key.kid, alg=alg, key=key)


def public_jwks(keys: Iterable[SigningKey]) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


def keyset(keys: Iterable[SigningKey]) -> KeySet:
    return KeySet([k.key for k in keys])
