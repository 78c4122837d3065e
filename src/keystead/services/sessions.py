"""SSO sessions: a random cookie value per browser and tenant; only its HMAC is stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from keystead.ports.records import Session
from keystead.ports.stores import GrantStore, SessionStore, UserStore
from keystead.services.secrets import KeyRing, new_token
from keystead.types import Clock

PURPOSE = "session"
MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class NewSession:
    session: Session
    cookie_value: str


class Sessions:
    def __init__(
        self,
        store: SessionStore,
        grants: GrantStore,
        users: UserStore,
        ring: KeyRing,
        clock: Clock,
        ttl: int,
        ttl_for: Callable[[str], int] | None = None,
    ) -> None:
        """``ttl``: a session's lifetime; ``ttl_for(tenant_id)``, when given, a tenant's own."""
        self._store = store
        self._users = users
        self._grants = grants
        self._ring = ring
        self._clock = clock
        self._ttl = ttl
        self._ttl_for = ttl_for

    def start(self, tenant_id: str, user_id: str, *, acr: str | None, amr: tuple[str, ...]) -> NewSession:
        now = self._clock()
        value = new_token()
        session = Session(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            user_id=user_id,
            token_hmac=self._ring.mac(PURPOSE, value),
            auth_time=now,
            acr=acr,
            amr=amr,
            created_at=now,
            expires_at=now + (self._ttl_for(tenant_id) if self._ttl_for else self._ttl),
        )
        self._store.add_session(session)
        return NewSession(session, value)

    def current(self, tenant_id: str, cookie_value: str | None) -> Session | None:
        """The live session a cookie names in this tenant, or ``None``: revoked, expired, and
        sessions of a user since disabled or deleted sign nobody in."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        session = self._store.session_by_hmac(tenant_id, self._ring.mac(PURPOSE, cookie_value))
        if session is None or session.revoked_at is not None:
            return None
        if session.expires_at <= self._clock():
            return None
        user = self._users.user_by_id(tenant_id, session.user_id)
        return session if user is not None and user.active else None

    def end(self, session: Session) -> None:
        """Sign out: the session and every grant made in it are revoked."""
        now = self._clock()
        self._store.revoke_session(session.tenant_id, session.id, now=now)
        self._grants.revoke_grants_of_session(session.tenant_id, session.id, now=now)

    def find(self, tenant_id: str, session_id: str) -> Session | None:
        """A live session of this tenant by its id (for administrators), or ``None``."""
        session = self._store.session_by_id(tenant_id, session_id)
        if session is None or session.revoked_at is not None or session.expires_at <= self._clock():
            return None
        return session

    def of_user(
        self,
        tenant_id: str,
        user_id: str,
        *,
        limit: int = MAX_LISTED,
        after: tuple[float, str] | None = None,
    ) -> list[Session]:
        """The user's live sessions, newest first, before the keyset position ``after``
        (``(created_at, id)`` of the last session of the previous page)."""
        return list(
            self._store.sessions_of_user(tenant_id, user_id, now=self._clock(), limit=limit, after=after)
        )

    def end_all_of_user(self, tenant_id: str, user_id: str) -> list[str]:
        """Revoke every live session of the user and the grants made in them; their ids."""
        ended = []
        while batch := self.of_user(tenant_id, user_id):
            for session in batch:
                self.end(session)
                ended.append(session.id)
        return ended
