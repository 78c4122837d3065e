"""Verifying Keystead access tokens locally: RFC 9068 JWTs checked against the issuer's JWK Set.

``TokenVerifier`` (with ``httpx.Client``) and ``AsyncTokenVerifier`` (with ``httpx.AsyncClient``)
share one policy and one cache design; both are safe to share between threads and requests.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from typing import Any, Self

import httpx

from keystead.sdk._checks import (
    Header,
    Policy,
    allowed_algorithms,
    check_claims,
    read_header,
    verify_signature,
)
from keystead.sdk._discovery import DEFAULT_TIMEOUT, aget_json, discovery_url, endpoint, get_json
from keystead.sdk._keys import CachedKey, KeyCache
from keystead.sdk.access_token import AccessToken
from keystead.sdk.errors import ProviderError

Clock = Callable[[], float]
DEFAULT_ALGORITHMS = ("ES256", "RS256")


class _Verifier:
    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str] | None,
        *,
        clock: Clock,
        leeway: float,
        jwks_ttl: float,
        jwks_refetch_interval: float,
        algorithms: Collection[str],
    ) -> None:
        self.issuer = issuer
        audiences = (
            None if audience is None else frozenset([audience] if isinstance(audience, str) else audience)
        )
        if audiences is not None and not audiences:
            raise ValueError("audience must name at least one value (or be None)")
        self._policy = Policy(issuer, audiences, float(leeway), allowed_algorithms(algorithms))
        self._clock = clock
        self._cache = KeyCache(ttl=jwks_ttl, refetch_interval=jwks_refetch_interval)
        self._jwks_uri: str | None = None

    def _finish(self, token: str, header: Header, key: CachedKey) -> AccessToken:
        claims = verify_signature(token, header, key.key, key.alg)
        return check_claims(claims, self._policy, self._clock())


class TokenVerifier(_Verifier):
    """Checks signature (by ``kid``, from the cached JWK Set), ``typ`` ``at+jwt``, algorithm,
    ``iss``, ``aud`` (when ``audience`` is set: one value or any of several) and
    ``exp``/``nbf``/``iat`` with ``leeway`` seconds.

    The JWK Set is found through ``{issuer}/.well-known/openid-configuration`` and kept
    ``jwks_ttl`` seconds; an unknown ``kid`` triggers a refetch, at most one per
    ``jwks_refetch_interval`` seconds. When Keystead cannot be reached, known keys keep working.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str] | None = None,
        *,
        http: httpx.Client | None = None,
        clock: Clock = time.time,
        leeway: float = 60,
        jwks_ttl: float = 300,
        jwks_refetch_interval: float = 10,
        algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    ) -> None:
        super().__init__(
            issuer,
            audience,
            clock=clock,
            leeway=leeway,
            jwks_ttl=jwks_ttl,
            jwks_refetch_interval=jwks_refetch_interval,
            algorithms=algorithms,
        )
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._fetch_lock = threading.Lock()

    def verify(self, token: str) -> AccessToken:
        """The verified token, or :class:`InvalidToken` / :class:`ProviderError`."""
        header = read_header(token, self._policy)
        return self._finish(token, header, self._key(header.kid))

    def _key(self, kid: str) -> CachedKey:
        found = self._cache.lookup(kid, self._clock())
        if found is not None:
            return found
        with self._fetch_lock:  # one fetch at a time; the others then find its result
            now = self._clock()
            found = self._cache.lookup(kid, now)
            if found is not None:
                return found
            self._cache.begin_fetch(now)
            try:
                self._cache.store(self._fetch_jwks(), now)
            except ProviderError as exc:
                return self._cache.after_failure(kid, exc)
            return self._cache.after_fetch(kid)

    def _fetch_jwks(self) -> Any:
        if self._jwks_uri is None:
            metadata = get_json(self._http, discovery_url(self.issuer))
            self._jwks_uri = endpoint(metadata, self.issuer, "jwks_uri")
        return get_json(self._http, self._jwks_uri)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncTokenVerifier(_Verifier):
    """:class:`TokenVerifier` for asyncio code; ``await verifier.verify(token)``."""

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str] | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        leeway: float = 60,
        jwks_ttl: float = 300,
        jwks_refetch_interval: float = 10,
        algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    ) -> None:
        super().__init__(
            issuer,
            audience,
            clock=clock,
            leeway=leeway,
            jwks_ttl=jwks_ttl,
            jwks_refetch_interval=jwks_refetch_interval,
            algorithms=algorithms,
        )
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._locks = _LoopLocks()

    async def verify(self, token: str) -> AccessToken:
        header = read_header(token, self._policy)
        return self._finish(token, header, await self._key(header.kid))

    async def _key(self, kid: str) -> CachedKey:
        found = self._cache.lookup(kid, self._clock())
        if found is not None:
            return found
        async with self._locks.get():
            now = self._clock()
            found = self._cache.lookup(kid, now)
            if found is not None:
                return found
            self._cache.begin_fetch(now)
            try:
                self._cache.store(await self._fetch_jwks(), now)
            except ProviderError as exc:
                return self._cache.after_failure(kid, exc)
            return self._cache.after_fetch(kid)

    async def _fetch_jwks(self) -> Any:
        if self._jwks_uri is None:
            metadata = await aget_json(self._http, discovery_url(self.issuer))
            self._jwks_uri = endpoint(metadata, self.issuer, "jwks_uri")
        return await aget_json(self._http, self._jwks_uri)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()


class _LoopLocks:
    """One ``asyncio.Lock`` per running event loop (a verifier may outlive a loop, e.g. in tests)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock
