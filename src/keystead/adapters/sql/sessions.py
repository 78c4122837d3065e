"""SSO sessions, interactions (the protocol/page hand-off) and consents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row, to_values
from keystead.ports.records import Consent, Interaction, Session


class SessionTables(SqlBase):
    def add_session(self, session: Session) -> None:
        with self._write() as conn:
            conn.execute(t.sessions.insert(), to_row(session))

    def session_by_hmac(self, tenant_id: str, token_hmac: str) -> Session | None:
        s = t.sessions
        query = select(s).where(s.c.tenant_id == tenant_id, s.c.token_hmac == token_hmac)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(Session, row) if row else None

    def revoke_session(self, tenant_id: str, session_id: str, *, now: float) -> None:
        s = t.sessions
        stmt = (
            update(s)
            .where(s.c.tenant_id == tenant_id, s.c.id == session_id, s.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with self._write() as conn:
            conn.execute(stmt)

    def session_by_id(self, tenant_id: str, session_id: str) -> Session | None:
        s = t.sessions
        query = select(s).where(s.c.tenant_id == tenant_id, s.c.id == session_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(Session, row) if row else None

    def sessions_of_user(
        self,
        tenant_id: str,
        user_id: str,
        *,
        now: float,
        limit: int,
        after: tuple[float, str] | None = None,
    ) -> Sequence[Session]:
        s = t.sessions
        query = select(s).where(
            s.c.tenant_id == tenant_id,
            s.c.user_id == user_id,
            s.c.revoked_at.is_(None),
            s.c.expires_at > now,
        )
        if after is not None:
            at, session_id = after
            query = query.where(or_(s.c.created_at < at, and_(s.c.created_at == at, s.c.id < session_id)))
        query = query.order_by(s.c.created_at.desc(), s.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(Session, r) for r in conn.execute(query).mappings()]

    def add_interaction(self, interaction: Interaction) -> None:
        with self._write() as conn:
            conn.execute(t.interactions.insert(), to_row(interaction))

    def interaction_by_hmac(self, tenant_id: str, id_hmac: str) -> Interaction | None:
        i = t.interactions
        query = select(i).where(i.c.tenant_id == tenant_id, i.c.id_hmac == id_hmac)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(Interaction, row) if row else None

    def update_interaction(self, tenant_id: str, id_hmac: str, **fields: Any) -> None:
        i = t.interactions
        stmt = update(i).where(i.c.tenant_id == tenant_id, i.c.id_hmac == id_hmac)
        with self._write() as conn:
            conn.execute(stmt.values(**to_values(fields)))

    def complete_interaction(self, tenant_id: str, id_hmac: str, *, now: float) -> bool:
        i = t.interactions
        stmt = (
            update(i)
            .where(i.c.tenant_id == tenant_id, i.c.id_hmac == id_hmac, i.c.completed_at.is_(None))
            .values(completed_at=now)
        )
        with self._write() as conn:
            return conn.execute(stmt).rowcount == 1

    def consent_for(self, tenant_id: str, user_id: str, client_id: str) -> Consent | None:
        c = t.consents
        query = select(c).where(
            c.c.tenant_id == tenant_id, c.c.user_id == user_id, c.c.client_id == client_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return to_record(Consent, row) if row else None

    def save_consent(self, consent: Consent) -> None:
        c = t.consents
        with self._write() as conn:
            conn.execute(
                delete(c).where(
                    c.c.tenant_id == consent.tenant_id,
                    c.c.user_id == consent.user_id,
                    c.c.client_id == consent.client_id,
                )
            )
            conn.execute(c.insert(), to_row(consent))
