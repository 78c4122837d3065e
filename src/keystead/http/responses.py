"""JSON responses and the OAuth 2.0 error format (RFC 6749 section 5.2, RFC 6750 section 3)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

from keystead.protocols.oauth2 import bearer
from keystead.protocols.oauth2.errors import InsufficientScope, InvalidClient, InvalidToken, OAuth2Error

log = logging.getLogger("keystead.http")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_response(
    body: Any,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=media_type)


def oauth_error(exc: OAuth2Error, *, bearer_realm: bool = False) -> Response:
    if exc.detail:
        log.info("oauth error %s: %s", exc.error, exc.detail)
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="keystead"'
    if bearer_realm and isinstance(exc, bearer.MissingToken):
        headers["WWW-Authenticate"] = bearer.challenge()
    elif bearer_realm and isinstance(exc, InvalidToken | InsufficientScope):
        headers["WWW-Authenticate"] = bearer.challenge(exc.error, exc.description)
    return json_response(exc.to_dict(), exc.status_code, headers=headers)
