"""What the authorization and logout use cases ask the HTTP edge to do."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.protocols.oauth2.errors import OAuth2Error
from keystead.protocols.oauth2.response import AuthorizationResponse


@dataclass(frozen=True, slots=True)
class ToClient:
    """Send the authorization response to the client (redirect or form post)."""

    response: AuthorizationResponse


@dataclass(frozen=True, slots=True)
class ToInteraction:
    """Hand off to the hosted pages; ``handle`` names the interaction (and its cookie)."""

    handle: str


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """Show an error page; never redirect (unknown client, unregistered redirect URI)."""

    error: OAuth2Error


Outcome = ToClient | ToInteraction | ErrorPage
