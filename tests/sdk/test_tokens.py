"""TokenVerifier: RFC 9068 section 4 checks, the algorithm allow-list (RFC 8725 section 3.1),
and the JWK Set cache (TTL, one refetch for an unknown kid, rate limit, provider down)."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from keystead.clock import FrozenClock
from keystead.sdk import (
    AccessToken,
    AsyncTokenVerifier,
    InsufficientScope,
    InvalidToken,
    ProviderError,
    TokenVerifier,
    require_scopes,
)
from tests.sdk.conftest import AUDIENCE, ISSUER, FakeKeystead, b64, new_key


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return caught.value.reason


# the happy path
def test_valid_token(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    token = verifier.verify(fake.token())
    assert isinstance(token, AccessToken)
    assert token.sub == "user-1"
    assert token.client_id == AUDIENCE
    assert token.scopes == frozenset({"invoices:read", "profile"})
    assert token.expires_at == int(fake.clock()) + 600
    assert token.jti == "jti-1"
    assert token.claims["iss"] == ISSUER
    assert fake.requests == ["/t/acme/.well-known/openid-configuration", "/t/acme/jwks"]


def test_keys_are_cached(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    for _ in range(5):
        verifier.verify(fake.token())
    assert fake.jwks_fetches == 1


def test_rs256_and_media_type_typ(fake: FakeKeystead, clock: FrozenClock) -> None:
    rsa = new_key("RS256")
    fake.keys.append((rsa, "RS256"))
    with httpx.Client(transport=fake.transport()) as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)
        assert verifier.verify(fake.token(rsa, alg="RS256", typ="application/at+jwt")).sub == "user-1"
        assert verifier.verify(fake.token(typ="AT+JWT")).sub == "user-1"


def test_audience_list_and_no_audience(fake: FakeKeystead, clock: FrozenClock) -> None:
    with httpx.Client(transport=fake.transport()) as http:
        several = TokenVerifier(ISSUER, ["other", AUDIENCE], http=http, clock=clock)
        assert several.verify(fake.token(aud=["x", AUDIENCE])).sub == "user-1"
        anyone = TokenVerifier(ISSUER, http=http, clock=clock)
        assert anyone.verify(fake.token(aud="whoever")).sub == "user-1"


# time
def test_expired(verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock) -> None:
    token = fake.token()
    clock.advance(600 + 59)
    assert verifier.verify(token).sub == "user-1"  # within the 60 s leeway
    clock.advance(1)
    assert refused(verifier, token) == "expired"


def test_not_yet_valid(verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock) -> None:
    now = int(clock())
    assert refused(verifier, fake.token(nbf=now + 61)) == "not yet valid"
    assert verifier.verify(fake.token(nbf=now + 60)).sub == "user-1"
    assert refused(verifier, fake.token(iat=now + 61)) == "issued in the future"


def test_time_claims_required(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    assert "required" in refused(verifier, fake.token(exp=None))
    assert "not a number" in refused(verifier, fake.token(exp="tomorrow"))
    assert "not a number" in refused(verifier, fake.token(exp=True))


# who it is for
def test_wrong_issuer(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    assert "issuer" in refused(verifier, fake.token(iss="https://id.example.test/t/other"))


def test_wrong_audience(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    assert "audience" in refused(verifier, fake.token(aud="another-api"))
    assert "audience" in refused(verifier, fake.token(aud=["a", "b"]))
    assert "audience" in refused(verifier, fake.token(aud=None))


def test_sub_and_client_id_required(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    assert "client_id" in refused(verifier, fake.token(client_id=None))
    assert "sub" in refused(verifier, fake.token(sub=None))


# what it is
def test_id_token_is_refused(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    """RFC 9068 section 4: an ID token (typ JWT) signed by the same key is not an access token."""
    id_token = fake.token(typ="JWT", azp=AUDIENCE, nonce="n")
    assert "typ" in refused(verifier, id_token)
    assert "typ" in refused(verifier, fake.token(typ=None))


def test_alg_none_refused(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    kid = fake.keys[0][0].kid
    header = {"alg": "none", "kid": kid, "typ": "at+jwt"}
    token = f"{b64(header)}.{b64(fake.claims())}."
    assert "algorithm" in refused(verifier, token)


def test_hs256_refused_even_with_the_public_key_as_secret(
    verifier: TokenVerifier, fake: FakeKeystead
) -> None:
    key = fake.keys[0][0]
    secret = OctKey.import_key(str(key.as_dict(private=False)["x"]).encode())
    header = {"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(header, fake.claims(), secret, algorithms=["HS256"])
    assert "algorithm" in refused(verifier, token)


def test_algorithm_allow_list_is_asymmetric_only() -> None:
    for algorithms in (["none"], ["HS256"], ["ES256", "HS512"], []):
        with pytest.raises(ValueError):
            TokenVerifier(ISSUER, algorithms=algorithms)


def test_empty_audience_list_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="audience"):
        TokenVerifier(ISSUER, [])


def test_public_api_is_pinned() -> None:
    import keystead.sdk

    assert sorted(keystead.sdk.__all__) == [
        "AccessToken",
        "AdminApiError",
        "AdminClient",
        "AsyncAdminClient",
        "AsyncIntrospector",
        "AsyncTokenVerifier",
        "InsufficientScope",
        "Introspector",
        "InvalidToken",
        "ProviderError",
        "SdkError",
        "TokenVerifier",
        "require_scopes",
    ]


def test_algorithm_outside_the_configured_list(fake: FakeKeystead, clock: FrozenClock) -> None:
    with httpx.Client(transport=fake.transport()) as http:
        only_rs = TokenVerifier(ISSUER, http=http, clock=clock, algorithms=["RS256"])
        assert "algorithm" in refused(only_rs, fake.token())
    assert fake.requests == []  # refused before any key was fetched


def test_key_published_for_another_alg(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    rsa = new_key("RS256")
    fake.keys = [(rsa, "PS256")]
    assert "PS256" in refused(verifier, fake.token(rsa, alg="RS256"))


def test_tampered_signature(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    header, payload, signature = fake.token().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert "signature" in refused(verifier, f"{header}.{payload}.{flipped}")
    forged = b64(fake.claims(scope="admin"))
    assert "signature" in refused(verifier, f"{header}.{forged}.{signature}")


def test_signed_by_an_unpublished_key(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    stranger = new_key()
    assert "unknown kid" in refused(verifier, fake.token(stranger))


@pytest.mark.parametrize("value", ["", "abc", "a.b", "a.b.c.d.e", "!!!.e30.x", "e30.e30.x", "x" * 20000])
def test_garbage(verifier: TokenVerifier, value: str) -> None:
    refused(verifier, value)


def test_critical_header_refused(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    key = fake.keys[0][0]
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt", "crit": ["exp"], "exp": 1}
    token = f"{b64(header)}.{b64(fake.claims())}.c2ln"  # joserfc would not sign it
    assert "critical" in refused(verifier, token)


# key rotation and the cache
def test_unknown_kid_triggers_one_refetch(
    verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock
) -> None:
    verifier.verify(fake.token())
    clock.advance(11)  # past the refetch interval since the first fetch
    new = fake.rotate()
    assert verifier.verify(fake.token(new)).sub == "user-1"
    assert fake.jwks_fetches == 2
    verifier.verify(fake.token(new))
    assert fake.jwks_fetches == 2


def test_refetch_is_rate_limited(verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock) -> None:
    verifier.verify(fake.token())
    clock.advance(11)
    for _ in range(50):  # a flood of made-up kids
        assert "unknown kid" in refused(verifier, fake.token(new_key()))
    assert fake.jwks_fetches == 2  # the first of them refetched, the rest were held back
    rotated = fake.rotate()
    assert "held back" in refused(verifier, fake.token(rotated))
    clock.advance(10)
    assert verifier.verify(fake.token(rotated)).sub == "user-1"
    assert fake.jwks_fetches == 3


def test_ttl_expiry_refetches(verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock) -> None:
    verifier.verify(fake.token())
    clock.advance(299)
    verifier.verify(fake.token())
    assert fake.jwks_fetches == 1
    clock.advance(1)
    verifier.verify(fake.token())
    assert fake.jwks_fetches == 2
    assert fake.requests.count("/t/acme/.well-known/openid-configuration") == 1


def test_retired_key_stops_working_after_refresh(
    verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock
) -> None:
    old = fake.keys[0][0]
    verifier.verify(fake.token(old))
    fake.keys = [(new_key(), "ES256")]
    clock.advance(300)
    assert "unknown kid" in refused(verifier, fake.token(old))


def test_provider_down_keeps_known_keys(
    verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock
) -> None:
    verifier.verify(fake.token())
    fake.down = True
    clock.advance(301)
    assert verifier.verify(fake.token()).sub == "user-1"  # stale keys serve while Keystead is away
    assert "unknown kid" in refused(verifier, fake.token(new_key()))
    fetches = len(fake.requests)
    for _ in range(20):
        verifier.verify(fake.token())
    assert len(fake.requests) == fetches  # the retry is rate limited too


def test_provider_down_without_keys(verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock) -> None:
    fake.down = True
    with pytest.raises(ProviderError, match="503"):
        verifier.verify(fake.token())
    with pytest.raises(ProviderError, match="no JWK Set yet"):
        verifier.verify(fake.token())
    assert len(fake.requests) == 1
    fake.down = False
    clock.advance(10)
    assert verifier.verify(fake.token()).sub == "user-1"


def test_discovery_issuer_mismatch(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    fake.metadata_issuer = "https://evil.example.test/t/acme"
    with pytest.raises(ProviderError, match="discovery issuer") as caught:
        verifier.verify(fake.token())
    assert "evil" in caught.value.reason
    assert fake.jwks_fetches == 0


def test_bad_jwks_document(fake: FakeKeystead, clock: FrozenClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jwks"):
            return httpx.Response(200, json={"keys": "nope"})
        return fake.handler(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        verifier = TokenVerifier(ISSUER, http=http, clock=clock)
        with pytest.raises(ProviderError, match="keys"):
            verifier.verify(fake.token())


def test_concurrent_cold_start_fetches_once(fake: FakeKeystead, clock: FrozenClock) -> None:
    with httpx.Client(transport=fake.transport()) as http:
        verifier = TokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)
        token = fake.token()
        results: list[str] = []
        threads = [
            threading.Thread(target=lambda: results.append(verifier.verify(token).sub)) for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == ["user-1"] * 8
    assert fake.jwks_fetches == 1


# scopes
def test_require_scopes(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    token = verifier.verify(fake.token())
    assert require_scopes(token, "invoices:read") is token
    with pytest.raises(InsufficientScope) as caught:
        require_scopes(token, "invoices:read", "invoices:write")
    assert caught.value.required == ("invoices:read", "invoices:write")
    assert caught.value.error == "insufficient_scope"


# asyncio
def test_async_verifier(fake: FakeKeystead, clock: FrozenClock) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            verifier = AsyncTokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)
            tokens = await asyncio.gather(*(verifier.verify(fake.token()) for _ in range(5)))
            assert {t.sub for t in tokens} == {"user-1"}
            assert fake.jwks_fetches == 1
            with pytest.raises(InvalidToken):
                await verifier.verify(fake.token(aud="other"))
            clock.advance(11)
            assert (await verifier.verify(fake.token(fake.rotate()))).sub == "user-1"
            assert fake.jwks_fetches == 2

    asyncio.run(main())


def test_async_verifier_outlives_its_event_loop(fake: FakeKeystead, clock: FrozenClock) -> None:
    """One verifier, two ``asyncio.run`` calls (as in tests or worker restarts)."""
    verifier = AsyncTokenVerifier(
        ISSUER, AUDIENCE, http=httpx.AsyncClient(transport=fake.transport()), clock=clock
    )

    async def unknown_kid() -> None:
        with pytest.raises(InvalidToken, match="unknown kid"):
            await verifier.verify(fake.token(new_key()))

    asyncio.run(unknown_kid())
    clock.advance(10)
    asyncio.run(unknown_kid())
    assert fake.jwks_fetches == 2
