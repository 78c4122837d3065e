"""Authorization codes, grants (token families), refresh tokens and access token records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, bindparam, delete, or_, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row
from keystead.ports.records import (
    AccessTokenRecord,
    AccessTokenState,
    AuthorizationCode,
    Consent,
    Grant,
    RefreshToken,
    User,
)

# Hot-path reads, built once: SQLAlchemy then skips constructing and cache-keying a statement.
_GRANT_BY_ID = select(t.grants).where(
    t.grants.c.tenant_id == bindparam("tenant_id"), t.grants.c.id == bindparam("id")
)
_REFRESH_BY_HMAC = select(t.refresh_tokens).where(
    t.refresh_tokens.c.tenant_id == bindparam("tenant_id"),
    t.refresh_tokens.c.token_hmac == bindparam("token_hmac"),
)
_GRANT_COLUMNS = [c.label(f"g_{c.name}") for c in t.grants.c]
_USER_COLUMNS = [c.label(f"u_{c.name}") for c in t.users.c]
_ACCESS_TOKEN_STATE = (
    select(t.access_tokens, *_GRANT_COLUMNS, *_USER_COLUMNS)
    .outerjoin(t.grants, t.grants.c.id == t.access_tokens.c.grant_id)
    .outerjoin(t.users, (t.users.c.id == t.grants.c.user_id) & (t.users.c.tenant_id == t.grants.c.tenant_id))
    .where(
        t.access_tokens.c.tenant_id == bindparam("tenant_id"),
        t.access_tokens.c.jti == bindparam("jti"),
    )
)


class GrantTables(SqlBase):
    # authorization codes
    def add_code(self, code: AuthorizationCode) -> None:
        with self._write() as conn:
            conn.execute(t.authorization_codes.insert(), to_row(code))

    def consume_code(
        self, code_hmac: str, *, tenant_id: str, now: float, grant_id: str
    ) -> AuthorizationCode | None:
        codes = t.authorization_codes
        with self._write() as conn:
            stmt = (
                update(codes)
                .where(
                    codes.c.code_hmac == code_hmac,
                    codes.c.tenant_id == tenant_id,
                    codes.c.consumed_at.is_(None),
                )
                .values(consumed_at=now, grant_id=grant_id)
            )
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
        with self._write() as conn:
            conn.execute(t.grants.insert(), to_row(grant))

    def grant_by_id(self, tenant_id: str, grant_id: str) -> Grant | None:
        with self.engine.connect() as conn:
            row = conn.execute(_GRANT_BY_ID, {"tenant_id": tenant_id, "id": grant_id}).mappings().first()
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
        with self._write() as conn:
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
        with self._write() as conn:
            conn.execute(stmt)

    # refresh tokens
    def add_refresh_token(self, token: RefreshToken) -> None:
        with self._write() as conn:
            conn.execute(t.refresh_tokens.insert(), to_row(token))

    def refresh_token_by_hmac(self, tenant_id: str, token_hmac: str) -> RefreshToken | None:
        params = {"tenant_id": tenant_id, "token_hmac": token_hmac}
        with self.engine.connect() as conn:
            row = conn.execute(_REFRESH_BY_HMAC, params).mappings().first()
        return to_record(RefreshToken, row) if row else None

    def rotate_refresh_token(
        self, old_hmac: str, new: RefreshToken, *, now: float, access_token: AccessTokenRecord | None = None
    ) -> bool:
        rt = t.refresh_tokens
        with self._write() as conn:
            stmt = update(rt).where(rt.c.token_hmac == old_hmac, rt.c.used_at.is_(None)).values(used_at=now)
            if conn.execute(stmt).rowcount != 1:
                return False
            conn.execute(rt.insert(), to_row(new))
            if access_token is not None:
                conn.execute(t.access_tokens.insert(), to_row(access_token))
        return True

    # access tokens
    def add_access_token(self, record: AccessTokenRecord) -> None:
        with self._write() as conn:
            conn.execute(t.access_tokens.insert(), to_row(record))

    def access_token_state(self, tenant_id: str, jti: str) -> AccessTokenState | None:
        with self.engine.connect() as conn:
            row = conn.execute(_ACCESS_TOKEN_STATE, {"tenant_id": tenant_id, "jti": jti}).mappings().first()
        if row is None:
            return None
        grant = user = None
        if row["g_id"] is not None:
            grant = to_record(Grant, {c.name: row[f"g_{c.name}"] for c in t.grants.c})
        if row["u_id"] is not None:
            user = to_record(User, {c.name: row[f"u_{c.name}"] for c in t.users.c})
        return AccessTokenState(to_record(AccessTokenRecord, row), grant, user)

    def revoke_access_token(self, tenant_id: str, jti: str, *, now: float) -> None:
        at = t.access_tokens
        stmt = (
            update(at)
            .where(at.c.tenant_id == tenant_id, at.c.jti == jti, at.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with self._write() as conn:
            conn.execute(stmt)

    # consents and grants of a user (admin API)
    def consents_of_user(
        self, tenant_id: str, user_id: str, *, after: str | None, limit: int
    ) -> Sequence[Consent]:
        c = t.consents
        query = select(c).where(c.c.tenant_id == tenant_id, c.c.user_id == user_id)
        if after is not None:
            query = query.where(c.c.client_id > after)
        query = query.order_by(c.c.client_id).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(Consent, r) for r in conn.execute(query).mappings()]

    def revoke_consent(self, tenant_id: str, user_id: str, client_id: str, *, now: float) -> list[str] | None:
        """Delete the consent and revoke the user's live grants for the client, in one
        transaction; the ids of the grants revoked. ``None`` and nothing written when there is
        no such consent."""
        c, g = t.consents, t.grants
        with self._write() as conn:
            gone = conn.execute(
                delete(c).where(
                    c.c.tenant_id == tenant_id, c.c.user_id == user_id, c.c.client_id == client_id
                )
            ).rowcount
            if gone != 1:
                return None
            live = (g.c.tenant_id == tenant_id, g.c.user_id == user_id, g.c.client_id == client_id)
            ids = [r[0] for r in conn.execute(select(g.c.id).where(*live, g.c.revoked_at.is_(None)))]
            if ids:
                conn.execute(update(g).where(*live, g.c.id.in_(ids)).values(revoked_at=now))
            return ids

    def grants_of_user(
        self, tenant_id: str, user_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Grant]:
        g = t.grants
        query = select(g).where(g.c.tenant_id == tenant_id, g.c.user_id == user_id, g.c.revoked_at.is_(None))
        if after is not None:
            at, grant_id = after
            query = query.where(or_(g.c.created_at < at, and_(g.c.created_at == at, g.c.id < grant_id)))
        query = query.order_by(g.c.created_at.desc(), g.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(Grant, r) for r in conn.execute(query).mappings()]
