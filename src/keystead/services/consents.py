"""What a user agreed to, for administrators: consents (per client, the scopes allowed) and
grants (token families). Revoking a consent revokes the user's grants for that client too, so
their refresh and access tokens stop working at once; the next authorization asks again."""

from __future__ import annotations

from collections.abc import Sequence

from keystead.errors import NotFound
from keystead.ports.records import Consent, Grant
from keystead.ports.stores import ConsentAdminStore
from keystead.types import Clock


class Consents:
    def __init__(self, store: ConsentAdminStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def of_user(self, tenant_id: str, user_id: str, *, after: str | None, limit: int) -> Sequence[Consent]:
        """The user's consents ordered by client id, after the keyset position ``after``."""
        return self._store.consents_of_user(tenant_id, user_id, after=after, limit=limit)

    def revoke(self, tenant_id: str, user_id: str, client_id: str) -> list[str]:
        """Withdraw the consent and revoke the user's grants for the client; the grant ids.
        :class:`NotFound` when the user gave that client no consent."""
        revoked = self._store.revoke_consent(tenant_id, user_id, client_id, now=self._clock())
        if revoked is None:
            raise NotFound("no such consent")
        return revoked

    def grants(
        self, tenant_id: str, user_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Grant]:
        """The user's live grants, newest first."""
        return self._store.grants_of_user(tenant_id, user_id, after=after, limit=limit)

    def revoke_grant(self, tenant_id: str, user_id: str, grant_id: str) -> Grant:
        """Revoke one live grant of the user (its refresh and access tokens stop working)."""
        grant = self._store.grant_by_id(tenant_id, grant_id)
        if grant is None or grant.user_id != user_id or grant.revoked_at is not None:
            raise NotFound("no such grant")
        self._store.revoke_grant(tenant_id, grant_id, now=self._clock())
        return grant
