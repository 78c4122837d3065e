"""The verified access token a resource server works with, and scope checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keystead.sdk.errors import InsufficientScope


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A verified RFC 9068 access token. ``sub`` is the user (or the client itself for
    ``client_credentials``); ``claims`` holds every claim, including ``auth_time``/``acr``/``amr``."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    expires_at: int
    claims: Mapping[str, Any] = field(repr=False)
    jti: str | None = None

    def has_scopes(self, *scopes: str) -> bool:
        return all(s in self.scopes for s in scopes)


def require_scopes(token: AccessToken, *scopes: str) -> AccessToken:
    """The token itself when it carries every one of ``scopes``, else :class:`InsufficientScope`."""
    if not token.has_scopes(*scopes):
        raise InsufficientScope(scopes)
    return token


def split_scope(value: Any) -> frozenset[str]:
    """The RFC 6749 section 3.3 ``scope`` claim (space-delimited) as a set."""
    if not isinstance(value, str):
        return frozenset()
    return frozenset(value.split())
