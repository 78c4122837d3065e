"""Authorization codes, grants (token families), refresh tokens and access token records."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._rows import to_record, to_row
from keystead.ports.records import (
    AccessTokenRecord,
    AuthorizationCode,
    Grant,
    RefreshToken,
)


class GrantTables:
    engine: Engine

    # authorization codes
    def add_code(self, code: AuthorizationCode) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.authorization_codes.insert().values(**to_row(code)))

    def consume_code(
        self, code_hmac: str, *, now: float, grant_id: str, tenant_id: str | None = None
    ) -> AuthorizationCode | None:
        codes = t.authorization_codes
        with self.engine.begin() as conn:
            stmt = (
                update(codes)
                .where(codes.c.code_hmac == code_hmac, codes.c.consumed_at.is_(None))
                .values(consumed_at=now, grant_id=grant_id)
            )
            if tenant_id is not None:
                stmt = stmt.where(codes.c.tenant_id == tenant_id)
            if conn.execute(stmt).rowcount != 1:
                return None
            row = conn.execute(select(codes).where(codes.c.code_hmac == code_hmac)).mappings().one()
        return to_record(AuthorizationCode, row)

    def code_by_hmac(self, code_hmac: str) -> AuthorizationCode | None:
        codes = t.authorization_codes
        with self.engine.connect() as conn:
            row = conn.execute(select(codes).where(codes.c.code_hmac == code_hmac)).mappings().first()
        return to_record(AuthorizationCode, row) if row else None

    # grants
    def add_grant(self, grant: Grant) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.grants.insert().values(**to_row(grant)))

    def grant_by_id(self, tenant_id: str, grant_id: str) -> Grant | None:
        query = select(t.grants).where(t.grants.c.tenant_id == tenant_id, t.grants.c.id == grant_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(Grant, row) if row else None

    def revoke_grant(self, tenant_id: str, grant_id: str, *, now: float) -> None:
        stmt = (
            update(t.grants)
            .where(
                t.grants.c.tenant_id == tenant_id,
                t.grants.c.id == grant_id,
                t.grants.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def revoke_grants_of_session(self, tenant_id: str, session_id: str, *, now: float) -> None:
        stmt = (
            update(t.grants)
            .where(
                t.grants.c.tenant_id == tenant_id,
                t.grants.c.session_id == session_id,
                t.grants.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    # refresh tokens
    def add_refresh_token(self, token: RefreshToken) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.refresh_tokens.insert().values(**to_row(token)))

    def refresh_token_by_hmac(self, tenant_id: str, token_hmac: str) -> RefreshToken | None:
        rt = t.refresh_tokens
        query = select(rt).where(rt.c.tenant_id == tenant_id, rt.c.token_hmac == token_hmac)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(RefreshToken, row) if row else None

    def rotate_refresh_token(self, old_hmac: str, new: RefreshToken, *, now: float) -> bool:
        rt = t.refresh_tokens
        with self.engine.begin() as conn:
            stmt = update(rt).where(rt.c.token_hmac == old_hmac, rt.c.used_at.is_(None)).values(used_at=now)
            if conn.execute(stmt).rowcount != 1:
                return False
            conn.execute(rt.insert().values(**to_row(new)))
        return True

    # access tokens
    def add_access_token(self, record: AccessTokenRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.access_tokens.insert().values(**to_row(record)))

    def access_token_state(self, tenant_id: str, jti: str) -> tuple[AccessTokenRecord, Grant | None] | None:
        at, g = t.access_tokens, t.grants
        query = (
            select(at, g.c.id.label("g_id"), g.c.revoked_at.label("g_revoked_at"))
            .outerjoin(g, g.c.id == at.c.grant_id)
            .where(at.c.tenant_id == tenant_id, at.c.jti == jti)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        record = to_record(AccessTokenRecord, row)
        grant = None
        if row["g_id"] is not None:
            grant = self.grant_by_id(tenant_id, row["g_id"])
        return record, grant

    def revoke_access_token(self, tenant_id: str, jti: str, *, now: float) -> None:
        at = t.access_tokens
        stmt = (
            update(at)
            .where(at.c.tenant_id == tenant_id, at.c.jti == jti, at.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
