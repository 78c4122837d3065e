"""Bearer token usage (RFC 6750 section 2): the Authorization header or a form body field."""

from __future__ import annotations

from keystead.protocols.oauth2.errors import InvalidRequest, InvalidToken
from keystead.protocols.oauth2.params import single
from keystead.types import Params


class MissingToken(InvalidToken):
    """No credentials at all: RFC 6750 section 3.1 says the challenge carries no error code."""


def extract(authorization: str | None, form: Params | None) -> str:
    header_token = None
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidToken("expected a Bearer token")
        header_token = value.strip()
    body_token = single(form, "access_token", max_length=8192) if form is not None else None
    if header_token and body_token:
        raise InvalidRequest("more than one method used to send the access token")
    token = header_token or body_token
    if not token:
        raise MissingToken("access token required")
    return token


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` header value of RFC 6750 section 3."""
    parts = ['Bearer realm="keystead"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        safe = description.replace("\\", "").replace('"', "'")
        parts.append(f'error_description="{safe}"')
    return ", ".join(parts)
