"""The errors a resource server sees. Each carries a private ``reason`` for logs; the public
wire form (RFC 6750 section 3.1 error codes) is fixed by the class."""

from __future__ import annotations

from collections.abc import Iterable


class SdkError(Exception):
    """Root of the errors raised by :mod:`keystead.sdk`."""


class InvalidToken(SdkError):
    """The access token is missing its signature, expired, revoked, for another audience...

    ``reason`` says which, for the log only: never send it to the caller.
    """

    error = "invalid_token"
    description = "the access token is invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InsufficientScope(SdkError):
    """The token is valid but lacks scopes the resource requires (RFC 6750 section 3.1)."""

    error = "insufficient_scope"
    description = "the access token does not have the required scope"

    def __init__(self, required: Iterable[str]) -> None:
        self.required = tuple(dict.fromkeys(required))
        super().__init__(f"required scope: {' '.join(self.required)}")


class ProviderError(SdkError):
    """Keystead's discovery document or JWK Set could not be fetched or is not acceptable
    (network error, bad status, issuer mismatch). Not the caller's fault: answer 503."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
