"""WebAuthn ceremony state: pending challenges (taken once: a delete that only one request can
win) and users' opaque user handles. The passkeys are ``user_factors`` rows (factors.py)."""

from __future__ import annotations

from sqlalchemy import delete, select

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row
from keystead.ports.records import PasskeyChallenge

_C = t.passkey_challenges.c
_H = t.passkey_user_handles.c


class PasskeyTables(SqlBase):
    def add_passkey_challenge(self, challenge: PasskeyChallenge) -> None:
        with self._write() as conn:
            conn.execute(
                delete(t.passkey_challenges).where(
                    _C.tenant_id == challenge.tenant_id, _C.expires_at <= challenge.created_at
                )
            )
            conn.execute(
                delete(t.passkey_challenges).where(
                    _C.tenant_id == challenge.tenant_id,
                    _C.binding == challenge.binding,
                    _C.purpose == challenge.purpose,
                )
            )
            conn.execute(t.passkey_challenges.insert(), to_row(challenge))

    def take_passkey_challenge(
        self, tenant_id: str, challenge_id: str, now: float
    ) -> PasskeyChallenge | None:
        query = select(t.passkey_challenges).where(_C.tenant_id == tenant_id, _C.id == challenge_id)
        with self._write() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            taken = conn.execute(
                delete(t.passkey_challenges).where(_C.tenant_id == tenant_id, _C.id == challenge_id)
            ).rowcount
        challenge = to_record(PasskeyChallenge, row)
        if taken != 1 or challenge.expires_at <= now:
            return None
        return challenge

    def passkey_user_handle(self, tenant_id: str, user_id: str) -> str | None:
        query = select(_H.handle).where(_H.tenant_id == tenant_id, _H.user_id == user_id)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return str(value) if value is not None else None

    def add_passkey_user_handle(self, tenant_id: str, user_id: str, handle: str) -> None:
        self._insert(
            t.passkey_user_handles,
            {"tenant_id": tenant_id, "user_id": user_id, "handle": handle},
            "the user already has a passkey user handle",
        )

    def user_by_passkey_handle(self, tenant_id: str, handle: str) -> str | None:
        query = select(_H.user_id).where(_H.tenant_id == tenant_id, _H.handle == handle)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return str(value) if value is not None else None
