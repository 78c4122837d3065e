"""Audit events and idempotency keys of the admin API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row
from keystead.ports.records import AuditEvent, IdempotencyRecord

_A = t.audit_events.c
_I = t.idempotency_keys.c


class AuditTables(SqlBase):
    def add_audit_event(self, event: AuditEvent) -> None:
        with self._write() as conn:
            conn.execute(t.audit_events.insert(), to_row(event))

    def audit_page(
        self,
        tenant_id: str,
        *,
        after: tuple[float, str] | None,
        limit: int,
        action: str | None = None,
        target: str | None = None,
    ) -> Sequence[AuditEvent]:
        query = select(t.audit_events).where(_A.tenant_id == tenant_id)
        if action is not None:
            query = query.where(_A.action == action)
        if target is not None:
            query = query.where(_A.target == target)
        if after is not None:
            at, event_id = after
            query = query.where(or_(_A.created_at < at, and_(_A.created_at == at, _A.id < event_id)))
        query = query.order_by(_A.created_at.desc(), _A.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(AuditEvent, r) for r in conn.execute(query).mappings()]

    # idempotency keys
    def idempotency_record(self, tenant_id: str, actor: str, key: str) -> IdempotencyRecord | None:
        query = select(t.idempotency_keys).where(_I.tenant_id == tenant_id, _I.actor == actor, _I.key == key)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(IdempotencyRecord, row) if row is not None else None

    def claim_idempotency_key(self, record: IdempotencyRecord) -> bool:
        try:
            with self._write() as conn:
                conn.execute(t.idempotency_keys.insert(), to_row(record))
        except IntegrityError:
            return False
        return True

    def complete_idempotency_key(
        self, tenant_id: str, actor: str, key: str, response: dict[str, Any]
    ) -> None:
        stmt = update(t.idempotency_keys).where(_I.tenant_id == tenant_id, _I.actor == actor, _I.key == key)
        with self._write() as conn:
            conn.execute(stmt.values(response=response))

    def release_idempotency_key(self, tenant_id: str, actor: str, key: str) -> None:
        stmt = delete(t.idempotency_keys).where(_I.tenant_id == tenant_id, _I.actor == actor, _I.key == key)
        with self._write() as conn:
            conn.execute(stmt)
