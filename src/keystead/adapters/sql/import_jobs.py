"""Import jobs (their progress, newest first) and the batched login lookups an import makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row, to_values
from keystead.adapters.sql.users import normalize
from keystead.ports.records import ImportJob

_J = t.import_jobs.c
_U = t.users.c


class ImportJobTables(SqlBase):
    def add_import_job(self, job: ImportJob) -> None:
        with self._write() as conn:
            conn.execute(t.import_jobs.insert(), to_row(job))

    def import_job(self, tenant_id: str, job_id: str) -> ImportJob | None:
        query = select(t.import_jobs).where(_J.tenant_id == tenant_id, _J.id == job_id)
        return self._one(ImportJob, query)

    def update_import_job(self, tenant_id: str, job_id: str, **fields: Any) -> None:
        stmt = update(t.import_jobs).where(_J.tenant_id == tenant_id, _J.id == job_id)
        with self._write() as conn:
            conn.execute(stmt.values(to_values(fields)))

    def import_jobs_page(
        self, tenant_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[ImportJob]:
        query = select(t.import_jobs).where(_J.tenant_id == tenant_id)
        if after is not None:
            at, job_id = after
            query = query.where(or_(_J.created_at < at, and_(_J.created_at == at, _J.id < job_id)))
        query = query.order_by(_J.created_at.desc(), _J.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(ImportJob, r) for r in conn.execute(query).mappings()]

    def taken_logins(
        self, tenant_id: str, usernames: Sequence[str], emails: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """Those of ``usernames`` and ``emails`` (as given) already used in the tenant, compared
        case-insensitively: one indexed ``IN`` query each."""
        with self.engine.connect() as conn:
            return (
                _taken(conn, _U.username_norm, tenant_id, usernames),
                _taken(conn, _U.email_norm, tenant_id, emails),
            )


def _taken(conn: Connection, column: Any, tenant_id: str, values: Sequence[str]) -> set[str]:
    by_norm: dict[str, list[str]] = {}
    for value in values:
        by_norm.setdefault(normalize(value), []).append(value)
    if not by_norm:
        return set()
    query = select(column).where(_U.tenant_id == tenant_id, column.in_(by_norm))
    return {value for norm in conn.execute(query).scalars() for value in by_norm[norm]}
