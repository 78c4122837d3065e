"""One exception class per OAuth 2.0 / OpenID Connect error code.

Each carries its wire contract: the ``error`` code, the HTTP status, a public ``description``
and a private ``detail`` for the log only. Anything not an :class:`OAuth2Error` that escapes an
endpoint becomes :class:`ServerError` with its detail logged, never shown.
"""

from __future__ import annotations

from typing import ClassVar

from keystead.errors import KeysteadError


class OAuth2Error(KeysteadError):
    """An error response of RFC 6749 section 4.1.2.1 / 5.2 and OIDC Core section 3.1.2.6."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuth2Error):
    error = "invalid_request"


class InvalidClient(OAuth2Error):
    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuth2Error):
    error = "invalid_grant"


class UnauthorizedClient(OAuth2Error):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuth2Error):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuth2Error):
    error = "unsupported_response_type"


class InvalidScope(OAuth2Error):
    error = "invalid_scope"


class AccessDenied(OAuth2Error):
    error = "access_denied"
    status_code = 403


class ServerError(OAuth2Error):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuth2Error):
    error = "temporarily_unavailable"
    status_code = 503


class InvalidToken(OAuth2Error):
    """RFC 6750 section 3.1."""

    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuth2Error):
    """RFC 6750 section 3.1."""

    error = "insufficient_scope"
    status_code = 403


class UnsupportedTokenType(OAuth2Error):
    """RFC 7009 section 2.2.1."""

    error = "unsupported_token_type"


class InteractionRequired(OAuth2Error):
    """OIDC Core section 3.1.2.6."""

    error = "interaction_required"


class LoginRequired(OAuth2Error):
    error = "login_required"


class AccountSelectionRequired(OAuth2Error):
    error = "account_selection_required"


class ConsentRequired(OAuth2Error):
    error = "consent_required"


class InvalidRequestUri(OAuth2Error):
    error = "invalid_request_uri"


class InvalidRequestObject(OAuth2Error):
    error = "invalid_request_object"


class RequestNotSupported(OAuth2Error):
    error = "request_not_supported"


class RequestUriNotSupported(OAuth2Error):
    error = "request_uri_not_supported"


class RegistrationNotSupported(OAuth2Error):
    error = "registration_not_supported"


#: Every error code the specifications define, mapped to the class that carries it.
ERROR_CLASSES: dict[str, type[OAuth2Error]] = {
    cls.error: cls
    for cls in (
        InvalidRequest,
        InvalidClient,
        InvalidGrant,
        UnauthorizedClient,
        UnsupportedGrantType,
        UnsupportedResponseType,
        InvalidScope,
        AccessDenied,
        ServerError,
        TemporarilyUnavailable,
        InvalidToken,
        InsufficientScope,
        UnsupportedTokenType,
        InteractionRequired,
        LoginRequired,
        AccountSelectionRequired,
        ConsentRequired,
        InvalidRequestUri,
        InvalidRequestObject,
        RequestNotSupported,
        RequestUriNotSupported,
        RegistrationNotSupported,
    )
}
