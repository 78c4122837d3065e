"""Signing keys (private parts encrypted by the service before they reach here)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row
from keystead.ports.records import StoredKey


class KeyTables(SqlBase):
    def add_key(self, key: StoredKey) -> None:
        with self._write() as conn:
            conn.execute(t.signing_keys.insert(), to_row(key))

    def keys_for(self, tenant_id: str) -> Sequence[StoredKey]:
        k = t.signing_keys
        query = select(k).where(k.c.tenant_id == tenant_id).order_by(k.c.created_at.desc())
        with self.engine.connect() as conn:
            return [to_record(StoredKey, r) for r in conn.execute(query).mappings()]

    def retire_keys(self, tenant_id: str, alg: str, *, publish_until: float) -> None:
        k = t.signing_keys
        stmt = (
            update(k)
            .where(k.c.tenant_id == tenant_id, k.c.alg == alg, k.c.status == "active")
            .values(status="retired", publish_until=publish_until)
        )
        with self._write() as conn:
            conn.execute(stmt)

    def prune_keys(self, tenant_id: str, *, now: float) -> int:
        k = t.signing_keys
        stmt = delete(k).where(k.c.tenant_id == tenant_id, k.c.status == "retired", k.c.publish_until < now)
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)
