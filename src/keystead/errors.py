"""The root of Keystead's errors and the domain errors services raise.

Protocol errors (RFC 6749, OpenID Connect) live in :mod:`keystead.protocols.oauth2.errors`; they
carry their wire contract. Domain errors here are raised by services and mapped by the edges
(CLI, admin API) to their own formats.
"""

from __future__ import annotations


class KeysteadError(Exception):
    """Root of every error Keystead raises on purpose.

    ``description`` is safe to show to the caller; ``detail`` is private and goes only to the log.
    """

    def __init__(self, description: str = "", *, detail: str | None = None) -> None:
        super().__init__(description or self.__class__.__name__)
        self.description = description
        self.detail = detail


class NotFound(KeysteadError):
    """The named object does not exist (in this tenant)."""


class Conflict(KeysteadError):
    """A uniqueness rule would be broken (a username, an email, a tenant name)."""


class Stale(KeysteadError):
    """The object changed since the caller read it (optimistic concurrency); nothing was written."""


class InvalidInput(KeysteadError):
    """A value is malformed; ``field`` names it."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field


class ConfigurationError(KeysteadError):
    """The configuration is unsafe or inconsistent; the process must not start."""


__all__ = ["ConfigurationError", "Conflict", "InvalidInput", "KeysteadError", "NotFound", "Stale"]
