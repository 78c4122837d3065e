"""Keystead for resource servers: verify access tokens (RFC 9068 JWTs) locally against the
issuer's JWK Set, optionally ask Keystead by introspection (RFC 7662), and protect FastAPI,
Starlette and Flask endpoints with RFC 6750 answers.

Framework helpers live in :mod:`keystead.sdk.asgi` and :mod:`keystead.sdk.flask`, imported only
when used. This package depends on httpx and joserfc, never on Keystead's server internals.
"""

from keystead.sdk.access_token import AccessToken, require_scopes
from keystead.sdk.admin import AdminApiError, AdminClient, AsyncAdminClient
from keystead.sdk.errors import InsufficientScope, InvalidToken, ProviderError, SdkError
from keystead.sdk.introspection import AsyncIntrospector, Introspector
from keystead.sdk.tokens import AsyncTokenVerifier, TokenVerifier

__all__ = [
    "AccessToken",
    "AdminApiError",
    "AdminClient",
    "AsyncAdminClient",
    "AsyncIntrospector",
    "AsyncTokenVerifier",
    "InsufficientScope",
    "Introspector",
    "InvalidToken",
    "ProviderError",
    "SdkError",
    "TokenVerifier",
    "require_scopes",
]
