"""The storage interfaces, one per use case. Every method is scoped to a tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from keystead.ports.records import (
    AccessTokenRecord,
    AccessTokenState,
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    IdempotencyRecord,
    ImportJob,
    Interaction,
    PasskeyChallenge,
    RefreshToken,
    Session,
    StoredKey,
    Tenant,
    User,
    UserFactor,
)


class TenantStore(Protocol):
    def add_tenant(self, tenant: Tenant) -> None: ...
    def tenant_by_name(self, name: str) -> Tenant | None: ...
    def tenant_by_domain(self, domain: str) -> Tenant | None: ...
    def tenant_by_id(self, tenant_id: str) -> Tenant | None: ...
    def update_tenant_settings(
        self,
        tenant_id: str,
        settings: dict[str, Any],
        *,
        expected_version: int,
        columns: dict[str, Any] | None = None,
    ) -> bool:
        """Write the tenant's settings JSON (and branding ``columns``) if its stored ``version``
        is still ``expected_version`` (compare-and-set); ``False`` and nothing written if not."""
        ...

    def list_tenants(self) -> Sequence[Tenant]: ...
    def tenants_page(
        self, *, after: str | None, limit: int, status: str | None = None, name_prefix: str | None = None
    ) -> Sequence[Tenant]:
        """Tenants ordered by name, after the keyset position ``after`` (a name)."""
        ...

    def update_tenant(self, tenant_id: str, **fields: Any) -> None: ...


class UserStore(Protocol):
    def add_user(self, user: User) -> None: ...
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...
    def user_by_login(self, tenant_id: str, login: str) -> User | None:
        """By username or email, case-insensitively."""
        ...

    def list_users(self, tenant_id: str, *, after: str | None, limit: int) -> Sequence[User]: ...
    def update_user(
        self, tenant_id: str, user_id: str, *, expected_updated_at: float | None = None, **fields: Any
    ) -> bool:
        """``False`` when no such user, or (compare-and-set) its ``updated_at`` is not the expected one."""
        ...

    def delete_user(self, tenant_id: str, user_id: str) -> bool: ...


class ClientStore(Protocol):
    def add_client(self, client: Client) -> None: ...
    def client_by_client_id(self, tenant_id: str, client_id: str) -> Client | None: ...
    def list_clients(self, tenant_id: str) -> Sequence[Client]: ...
    def clients_page(
        self, tenant_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Client]:
        """Clients ordered by ``(created_at, id)`` after the keyset position ``after``."""
        ...

    def delete_client(self, tenant_id: str, client_id: str, *, now: float) -> bool:
        """Delete the client, revoke its grants and access tokens and delete its consents, at
        once; ``False`` if there is no such client."""
        ...

    def update_client(
        self, tenant_id: str, client_id: str, *, expected_updated_at: float | None = None, **fields: Any
    ) -> bool:
        """``False`` when no such client, or (compare-and-set) it is no longer the expected version."""
        ...


class KeyStore(Protocol):
    def add_key(self, key: StoredKey) -> None: ...
    def keys_for(self, tenant_id: str) -> Sequence[StoredKey]: ...
    def retire_keys(self, tenant_id: str, alg: str, *, publish_until: float) -> None: ...
    def prune_keys(self, tenant_id: str, *, now: float) -> int: ...


class AuthorizationCodeStore(Protocol):
    def add_code(self, code: AuthorizationCode) -> None: ...
    def consume_code(
        self, code_hmac: str, *, tenant_id: str, now: float, grant_id: str
    ) -> AuthorizationCode | None:
        """Mark the code used by ``grant_id`` and return it; ``None`` if absent, used, or of
        another tenant (another tenant cannot spend the code)."""
        ...

    def code_by_hmac(self, code_hmac: str) -> AuthorizationCode | None: ...


class GrantStore(Protocol):
    def add_grant(self, grant: Grant) -> None: ...
    def grant_by_id(self, tenant_id: str, grant_id: str) -> Grant | None: ...
    def revoke_grant(self, tenant_id: str, grant_id: str, *, now: float) -> None: ...
    def revoke_grants_of_session(self, tenant_id: str, session_id: str, *, now: float) -> None: ...


class ConsentAdminStore(Protocol):
    """A user's consents and grants, for administrators."""

    def consents_of_user(
        self, tenant_id: str, user_id: str, *, after: str | None, limit: int
    ) -> Sequence[Consent]:
        """The user's consents ordered by ``client_id``, after the keyset position ``after``."""
        ...

    def revoke_consent(self, tenant_id: str, user_id: str, client_id: str, *, now: float) -> list[str] | None:
        """Delete the consent and revoke the user's live grants for that client at once; the
        revoked grants' ids, ``None`` (nothing written) when there is no such consent."""
        ...

    def grants_of_user(
        self, tenant_id: str, user_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Grant]:
        """The user's live (not revoked) grants, newest first, before the position ``after``."""
        ...

    def grant_by_id(self, tenant_id: str, grant_id: str) -> Grant | None: ...
    def revoke_grant(self, tenant_id: str, grant_id: str, *, now: float) -> None: ...


