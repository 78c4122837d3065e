"""The cached JWK Set: a time-to-live, one refetch for an unknown ``kid``, and a floor on how
often Keystead is asked again (a flood of made-up ``kid`` values costs one request per interval).

Sans-IO and thread-safe: the verifiers decide *when* to fetch by asking :meth:`KeyCache.lookup`
and hand the fetched document back with :meth:`KeyCache.store`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey, import_key

from keystead.sdk._checks import PublicKey
from keystead.sdk.errors import InvalidToken, ProviderError


@dataclass(frozen=True, slots=True)
class CachedKey:
    key: PublicKey
    alg: str | None


class KeyCache:
    def __init__(self, *, ttl: float, refetch_interval: float) -> None:
        self._ttl = ttl
        self._interval = refetch_interval
        self._lock = threading.Lock()
        self._keys: dict[str, CachedKey] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._last_error = ""

    def lookup(self, kid: str, now: float) -> CachedKey | None:
        """The key when no fetch is due; ``None`` when the caller should fetch now.

        Raises :class:`InvalidToken` for a ``kid`` still unknown while refetching is held back,
        :class:`ProviderError` when no key set could be fetched yet."""
        with self._lock:
            known = self._keys.get(kid) if self._keys is not None else None
            if known is not None and now - self._fetched_at < self._ttl:
                return known
            if now - self._attempted_at >= self._interval:
                return None
            if known is not None:
                return known  # stale, but asking again is held back
            if self._keys is None:
                raise ProviderError(f"no JWK Set yet: {self._last_error}")
            raise InvalidToken(f"unknown kid {kid!r} (refetch held back)")

    def begin_fetch(self, now: float) -> None:
        with self._lock:
            self._attempted_at = now

    def store(self, jwks: Any, now: float) -> None:
        keys = parse_jwks(jwks)
        with self._lock:
            self._keys, self._fetched_at = keys, now

    def after_fetch(self, kid: str) -> CachedKey:
        with self._lock:
            found = self._keys.get(kid) if self._keys is not None else None
        if found is None:
            raise InvalidToken(f"unknown kid {kid!r}")
        return found

    def after_failure(self, kid: str, error: ProviderError) -> CachedKey:
        """Keep serving a known key while Keystead cannot be reached; else re-raise."""
        with self._lock:
            self._last_error = error.reason
            found = self._keys.get(kid) if self._keys is not None else None
        if found is None:
            raise error
        return found


def parse_jwks(jwks: Any) -> dict[str, CachedKey]:
    """The signature keys of a JWK Set by ``kid``; keys this SDK cannot use are skipped."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ProviderError("the JWK Set has no 'keys' array")
    keys: dict[str, CachedKey] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or not isinstance(jwk.get("kid"), str):
            continue
        try:
            key = import_key(jwk)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        if isinstance(key, ECKey | RSAKey):
            alg = jwk.get("alg")
            keys[jwk["kid"]] = CachedKey(key, alg if isinstance(alg, str) else None)
    return keys
