"""Records that cross the storage boundary. Secrets appear only as HMACs or hashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    display_name: str
    status: str = "active"
    custom_domain: str | None = None
    logo_url: str | None = None
    brand_color: str | None = None
    created_at: float = 0.0
    settings: dict[str, Any] | None = None  # see services.tenant_settings; None = defaults

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    username: str
    email: str | None = None
    email_verified: bool = False
    status: str = "active"
    password_hash: str | None = field(default=None, repr=False)
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    phone_number: str | None = None
    phone_number_verified: bool = False
    address: dict[str, Any] | None = None
    locale: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    roles: tuple[str, ...] = ()  # e.g. "admin": may use the admin console of the tenant
    #: when the password was last set (``None``: before migration 0009, or no password; the
    #: password expiry then counts from ``created_at``)
    password_changed_at: float | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def claims(self) -> dict[str, Any]:
        """The user's standard claims (OIDC Core section 5.1)."""
        return {
            "sub": self.id,
            "preferred_username": self.username,
            "name": self.name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "locale": self.locale,
            "updated_at": int(self.updated_at),
            "email": self.email,
            "email_verified": self.email_verified if self.email else None,
            "phone_number": self.phone_number,
            "phone_number_verified": self.phone_number_verified if self.phone_number else None,
            "address": self.address,
        }


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    tenant_id: str
    client_id: str
    name: str
    client_type: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    secret_hash: str | None = field(default=None, repr=False)
    post_logout_redirect_uris: tuple[str, ...] = ()
    first_party: bool = False
    id_token_alg: str = "ES256"
    access_token_ttl: int = 600
    id_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 86400
    status: str = "active"
    client_uri: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0  # a version: every write moves it forward
    # sign-in strength (docs/risk.md): ``None`` keeps the tenant's
    mfa: str | None = None  # never / when_enrolled / always
    minimum_acr: str | None = None  # its requests ask for at least this acr
    risk: dict[str, Any] | None = field(default=None, hash=False)  # services/risk_settings.ClientRisk

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    tenant_id: str
    alg: str
    encrypted_jwk: bytes = field(repr=False)
    status: str  # "active" or "retired"
    created_at: float
    publish_until: float | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code_hmac: str
    tenant_id: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    session_id: str | None
    auth_time: float
    acr: str | None
    amr: tuple[str, ...]
    claims: dict[str, Any]
    expires_at: float
    consumed_at: float | None = None
    grant_id: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A family of tokens from one authorization; revoking it revokes them all."""

    id: str
    tenant_id: str
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    created_at: float
    session_id: str | None = None
    auth_time: float | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hmac: str
    grant_id: str
    tenant_id: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    created_at: float
    used_at: float | None = None


@dataclass(frozen=True, slots=True)
class AccessTokenRecord:
    jti: str
    tenant_id: str
    client_id: str
    grant_id: str | None
    expires_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    tenant_id: str
    user_id: str
    token_hmac: str
    auth_time: float
    acr: str | None
    amr: tuple[str, ...]
    created_at: float
    expires_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    id_hmac: str
    tenant_id: str
    client_id: str
    request: dict[str, Any]
    created_at: float
    expires_at: float
    user_id: str | None = None
    auth_time: float | None = None
    session_id: str | None = None
    completed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    tenant_id: str
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: float


@dataclass(frozen=True, slots=True)
class AccessTokenState:
    """What checking an access token needs: its record, its grant (``None`` for
    ``client_credentials``, or when the grant row is gone) and the grant's user."""

    record: AccessTokenRecord
    grant: Grant | None
    user: User | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One admin write: who did what to which object, from where, and what changed.
    ``before``/``after`` never hold secrets (the audit service removes them)."""

    id: str
    tenant_id: str
    actor: str
    action: str
    target: str | None
    ip: str | None
    created_at: float
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first response to a creating request sent with an ``Idempotency-Key``."""

    tenant_id: str
    actor: str
    key: str
    request_mac: str
    created_at: float
    response: dict[str, Any] | None = None  # ``None`` while the first request is running


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A bulk import's progress; ``errors`` holds the first rejected rows as
    ``{"line": n, "field": name | None, "reason": text}``."""

    id: str
    tenant_id: str
    kind: str  # "users"
    status: str  # "queued", "running", "succeeded", "failed"
    actor: str
    created_at: float
    updated_at: float
    source: str | None = None
    total: int = 0
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class UserFactor:
    """A second factor of a user: ``kind`` is ``"totp"`` or ``"recovery_codes"`` (later
    ``"webauthn"``); ``status`` ``"pending"`` until enrolment is confirmed, then ``"active"``.
    ``secret`` is AES-GCM ciphertext (never the secret itself); ``data`` holds the kind's state
    (the last TOTP step used, recovery code HMACs and when each was used, the failure count);
    ``version`` grows by one on every update (compare-and-set)."""

    id: str
    tenant_id: str
    user_id: str
    kind: str
    name: str
    status: str
    created_at: float
    secret: bytes | None = field(default=None, repr=False)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    version: int = 1
    last_used_at: float | None = None


@dataclass(frozen=True, slots=True)
class PasskeyChallenge:
    """A WebAuthn challenge waiting for its answer (services.passkey_challenges): ``id`` is the
    SHA-256 of the challenge (hex), ``purpose`` the ceremony (``register``, ``second_factor``,
    ``passwordless``), ``binding`` an HMAC of what it belongs to (the interaction, the account
    session), ``user_id`` whose ceremony it is (``None`` for a passwordless sign-in)."""

    id: str
    tenant_id: str
    purpose: str
    binding: str
    created_at: float
    expires_at: float
    user_id: str | None = None
