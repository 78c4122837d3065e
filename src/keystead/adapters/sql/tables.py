"""The schema. Secrets appear only as HMACs, hashes or ciphertext."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)


# Normalised keys compare bytewise on every backend: keyset order is the same on SQLite and
# PostgreSQL, and a prefix LIKE can use the b-tree index whatever the database's locale.
def _norm(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("custom_domain", String(253), unique=True),
    Column("logo_url", String(2048)),
    Column("brand_color", String(16)),
    Column("created_at", Double, nullable=False),
    Column("settings", JSON),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(255), nullable=False),
    Column("username_norm", _norm(255), nullable=False),
    Column("email", String(320)),
    Column("email_norm", _norm(320)),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("password_hash", String(512)),
    Column("password_changed_at", Double),
    Column("given_name", String(255)),
    Column("family_name", String(255)),
    Column("name", String(512)),
    Column("phone_number", String(64)),
    Column("phone_number_verified", Boolean, nullable=False, default=False),
    Column("address", JSON),
    Column("locale", String(35)),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("roles", JSON),
    UniqueConstraint("tenant_id", "username_norm", name="uq_users_tenant_username"),
    UniqueConstraint("tenant_id", "email_norm", name="uq_users_tenant_email"),
    Index("ix_users_tenant_created", "tenant_id", "created_at", "id"),
)

# Free-text search: one row per word of a user's username, email, and names (an inverted
# index); a search term matches a user when it is a prefix of one of the user's tokens. The
# primary key finds the users of a token prefix (a range scan); the (user_id, token) index
# tells whether one user has a token with a prefix (a probe) and finds a user's rows to delete.
# A derived index, written only by the user write paths (adapters/sql/users.py and bulk.py) in
# the user's own transaction, so no foreign key: its per-row check was 37% of PostgreSQL's CPU
# in a bulk import (docs/benchmarks.md). Whatever deletes users must delete their tokens.
user_search_tokens = Table(
    "user_search_tokens",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("token", _norm(255), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Index("ix_user_search_tokens_user", "user_id", "token"),
    sqlite_with_rowid=False,  # the primary key is the table: two b-trees per row, not three
)

# Bulk user imports run as jobs; their progress and the first errors (line, field, reason).
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("source", String(255)),
    Column("total", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("errors", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("finished_at", Double),
    Index("ix_import_jobs_tenant_time", "tenant_id", "created_at", "id"),
)

# Second factors (migration 0005): TOTP authenticators and recovery code sets, later passkeys.
# ``secret`` is AES-GCM ciphertext (associated data: tenant, user, factor id); ``data`` holds
# what is not secret or only an HMAC (the last TOTP step used, recovery code MACs, the failure
# count); every update is a compare-and-set on ``version`` (adapters/sql/factors.py).
user_factors = Table(
    "user_factors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("secret", LargeBinary),
    Column("data", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("last_used_at", Double),
    UniqueConstraint("tenant_id", "user_id", "kind", "name", name="uq_user_factors_name"),
    Index("ix_user_factors_user", "tenant_id", "user_id"),
)

one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE")),
    Column("purpose", String(32), nullable=False),
    Column("code_mac", String(64)),
    Column("link_mac", String(64)),
    Column("address_mac", String(64)),
    Column("binding_mac", String(64)),
    Column("attempts", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("used_at", Double),
    Column("version", Integer, nullable=False),
    Index("ix_one_time_codes_expiry", "tenant_id", "expires_at"),
)

clients = Table(
    "clients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("name", String(200), nullable=False),
    Column("client_type", String(16), nullable=False),
    Column("secret_hash", String(128)),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("grant_types", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("first_party", Boolean, nullable=False),
    Column("id_token_alg", String(8), nullable=False),
    Column("access_token_ttl", Integer, nullable=False),
    Column("id_token_ttl", Integer, nullable=False),
    Column("refresh_token_ttl", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("client_uri", String(2048)),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False, server_default="0"),
    # per-client sign-in strength (migration 0008): an ``mfa`` override, a minimum ``acr``, and
    # a risk policy override (docs/risk.md); NULL: the tenant's
    Column("mfa", String(16)),
    Column("minimum_acr", String(64)),
    Column("risk", JSON),
    UniqueConstraint("tenant_id", "client_id", name="uq_clients_tenant_client_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("alg", String(8), nullable=False),
    Column("encrypted_jwk", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("publish_until", Double),
    Index("ix_signing_keys_tenant", "tenant_id"),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("user_id", String(36)),
    Column("scopes", JSON, nullable=False),
    Column("session_id", String(36)),
    Column("auth_time", Double),
    Column("acr", String(128)),
    Column("amr", JSON, nullable=False),
    Column("claims", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("revoked_at", Double),
    Index("ix_grants_session", "tenant_id", "session_id"),
    Index("ix_grants_user", "tenant_id", "user_id"),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hmac", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("nonce", String(512)),
    Column("code_challenge", String(128)),
    Column("session_id", String(36)),
    Column("auth_time", Double, nullable=False),
    Column("acr", String(128)),
    Column("amr", JSON, nullable=False),
    Column("claims", JSON, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("consumed_at", Double),
    Column("grant_id", String(36)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hmac", String(64), primary_key=True),
    Column("grant_id", String(36), nullable=False),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("used_at", Double),
    Index("ix_refresh_tokens_grant", "grant_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("grant_id", String(36)),
    Column("expires_at", Double, nullable=False),
    Column("revoked_at", Double),
    Index("ix_access_tokens_grant", "grant_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("token_hmac", String(64), nullable=False, unique=True),
    Column("auth_time", Double, nullable=False),
    Column("acr", String(128)),
    Column("amr", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("revoked_at", Double),
    Index("ix_sessions_user", "tenant_id", "user_id"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id_hmac", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("request", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("user_id", String(36)),
    Column("auth_time", Double),
    Column("session_id", String(36)),
    Column("completed_at", Double),
)

consents = Table(
    "consents",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("client_id", String(255), primary_key=True),
    Column("scopes", JSON, nullable=False),
    Column("granted_at", Double, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255)),
    Column("ip", String(64)),
    Column("before", JSON),
    Column("after", JSON),
    Column("created_at", Double, nullable=False),
    Index("ix_audit_events_tenant_time", "tenant_id", "created_at", "id"),
    Index("ix_audit_events_tenant_target", "tenant_id", "target"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("actor", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_mac", String(64), nullable=False),
    Column("response", JSON),
    Column("created_at", Double, nullable=False),
)

# WebAuthn ceremonies (services/passkeys.py): a challenge waits here, keyed by its SHA-256, until
# its answer takes (deletes) it; the passkeys themselves are user_factors rows of kind "passkey".
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("binding", String(128), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE")),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Index("ix_passkey_challenges_binding", "tenant_id", "binding", "purpose"),
    Index("ix_passkey_challenges_expiry", "tenant_id", "expires_at"),
)

# A user's WebAuthn user handle (random, not the user id nor anything personal): what a
# discoverable credential returns at a passwordless sign-in, to find the user.
passkey_user_handles = Table(
    "passkey_user_handles",
    metadata,
    Column("tenant_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("handle", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id", name="pk_passkey_user_handles"),
    UniqueConstraint("tenant_id", "handle", name="uq_passkey_user_handles_handle"),
)

# The risk engine's memory of each user (migration 0008, docs/risk.md): devices (an HMAC of the
# device cookie's random id) and networks (an HMAC of the /24 or /48 prefix, never the address)
# seen at successful sign-ins, and the coarse place of the last one (GeoIP, 0.1 degree). Bounded
# per user (services/risk.py keeps the most recent) and pruned past the retention period.
risk_devices = Table(
    "risk_devices",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("device_hash", String(64), primary_key=True),
    Column("first_seen", Double, nullable=False),
    Column("last_seen", Double, nullable=False),
    Column("last_mfa_at", Double),
)

risk_networks = Table(
    "risk_networks",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("network_hash", String(64), primary_key=True),
    Column("last_seen", Double, nullable=False),
)

risk_locations = Table(
    "risk_locations",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("latitude", Double, nullable=False),
    Column("longitude", Double, nullable=False),
    Column("country", String(2)),
    Column("seen_at", Double, nullable=False),
)
