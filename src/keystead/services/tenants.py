"""Tenants: each has its own issuer, keys, users, clients, sessions and settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from keystead.errors import InvalidInput, NotFound
from keystead.ports.records import Tenant
from keystead.ports.stores import TenantStore
from keystead.services import validation
from keystead.services.keys import KeyManager
from keystead.types import Clock

#: How long a tenant lookup is cached; a change made by another node or the CLI is seen after it.
CACHE_SECONDS = 5.0


class Tenants:
    def __init__(self, store: TenantStore, keys: KeyManager, clock: Clock, base_url: str) -> None:
        self._store = store
        self._keys = keys
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._cache: dict[tuple[str, str], tuple[float, Tenant | None]] = {}

    def create(
        self,
        name: str,
        display_name: str | None = None,
        *,
        custom_domain: str | None = None,
        logo_url: str | None = None,
        brand_color: str | None = None,
    ) -> Tenant:
        tenant = Tenant(
            id=str(uuid.uuid4()),
            name=validation.tenant_name(name),
            display_name=(display_name or name).strip()[:200] or name,
            custom_domain=custom_domain.lower() if custom_domain else None,
            logo_url=logo_url,
            brand_color=validation.color(brand_color),
            created_at=self._clock(),
        )
        self._store.add_tenant(tenant)
        self._keys.ensure_keys(tenant.id)
        self._cache.clear()  # a "no such tenant" answer may be cached for this name
        return tenant

    def list(self) -> Sequence[Tenant]:
        return self._store.list_tenants()

    def get(self, name: str) -> Tenant:
        tenant = self._store.tenant_by_name(name)
        if tenant is None:
            raise NotFound(f"no tenant named {name!r}")
        return tenant

    def find_active(self, name: str) -> Tenant | None:
        """An active tenant by name, from a short in-process cache (every request asks)."""
        return self._cached(("name", name), lambda: self._store.tenant_by_name(name))

    def find_by_domain(self, domain: str) -> Tenant | None:
        domain = domain.lower()
        return self._cached(("domain", domain), lambda: self._store.tenant_by_domain(domain))

    def _cached(self, key: tuple[str, str], load: Callable[[], Tenant | None]) -> Tenant | None:
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and 0 <= now - hit[0] < CACHE_SECONDS:
            return hit[1]
        tenant = load()
        if tenant is not None and not tenant.active:
            tenant = None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, tenant)
        return tenant

    def page(
        self,
        *,
        after: str | None = None,
        limit: int = 50,
        status: str | None = None,
        name_prefix: str | None = None,
    ) -> Sequence[Tenant]:
        """Tenants ordered by name, after ``after`` (a keyset position, applied in SQL)."""
        return self._store.tenants_page(after=after, limit=limit, status=status, name_prefix=name_prefix)

    def update(self, name: str, **changes: Any) -> Tenant:
        """Set ``display_name``, ``brand_color``, ``logo_url`` or ``status``; ``None`` clears
        ``brand_color`` and ``logo_url``."""
        tenant = self.get(name)
        fields: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "display_name" and isinstance(value, str):
                fields[key] = value.strip()[:200] or tenant.display_name
            elif key == "brand_color":
                fields[key] = validation.color(value)
            elif (key == "logo_url" and (value is None or isinstance(value, str))) or (
                key == "status" and value in ("active", "disabled")
            ):
                fields[key] = value
            else:
                raise InvalidInput(key, f"{key} cannot be set to this value")
        if fields:
            self._store.update_tenant(tenant.id, **fields)
            self._cache.clear()
        return replace(tenant, **fields)

    def forget(self) -> None:
        """Drop cached lookups (after a change made elsewhere, e.g. the tenant's settings)."""
        self._cache.clear()

    def set_status(self, name: str, status: str) -> Tenant:
        if status not in ("active", "disabled"):
            raise InvalidInput("status", "status is active or disabled")
        tenant = self.get(name)
        self._store.update_tenant(tenant.id, status=status)
        self._cache.clear()
        return replace(tenant, status=status)

    def issuer(self, tenant: Tenant) -> str:
        if tenant.custom_domain:
            scheme = self._base_url.split("://", 1)[0]
            return f"{scheme}://{tenant.custom_domain}"
        return f"{self._base_url}/t/{tenant.name}"