class RefreshTokenStore(Protocol):
    def add_refresh_token(self, token: RefreshToken) -> None: ...
    def refresh_token_by_hmac(self, tenant_id: str, token_hmac: str) -> RefreshToken | None: ...
    def rotate_refresh_token(
        self, old_hmac: str, new: RefreshToken, *, now: float, access_token: AccessTokenRecord | None = None
    ) -> bool:
        """Mark ``old_hmac`` used and store ``new`` atomically; ``False`` if already used."""
        ...


class AccessTokenStore(Protocol):
    def add_access_token(self, record: AccessTokenRecord) -> None: ...
    def access_token_state(self, tenant_id: str, jti: str) -> AccessTokenState | None:
        """The token's record, its grant and the grant's user, in one read."""
        ...

    def revoke_access_token(self, tenant_id: str, jti: str, *, now: float) -> None: ...


class SessionStore(Protocol):
    def add_session(self, session: Session) -> None: ...
    def session_by_hmac(self, tenant_id: str, token_hmac: str) -> Session | None: ...
    def revoke_session(self, tenant_id: str, session_id: str, *, now: float) -> None: ...
    def session_by_id(self, tenant_id: str, session_id: str) -> Session | None: ...
    def sessions_of_user(
        self,
        tenant_id: str,
        user_id: str,
        *,
        now: float,
        limit: int,
        after: tuple[float, str] | None = None,
    ) -> Sequence[Session]:
        """The user's live sessions (not revoked, not expired), newest first, ordered by
        ``(created_at, id)`` descending, before the keyset position ``after``."""
        ...


class InteractionStore(Protocol):
    def add_interaction(self, interaction: Interaction) -> None: ...
    def interaction_by_hmac(self, tenant_id: str, id_hmac: str) -> Interaction | None: ...
    def update_interaction(self, tenant_id: str, id_hmac: str, **fields: Any) -> None: ...
    def complete_interaction(self, tenant_id: str, id_hmac: str, *, now: float) -> bool:
        """Mark the interaction done; ``False`` if it already was (single use)."""
        ...


class ConsentStore(Protocol):
    def consent_for(self, tenant_id: str, user_id: str, client_id: str) -> Consent | None: ...
    def save_consent(self, consent: Consent) -> None: ...


class UserPageStore(Protocol):
    def users_page(
        self, tenant_id: str, *, after: tuple[str, str] | None, limit: int, **filters: Any
    ) -> Sequence[User]:
        """Users ordered by ``(username_norm, id)`` after the keyset position ``after``.
        Filters: ``email``, ``username`` (exact, case-insensitive), ``username_prefix``,
        ``status``, ``created_after``, ``created_before`` (epoch seconds), and ``q``: free text,
        every word of which must be a prefix of a word of the user's username, email or names."""
        ...


class BulkUserStore(Protocol):
    def add_users_bulk(self, tenant_id: str, users: Sequence[User]) -> list[int]:
        """Insert ``users`` (all of ``tenant_id``) in one transaction, with their search tokens.
        A user whose username or email is already taken in the tenant (or earlier in the batch)
        is skipped, not an error; returns the indexes in ``users`` of the rows inserted."""
        ...


