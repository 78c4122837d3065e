"""Introspector: RFC 7662 responses mapped to AccessToken or InvalidToken."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from keystead.sdk import AsyncIntrospector, Introspector, InvalidToken, ProviderError
from tests.sdk.conftest import ISSUER, FakeKeystead

ACTIVE = {
    "active": True,
    "token_type": "Bearer",
    "iss": ISSUER,
    "sub": "user-1",
    "client_id": "billing-api",
    "scope": "invoices:read",
    "exp": 1_800_000_600,
    "jti": "jti-1",
}


@pytest.fixture
def introspector(fake: FakeKeystead) -> Iterator[Introspector]:
    with httpx.Client(transport=fake.transport()) as http:
        yield Introspector(ISSUER, "rs client", "s3cr:t/+", http=http)


def test_active_token(introspector: Introspector, fake: FakeKeystead) -> None:
    fake.introspection = ACTIVE
    token = introspector.check("the-token")
    assert (token.sub, token.client_id, token.scopes, token.expires_at) == (
        "user-1",
        "billing-api",
        frozenset({"invoices:read"}),
        1_800_000_600,
    )
    sent = fake.introspection_requests[0]
    assert sent.content == b"token=the-token&token_type_hint=access_token"
    # RFC 6749 section 2.3.1: form-urlencoded before Basic encoding
    basic = base64.b64decode(sent.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == "rs%20client:s3cr%3At%2F%2B"
    assert fake.requests.count("/t/acme/.well-known/openid-configuration") == 1


def test_inactive_token(introspector: Introspector, fake: FakeKeystead) -> None:
    fake.introspection = {"active": False}
    with pytest.raises(InvalidToken, match="not active"):
        introspector.check("revoked")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"token_type": "refresh_token"}, "not an access token"),
        ({"iss": "https://other.example.test"}, "wrong issuer"),
        ({"exp": None}, "missing"),
        ({"active": "true"}, "not active"),
    ],
)
def test_unusable_answers(
    introspector: Introspector, fake: FakeKeystead, change: dict[str, Any], reason: str
) -> None:
    fake.introspection = {**ACTIVE, **change}
    with pytest.raises(InvalidToken, match=reason):
        introspector.check("t")


def test_endpoint_without_discovery(fake: FakeKeystead) -> None:
    fake.introspection = ACTIVE
    with httpx.Client(transport=fake.transport()) as http:
        introspector = Introspector(ISSUER, "c", "s", endpoint=f"{ISSUER}/introspect", http=http)
        assert introspector.check("t").sub == "user-1"
    assert fake.requests == ["/t/acme/introspect"]


def test_provider_errors(introspector: Introspector, fake: FakeKeystead) -> None:
    fake.down = True
    with pytest.raises(ProviderError, match="503"):
        introspector.check("t")


def test_async_introspector(fake: FakeKeystead) -> None:
    fake.introspection = ACTIVE

    async def main() -> None:
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            introspector = AsyncIntrospector(ISSUER, "c", "s", http=http)
            assert (await introspector.check("t")).sub == "user-1"
            fake.introspection = {"active": False}
            with pytest.raises(InvalidToken):
                await introspector.check("t")

    asyncio.run(main())
