"""A user's second factors (TOTP, recovery codes). Every update is a compare-and-set on the
row's ``version``: of two requests that consume the same code from the same state, one update
matches the row and the other matches nothing, so the loser re-reads and sees the code used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace as replaced
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row, to_values
from keystead.errors import Conflict
from keystead.ports.records import UserFactor

_F = t.user_factors.c


class FactorTables(SqlBase):
    def add_factor(self, factor: UserFactor, *, replace: str | None = None) -> None:
        try:
            with self._write() as conn:
                if replace is not None:
                    stmt = delete(t.user_factors).where(
                        _F.tenant_id == factor.tenant_id,
                        _F.user_id == factor.user_id,
                        _F.kind == factor.kind,
                        _F.name == factor.name,
                    )
                    if replace != "any":
                        stmt = stmt.where(_F.status == replace)
                    conn.execute(stmt)
                conn.execute(t.user_factors.insert(), to_row(factor))
        except IntegrityError as exc:
            raise Conflict("the user already has a factor of this kind and name") from exc

    def factor_by_id(self, tenant_id: str, user_id: str, factor_id: str) -> UserFactor | None:
        query = select(t.user_factors).where(
            _F.tenant_id == tenant_id, _F.user_id == user_id, _F.id == factor_id
        )
        return self._one(UserFactor, query)

    def factors_of_user(self, tenant_id: str, user_id: str) -> Sequence[UserFactor]:
        query = (
            select(t.user_factors)
            .where(_F.tenant_id == tenant_id, _F.user_id == user_id)
            .order_by(_F.created_at, _F.id)
        )
        with self.engine.connect() as conn:
            return [to_record(UserFactor, r) for r in conn.execute(query).mappings()]

    def update_factor(self, factor: UserFactor, **fields: Any) -> UserFactor | None:
        if {"id", "tenant_id", "user_id", "kind", "version"} & fields.keys():
            raise ValueError("a factor's identity and version are not updated by hand")
        stmt = (
            update(t.user_factors)
            .where(
                _F.tenant_id == factor.tenant_id,
                _F.user_id == factor.user_id,
                _F.id == factor.id,
                _F.version == factor.version,
            )
            .values(**to_values(fields), version=factor.version + 1)
        )
        with self._write() as conn:
            if conn.execute(stmt).rowcount != 1:
                return None
        return replaced(factor, **fields, version=factor.version + 1)

    def delete_factor(self, tenant_id: str, user_id: str, factor_id: str) -> bool:
        stmt = delete(t.user_factors).where(
            _F.tenant_id == tenant_id, _F.user_id == user_id, _F.id == factor_id
        )
        with self._write() as conn:
            return conn.execute(stmt).rowcount == 1

    def delete_factors_of_user(self, tenant_id: str, user_id: str) -> int:
        stmt = delete(t.user_factors).where(_F.tenant_id == tenant_id, _F.user_id == user_id)
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)
