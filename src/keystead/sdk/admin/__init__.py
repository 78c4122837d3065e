"""Keystead for operators: a typed client of the admin REST API (``/admin/api/v1``), sync and
async, with pagination iterators, retries with backoff on 429/503, automatic client-credentials
tokens, and RFC 9457 problems raised as typed exceptions.

    with AdminClient("https://id.example.com", client_id=..., client_secret=...,
                     issuer="https://id.example.com/t/acme") as admin:
        users = admin.users("acme")
        alice = users.create("alice", email="alice@example.com")
        alice = users.update(alice, name="Alice Liddell")   # If-Match: alice.etag
        for user in users.list(username_prefix="al"):
            ...
"""

from keystead.sdk.admin._core import PLATFORM_SCOPE, TENANT_SCOPE, Call
from keystead.sdk.admin.access_models import (
    Consent,
    Grant,
    ImportJob,
    RowError,
    Session,
    SigningKey,
    TenantSettings,
)
from keystead.sdk.admin.access_resources import (
    AsyncConsents,
    AsyncImportJobs,
    AsyncKeys,
    AsyncSessions,
    AsyncSettings,
    Consents,
    ImportJobs,
    ImportTimeout,
    Keys,
    Sessions,
    Settings,
)
from keystead.sdk.admin.access_routes import SettingsChanges
from keystead.sdk.admin.client import (
    AdminClient,
    AsyncAdminClient,
    AsyncAuditEvents,
    AsyncClients,
    AsyncTenants,
    AsyncUsers,
    AuditEvents,
    Clients,
    Tenants,
    Users,
)
from keystead.sdk.admin.errors import (
    AdminApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from keystead.sdk.admin.models import AuditEvent, Client, ClientSecret, Page, Tenant, User
from keystead.sdk.admin.risk import AsyncRiskDecisions, Contribution, RiskDecision, RiskDecisions
from keystead.sdk.admin.routes import (
    Address,
    ClientChanges,
    ClientFields,
    TenantChanges,
    TenantFields,
    TenantFilters,
    UserChanges,
    UserFields,
    UserFilters,
)

__all__ = [
    "PLATFORM_SCOPE",
    "TENANT_SCOPE",
    "Address",
    "AdminApiError",
    "AdminClient",
    "AsyncAdminClient",
    "AsyncAuditEvents",
    "AsyncClients",
    "AsyncConsents",
    "AsyncImportJobs",
    "AsyncKeys",
    "AsyncRiskDecisions",
    "AsyncSessions",
    "AsyncSettings",
    "AsyncTenants",
    "AsyncUsers",
    "AuditEvent",
    "AuditEvents",
    "BadRequest",
    "Call",
    "Client",
    "ClientChanges",
    "ClientFields",
    "ClientSecret",
    "Clients",
    "Conflict",
    "Consent",
    "Consents",
    "Contribution",
    "Forbidden",
    "Grant",
    "ImportJob",
    "ImportJobs",
    "ImportTimeout",
    "Keys",
    "NotFound",
    "Page",
    "PreconditionFailed",
    "RateLimited",
    "RiskDecision",
    "RiskDecisions",
    "RowError",
    "ServerError",
    "Session",
    "Sessions",
    "Settings",
    "SettingsChanges",
    "SigningKey",
    "Tenant",
    "TenantChanges",
    "TenantFields",
    "TenantFilters",
    "TenantSettings",
    "Tenants",
    "Unauthorized",
    "User",
    "UserChanges",
    "UserFields",
    "UserFilters",
    "Users",
    "ValidationFailed",
]
