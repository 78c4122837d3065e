"""Tenants and clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update

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

    def tenant_by_domain(self, domain: str) -> Tenant | None:
        return self._one(Tenant, select(t.tenants).where(t.tenants.c.custom_domain == domain))

    def list_tenants(self) -> Sequence[Tenant]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.tenants).order_by(t.tenants.c.name)).mappings()
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

    def update_client(
        self, tenant_id: str, client_id: str, *, expected_updated_at: float | None = None, **fields: Any
    ) -> bool:
        stmt = update(t.clients).where(t.clients.c.tenant_id == tenant_id, t.clients.c.client_id == client_id)
        if expected_updated_at is not None:
            stmt = stmt.where(t.clients.c.updated_at == expected_updated_at)
        with self._write() as conn:
            return conn.execute(stmt.values(**to_values(fields))).rowcount == 1
