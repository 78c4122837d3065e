"""Server variants for A/B runs: the real app with one or more candidate optimisations patched in.

    .venv/bin/python bench/run.py --variant keycache,tenantcache,inserts,selects

Nothing here changes src/; each patch is a sketch of a change proposed in docs/benchmarks.md,
applied in the server process only (``uvicorn --app-dir bench --factory variants:create_app``,
variants named in ``BENCH_KEYSTEAD_VARIANTS``), so its effect can be measured side by side with
the unpatched server on the same machine.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette


def _keycache() -> None:
    """KeyManager: re-check the cache under the lock (no reload stampede), read the clock after
    taking the lock, and reuse already-imported keys by (kid, ciphertext) instead of decrypting and
    re-importing them (an RSA-2048 private JWK import costs ~70 ms of CPU) on every reload."""
    from keystead.services import keys as mod

    imported: dict[tuple[str, bytes], Any] = {}
    original_decrypt = mod.KeyManager._decrypt

    def _keys(self: Any, tenant_id: str) -> Any:
        now = self._clock()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached.loaded_at < mod.CACHE_SECONDS:
            return cached
        with self._lock:
            now = self._clock()
            cached = self._cache.get(tenant_id)
            if cached is not None and now - cached.loaded_at < mod.CACHE_SECONDS:
                return cached
            loaded = self._load(tenant_id, now)
            self._cache[tenant_id] = loaded
        return loaded

    def _decrypt(self: Any, stored: Any) -> Any:
        key = (stored.kid, bytes(stored.encrypted_jwk))
        hit = imported.get(key)
        if hit is None:
            hit = imported[key] = original_decrypt(self, stored)
        return hit

    mod.KeyManager._keys = _keys  # type: ignore[method-assign]
    mod.KeyManager._decrypt = _decrypt  # type: ignore[method-assign]


def _tenantcache() -> None:
    """Tenants.find_active: a 5-second in-process cache, like the client cache (saves one SELECT
    per request, run on the event loop thread today)."""
    from keystead.services.tenants import Tenants

    original = Tenants.find_active
    cache: dict[str, tuple[float, Any]] = {}
    lock = threading.Lock()

    def find_active(self: Any, name: str) -> Any:
        now = time.monotonic()
        hit = cache.get(name)
        if hit is not None and now - hit[0] < 5.0:
            return hit[1]
        tenant = original(self, name)
        with lock:
            cache[name] = (now, tenant)
        return tenant

    Tenants.find_active = find_active  # type: ignore[method-assign]


def _inserts() -> None:
    """Inserts as ``conn.execute(table.insert(), row)`` (one cached compiled statement, the values
    as parameters) instead of ``table.insert().values(**row)`` (a new statement whose values are
    coerced into bind parameters and cache-keyed on every call)."""
    from sqlalchemy import update

    from keystead.adapters.sql import tables as t
    from keystead.adapters.sql._rows import to_row
    from keystead.adapters.sql.grants import GrantTables

    def inserter(table: Any) -> Callable[[Any, Any], None]:
        statement = table.insert()

        def add(self: Any, record: Any) -> None:
            with self.engine.begin() as conn:
                conn.execute(statement, to_row(record))

        return add

    GrantTables.add_code = inserter(t.authorization_codes)  # type: ignore[method-assign]
    GrantTables.add_grant = inserter(t.grants)  # type: ignore[method-assign]
    GrantTables.add_refresh_token = inserter(t.refresh_tokens)  # type: ignore[method-assign]
    GrantTables.add_access_token = inserter(t.access_tokens)  # type: ignore[method-assign]
    rt = t.refresh_tokens
    insert_rt = rt.insert()

    def rotate_refresh_token(self: Any, old_hmac: str, new: Any, *, now: float) -> bool:
        with self.engine.begin() as conn:
            stmt = update(rt).where(rt.c.token_hmac == old_hmac, rt.c.used_at.is_(None)).values(used_at=now)
            if conn.execute(stmt).rowcount != 1:
                return False
            conn.execute(insert_rt, to_row(new))
        return True

    GrantTables.rotate_refresh_token = rotate_refresh_token  # type: ignore[method-assign]


def _selects() -> None:
    """The hot-path reads as statements built once with ``bindparam`` (SQLAlchemy then skips
    constructing, coercing and cache-keying a new ``select()`` on every call): tenant by name,
    user by id, grant by id, refresh token by HMAC, access token state. In-process,
    ``user_by_id`` drops from ~555 to ~226 us of CPU (a bare sqlite3 cursor: ~22 us)."""
    from sqlalchemy import bindparam, select

    from keystead.adapters.sql import tables as t
    from keystead.adapters.sql._rows import to_record
    from keystead.adapters.sql.directory import DirectoryTables
    from keystead.adapters.sql.grants import GrantTables
    from keystead.adapters.sql.users import UserTables
    from keystead.ports.records import AccessTokenRecord, Grant, RefreshToken, Tenant, User

    tenant_q = select(t.tenants).where(t.tenants.c.name == bindparam("name"))
    user_q = select(t.users).where(t.users.c.tenant_id == bindparam("tid"), t.users.c.id == bindparam("id"))
    grant_q = select(t.grants).where(
        t.grants.c.tenant_id == bindparam("tid"), t.grants.c.id == bindparam("id")
    )
    rt = t.refresh_tokens
    rt_q = select(rt).where(rt.c.tenant_id == bindparam("tid"), rt.c.token_hmac == bindparam("h"))
    at, g = t.access_tokens, t.grants
    at_q = (
        select(at, g.c.id.label("g_id"), g.c.revoked_at.label("g_revoked_at"))
        .outerjoin(g, g.c.id == at.c.grant_id)
        .where(at.c.tenant_id == bindparam("tid"), at.c.jti == bindparam("jti"))
    )

    def one(self: Any, cls: Any, query: Any, params: dict[str, Any]) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(query, params).mappings().first()
        return to_record(cls, row) if row is not None else None

    def tenant_by_name(self: Any, name: str) -> Any:
        return one(self, Tenant, tenant_q, {"name": name})

    def user_by_id(self: Any, tenant_id: str, user_id: str) -> Any:
        return one(self, User, user_q, {"tid": tenant_id, "id": user_id})

    def grant_by_id(self: Any, tenant_id: str, grant_id: str) -> Any:
        return one(self, Grant, grant_q, {"tid": tenant_id, "id": grant_id})

    def refresh_token_by_hmac(self: Any, tenant_id: str, token_hmac: str) -> Any:
        return one(self, RefreshToken, rt_q, {"tid": tenant_id, "h": token_hmac})

    def access_token_state(self: Any, tenant_id: str, jti: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(at_q, {"tid": tenant_id, "jti": jti}).mappings().first()
        if row is None:
            return None
        record = to_record(AccessTokenRecord, row)
        grant = grant_by_id(self, tenant_id, row["g_id"]) if row["g_id"] is not None else None
        return record, grant

    DirectoryTables.tenant_by_name = tenant_by_name  # type: ignore[method-assign]
    UserTables.user_by_id = user_by_id  # type: ignore[method-assign]
    GrantTables.grant_by_id = grant_by_id  # type: ignore[method-assign]
    GrantTables.refresh_token_by_hmac = refresh_token_by_hmac  # type: ignore[method-assign]
    GrantTables.access_token_state = access_token_state  # type: ignore[method-assign]


def _inline() -> None:
    """Protocol endpoints (token, introspection, userinfo, JWKS) call their service directly on
    the event loop instead of hopping to a worker thread: on one core the hop buys no parallelism
    for sub-millisecond CPU-bound work. The hosted pages (argon2) keep the thread pool."""
    from keystead.http import oidc

    async def run_inline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    oidc.run_in_threadpool = run_inline  # type: ignore[assignment]


PATCHES: dict[str, Callable[[], None]] = {
    "keycache": _keycache,
    "tenantcache": _tenantcache,
    "inserts": _inserts,
    "selects": _selects,
    "inline": _inline,
}


def apply(names: list[str]) -> None:
    for name in names:
        PATCHES[name]()


def create_app() -> Starlette:
    names = [n for n in os.environ.get("BENCH_KEYSTEAD_VARIANTS", "").split(",") if n]
    apply(names)
    from keystead.http.app import create_app as real

    return real()