class ImportJobStore(Protocol):
    def add_import_job(self, job: ImportJob) -> None: ...
    def import_job(self, tenant_id: str, job_id: str) -> ImportJob | None: ...
    def update_import_job(self, tenant_id: str, job_id: str, **fields: Any) -> None: ...
    def import_jobs_page(
        self, tenant_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[ImportJob]:
        """Newest first."""
        ...


class AuditStore(Protocol):
    def add_audit_event(self, event: AuditEvent) -> None: ...
    def audit_page(
        self,
        tenant_id: str,
        *,
        after: tuple[float, str] | None,
        limit: int,
        action: str | None = None,
        target: str | None = None,
    ) -> Sequence[AuditEvent]:
        """Newest first, ordered by ``(created_at, id)`` descending, before the position ``after``."""
        ...


class IdempotencyStore(Protocol):
    def idempotency_record(self, tenant_id: str, actor: str, key: str) -> IdempotencyRecord | None: ...
    def claim_idempotency_key(self, record: IdempotencyRecord) -> bool:
        """Insert ``record`` (without a response); ``False`` if the key is already taken."""
        ...

    def complete_idempotency_key(
        self, tenant_id: str, actor: str, key: str, response: dict[str, Any]
    ) -> None: ...
    def release_idempotency_key(self, tenant_id: str, actor: str, key: str) -> None: ...


class FactorStore(Protocol):
    """A user's second factors. Updates are compare-and-set on ``UserFactor.version``."""

    def add_factor(self, factor: UserFactor, *, replace: str | None = None) -> None:
        """Insert ``factor``; in the same transaction, first delete the user's factors of the
        same kind and name whose status is ``replace`` (``"any"``: whatever their status).
        Raises ``Conflict`` when the user already has a factor of that kind and name."""
        ...

    def factor_by_id(self, tenant_id: str, user_id: str, factor_id: str) -> UserFactor | None: ...
    def factors_of_user(self, tenant_id: str, user_id: str) -> Sequence[UserFactor]:
        """Oldest first."""
        ...

    def update_factor(self, factor: UserFactor, **fields: Any) -> UserFactor | None:
        """Write ``fields`` if the stored factor still has ``factor.version`` (its version grows
        by one); the updated factor, or ``None`` when it changed or is gone meanwhile."""
        ...

    def delete_factor(self, tenant_id: str, user_id: str, factor_id: str) -> bool: ...
    def delete_factors_of_user(self, tenant_id: str, user_id: str) -> int: ...


class PasskeyStore(Protocol):
    """WebAuthn ceremony state that is not a factor: pending challenges (single use) and each
    user's opaque user handle."""

    def add_passkey_challenge(self, challenge: PasskeyChallenge) -> None:
        """Insert ``challenge``; in the same transaction, delete the tenant's expired challenges
        and the earlier ones of the same binding and purpose (one ceremony at a time)."""
        ...

    def take_passkey_challenge(
        self, tenant_id: str, challenge_id: str, now: float
    ) -> PasskeyChallenge | None:
        """Delete and return the challenge if it exists and has not expired; of two concurrent
        takes, one gets it and the other ``None``."""
        ...

    def passkey_user_handle(self, tenant_id: str, user_id: str) -> str | None: ...
    def add_passkey_user_handle(self, tenant_id: str, user_id: str, handle: str) -> None:
        """Raises ``Conflict`` when the user already has one (a concurrent registration)."""
        ...

    def user_by_passkey_handle(self, tenant_id: str, handle: str) -> str | None:
        """The id of the user with this handle."""
        ...


class Storage(
    TenantStore,
    UserStore,
    ClientStore,
    KeyStore,
    AuthorizationCodeStore,
    GrantStore,
    RefreshTokenStore,
    AccessTokenStore,
    SessionStore,
    InteractionStore,
    ConsentStore,
    ConsentAdminStore,
    UserPageStore,
    BulkUserStore,
    ImportJobStore,
    AuditStore,
    IdempotencyStore,
    FactorStore,
    PasskeyStore,
    Protocol,
):
    """Everything one backend provides; wired once in the app factory."""
