"""A fake Keystead for unit tests: discovery and JWKS served through ``httpx.MockTransport``
(the HTTP transport, not a mock of the SDK), locally generated keys, an injected clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from keystead.clock import FrozenClock
from keystead.sdk import TokenVerifier

ISSUER = "https://id.example.test/t/acme"
AUDIENCE = "billing-api"
NOW = 1_800_000_000.0


def new_key(alg: str = "ES256") -> ECKey | RSAKey:
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True, auto_kid=True)
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class FakeKeystead:
    """Serves ``{ISSUER}/.well-known/openid-configuration`` and ``{ISSUER}/jwks``; counts requests."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.keys: list[tuple[ECKey | RSAKey, str]] = [(new_key(), "ES256")]
        self.metadata_issuer = ISSUER
        self.down = False
        self.requests: list[str] = []
        self.introspection: dict[str, Any] = {"active": False}
        self.introspection_requests: list[httpx.Request] = []

    @property
    def jwks_fetches(self) -> int:
        return self.requests.count("/t/acme/jwks")

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/t/acme/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.metadata_issuer,
                    "jwks_uri": f"{ISSUER}/jwks",
                    "introspection_endpoint": f"{ISSUER}/introspect",
                },
            )
        if request.url.path == "/t/acme/jwks":
            return httpx.Response(200, json={"keys": [self.public_jwk(k, alg) for k, alg in self.keys]})
        if request.url.path == "/t/acme/introspect" and request.method == "POST":
            self.introspection_requests.append(request)
            return httpx.Response(200, json=self.introspection)
        return httpx.Response(404)

    @staticmethod
    def public_jwk(key: ECKey | RSAKey, alg: str) -> dict[str, Any]:
        return {**key.as_dict(private=False), "kid": key.kid, "alg": alg, "use": "sig"}

    def rotate(self) -> ECKey | RSAKey:
        key = new_key()
        self.keys.insert(0, (key, "ES256"))
        return key

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock())
        claims = {
            "iss": ISSUER,
            "sub": "user-1",
            "aud": AUDIENCE,
            "client_id": AUDIENCE,
            "scope": "invoices:read profile",
            "jti": "jti-1",
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        key: ECKey | RSAKey | None = None,
        *,
        alg: str = "ES256",
        typ: str | None = "at+jwt",
        **claims: Any,
    ) -> str:
        key = key or self.keys[0][0]
        header: dict[str, Any] = {"alg": alg, "kid": key.kid}
        if typ is not None:
            header["typ"] = typ
        return jwt.encode(header, self.claims(**claims), key)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def fake(clock: FrozenClock) -> FakeKeystead:
    return FakeKeystead(clock)


@pytest.fixture
def verifier(fake: FakeKeystead, clock: FrozenClock) -> Iterator[TokenVerifier]:
    with httpx.Client(transport=fake.transport()) as http:
        yield TokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)
