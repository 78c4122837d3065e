"""Emailed and texted one-time codes (ports/one_time_codes.py). Every update is a
compare-and-set on ``version``: of two requests that use the same code from the same state, one
update matches the row and the other matches nothing, re-reads, and finds it used."""

from __future__ import annotations

from dataclasses import replace as replaced
from typing import Any

from sqlalchemy import delete, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_row, to_values
from keystead.ports.one_time_codes import OneTimeCode

_C = t.one_time_codes.c


class OneTimeCodeTables(SqlBase):
    def add_one_time_code(self, code: OneTimeCode) -> None:
        self._insert(t.one_time_codes, to_row(code), "a one-time code with this id exists")

    def one_time_code(self, tenant_id: str, code_id: str) -> OneTimeCode | None:
        query = select(t.one_time_codes).where(_C.tenant_id == tenant_id, _C.id == code_id)
        return self._one(OneTimeCode, query)

    def update_one_time_code(self, code: OneTimeCode, **fields: Any) -> OneTimeCode | None:
        if {"id", "tenant_id", "user_id", "purpose", "version"} & fields.keys():
            raise ValueError("a code's identity and version are not updated by hand")
        stmt = (
            update(t.one_time_codes)
            .where(_C.tenant_id == code.tenant_id, _C.id == code.id, _C.version == code.version)
            .values(**to_values(fields), version=code.version + 1)
        )
        with self._write() as conn:
            if conn.execute(stmt).rowcount != 1:
                return None
        return replaced(code, **fields, version=code.version + 1)

    def purge_one_time_codes(self, tenant_id: str, before: float) -> int:
        stmt = delete(t.one_time_codes).where(_C.tenant_id == tenant_id, _C.expires_at < before)
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)
