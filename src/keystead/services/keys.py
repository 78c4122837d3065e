"""Signing keys per tenant: one active key per algorithm, rotation, and the published JWKS.

After ``rotate`` the previous key stays in the JWKS until every token it signed has expired
(its ``publish_until`` is now plus the longest token lifetime plus the clock skew). Keys are
cached in process for a few seconds, so a rotation made by another node or the CLI is seen
quickly, and the cache is dropped at once when this process rotates.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from keystead.ports.records import StoredKey
from keystead.ports.stores import KeyStore
from keystead.protocols.jose import SigningKey, generate, public_jwks
from keystead.protocols.jose.keys import keyset
from keystead.services.secrets import KeyRing
from keystead.types import Clock

CACHE_SECONDS = 5.0
DEFAULT_ALG = "ES256"


@dataclass(frozen=True, slots=True)
class TenantKeys:
    active: dict[str, SigningKey]  # alg -> key
    published: tuple[SigningKey, ...]
    verify_set: KeySet
    jwks: dict[str, Any]
    loaded_at: float


class KeyManager:
    def __init__(self, store: KeyStore, ring: KeyRing, clock: Clock, max_token_ttl: int) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._max_token_ttl = max_token_ttl
        self._cache: dict[str, TenantKeys] = {}
        self._imported: dict[str, tuple[bytes, SigningKey]] = {}
        self._lock = threading.Lock()

    def ensure_keys(self, tenant_id: str, algs: tuple[str, ...] = (DEFAULT_ALG,)) -> None:
        """Make sure an active key exists for each of ``algs``. ES256 always exists; an RS256 key
        is made when the first client that asks for RS256 ID tokens is registered."""
        existing = self._active_algs(tenant_id)
        missing = [alg for alg in algs if alg not in existing]
        for alg in missing:
            self._add(tenant_id, generate(alg))
        if missing:
            self._cache.pop(tenant_id, None)

    def _active_algs(self, tenant_id: str) -> set[str]:
        return {k.alg for k in self._store.keys_for(tenant_id) if k.status == "active"}

    def rotate(self, tenant_id: str, *, retire_after: int | None = None) -> list[SigningKey]:
        now = self._clock()
        publish_until = now + (retire_after if retire_after is not None else self._max_token_ttl)
        new_keys = []
        for alg in sorted(self._active_algs(tenant_id) | {DEFAULT_ALG}):
            self._store.retire_keys(tenant_id, alg, publish_until=publish_until)
            key = generate(alg)
            self._add(tenant_id, key)
            new_keys.append(key)
        self._store.prune_keys(tenant_id, now=now)
        self._cache.pop(tenant_id, None)
        return new_keys

    def listing(self, tenant_id: str) -> list[StoredKey]:
        return list(self._store.keys_for(tenant_id))

    def signing_key(self, tenant_id: str, alg: str) -> SigningKey:
        key = self._keys(tenant_id).active.get(alg)
        if key is None:
            self.ensure_keys(tenant_id, (alg,))
            key = self._keys(tenant_id).active[alg]
        return key

    def verify_set(self, tenant_id: str) -> KeySet:
        return self._keys(tenant_id).verify_set

    def cached_jwks(self, tenant_id: str) -> dict[str, Any] | None:
        """The JWKS if it is in the cache and fresh, without touching storage (no thread hop)."""
        cached = self._cache.get(tenant_id)
        if cached is not None and self._clock() - cached.loaded_at < CACHE_SECONDS:
            return cached.jwks
        return None

    def jwks(self, tenant_id: str) -> dict[str, Any]:
        return self._keys(tenant_id).jwks

    def _keys(self, tenant_id: str) -> TenantKeys:
        now = self._clock()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached.loaded_at < CACHE_SECONDS:
            return cached
        with self._lock:
            cached = self._cache.get(tenant_id)  # another thread may have loaded it meanwhile
            if cached is not None and now - cached.loaded_at < CACHE_SECONDS:
                return cached
            loaded = self._load(tenant_id, now)
            self._cache[tenant_id] = loaded
        return loaded

    def _load(self, tenant_id: str, now: float) -> TenantKeys:
        stored = [
            k for k in self._store.keys_for(tenant_id) if k.status == "active" or (k.publish_until or 0) > now
        ]
        if not any(k.status == "active" and k.alg == DEFAULT_ALG for k in stored):
            self.ensure_keys(tenant_id)
            stored = list(self._store.keys_for(tenant_id))
        keys = [(s, self._decrypt(s)) for s in stored]
        active: dict[str, SigningKey] = {}
        for record, key in keys:  # newest first
            if record.status == "active":
                active.setdefault(record.alg, key)
        published = tuple(k for _, k in keys)
        return TenantKeys(active, published, keyset(published), public_jwks(published), now)

    def _add(self, tenant_id: str, key: SigningKey) -> None:
        blob = self._ring.encrypt(
            json.dumps(key.private_jwk()).encode(), context=f"jwk:{tenant_id}:{key.kid}"
        )
        self._store.add_key(StoredKey(key.kid, tenant_id, key.alg, blob, "active", self._clock()))

    def _decrypt(self, stored: StoredKey) -> SigningKey:
        """Decrypt and import once per key: an RSA private key import costs tens of ms."""
        known = self._imported.get(stored.kid)
        if known is not None and known[0] == stored.encrypted_jwk:
            return known[1]
        key = self._import(stored)
        if len(self._imported) > 10_000:
            self._imported.clear()
        self._imported[stored.kid] = (stored.encrypted_jwk, key)
        return key

    def _import(self, stored: StoredKey) -> SigningKey:
        raw = self._ring.decrypt(stored.encrypted_jwk, context=f"jwk:{stored.tenant_id}:{stored.kid}")
        jwk = json.loads(raw)
        jwk["kid"] = stored.kid
        return SigningKey.from_jwk(stored.alg, jwk)
