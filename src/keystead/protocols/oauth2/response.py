"""Authorization responses (RFC 6749 section 4.1.2) with ``iss`` (RFC 9207), in the ``query``
response mode or OAuth 2.0 Form Post Response Mode."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    redirect_uri: str
    response_mode: str
    params: dict[str, str]

    def location(self) -> str:
        """The redirect URL for ``query`` mode, keeping the URI's own query parameters."""
        parts = urlsplit(self.redirect_uri)
        query = urlencode(self.params)
        joined = f"{parts.query}&{query}" if parts.query else query
        return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))


def success(
    redirect_uri: str, response_mode: str, *, code: str, state: str | None, issuer: str
) -> AuthorizationResponse:
    params = {"code": code}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return AuthorizationResponse(redirect_uri, response_mode, params)


def failure(
    redirect_uri: str,
    response_mode: str,
    *,
    error: dict[str, str],
    state: str | None,
    issuer: str,
) -> AuthorizationResponse:
    params = dict(error)
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return AuthorizationResponse(redirect_uri, response_mode, params)
