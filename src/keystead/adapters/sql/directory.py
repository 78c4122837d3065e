"""Tenants and clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row, to_values
from keystead.ports.records import Client, Tenant

_TENANT_BY_NAME = select(t.tenants).where(t.tenants.c.name == bindparam("name"))
_CLIENT_BY_CLIENT_ID = select(t.clients).where(
    t.clients.c.tenant_id == bindparam("tenant_id"), t.clients.c.client_id == bindparam("client_id")
)


class DirectoryTables(SqlBase):
    # tenants
    def add_tenant(self, tenant: Tenant) -> None:
        self._insert(t.tenants, to_row(tenant), "tenant name or domain already exists")

    def tenant_by_name(self, name: str) -> Tenant | None:
        return self._one(Tenant, _TENANT_BY_NAME, {"name": name})

    def tenant_by_id(self, tenant_id: str) -> Tenant | None:
        return self._one(Tenant, select(t.tenants).where(t.tenants.c.id == tenant_id))

    def update_tenant_settings(
        self,
        tenant_id: str,
        settings: dict[str, Any],
        *,
        expected_version: int,
        columns: dict[str, Any] | None = None,
    ) -> bool:
        """Compare-and-set: write ``settings`` (and ``columns``) only if the stored settings'
        ``version`` is still ``expected_version``; the row is locked between the read and the
        write (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite)."""
        c = t.tenants.c
        with self._write() as conn:
            row = conn.execute(select(c.settings).where(c.id == tenant_id).with_for_update()).first()
            if row is None or int((row[0] or {}).get("version", 0)) != expected_version:
                return False
            stmt = update(t.tenants).where(c.id == tenant_id)
            conn.execute(stmt.values(settings=settings, **(columns or {})))
        return True

    def tenant_by_domain(self, domain: str) -> Tenant | None:
        return self._one(Tenant, select(t.tenants).where(t.tenants.c.custom_domain == domain))

    def list_tenants(self) -> Sequence[Tenant]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tenants).order_by(t.tenants.c.name)).mappings()
            return [to_record(Tenant, r) for r in rows]

    def tenants_page(
        self,
        *,
        after: str | None,
        limit: int,
        status: str | None = None,
        name_prefix: str | None = None,
    ) -> Sequence[Tenant]:
        c = t.tenants.c
        query = select(t.tenants)
        if after is not None:
            query = query.where(c.name > after)
        if status is not None:
            query = query.where(c.status == status)
        if name_prefix:
            query = query.where(c.name.startswith(name_prefix, autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.name).limit(limit)).mappings()
            return [to_record(Tenant, r) for r in rows]

    def update_tenant(self, tenant_id: str, **fields: Any) -> None:
        with self._write() as conn:
            conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(**fields))

    # clients
    def add_client(self, client: Client) -> None:
        self._insert(t.clients, to_row(client), "client_id already exists")

    def client_by_client_id(self, tenant_id: str, client_id: str) -> Client | None:
        return self._one(Client, _CLIENT_BY_CLIENT_ID, {"tenant_id": tenant_id, "client_id": client_id})

    def list_clients(self, tenant_id: str) -> Sequence[Client]:
        query = select(t.clients).where(t.clients.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.clients.c.created_at)).mappings()
            return [to_record(Client, r) for r in rows]

    def clients_page(
        self, tenant_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Client]:
        c = t.clients.c
        query = select(t.clients).where(c.tenant_id == tenant_id)
        if after is not None:
            at, row_id = after
            query = query.where(or_(c.created_at > at, and_(c.created_at == at, c.id > row_id)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.created_at, c.id).limit(limit)).mappings()
            return [to_record(Client, r) for r in rows]

    def delete_client(self, tenant_id: str, client_id: str, *, now: float) -> bool:
        """Delete the client; in the same transaction revoke its grants (so its refresh tokens
        fail) and access tokens, and delete its consents. ``False`` if there is no such client."""
        g, at, cs = t.grants, t.access_tokens, t.consents
        with self._write() as conn:
            gone = conn.execute(
                delete(t.clients).where(
                    t.clients.c.tenant_id == tenant_id, t.clients.c.client_id == client_id
                )
            ).rowcount
            if gone != 1:
                return False
            conn.execute(
                update(g)
                .where(g.c.tenant_id == tenant_id, g.c.client_id == client_id, g.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                update(at)
                .where(at.c.tenant_id == tenant_id, at.c.client_id == client_id, at.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(delete(cs).where(cs.c.tenant_id == tenant_id, cs.c.client_id == client_id))
        return True

    def update_client(
        self, tenant_id: str, client_id: str, *, expected_updated_at: float | None = None, **fields: Any
    ) -> bool:
        stmt = update(t.clients).where(t.clients.c.tenant_id == tenant_id, t.clients.c.client_id == client_id)
        if expected_updated_at is not None:
            stmt = stmt.where(t.clients.c.updated_at == expected_updated_at)
        with self._write() as conn:
            return conn.execute(stmt.values(**to_values(fields))).rowcount == 1
