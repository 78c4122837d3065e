"""RFC 6750 for resource servers, framework-free: reading the ``Authorization: Bearer`` header
(section 2.1) and the ``WWW-Authenticate`` challenge and status of each error (section 3)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from keystead.sdk.errors import InsufficientScope, InvalidToken, ProviderError, SdkError

log = logging.getLogger("keystead.sdk")

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class MalformedRequest(SdkError):
    """The Authorization header says Bearer but is not ``Bearer <b64token>`` (400)."""

    error = "invalid_request"
    description = "malformed Bearer credentials"


def token_from_header(authorization: str | None) -> str | None:
    """The bearer token, ``None`` when the request carries no Bearer credentials."""
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    if not _B64TOKEN.fullmatch(value):
        raise MalformedRequest("malformed Bearer credentials")
    return value


@dataclass(frozen=True, slots=True)
class Denial:
    """What to answer instead of the resource: status, ``WWW-Authenticate`` and a JSON body."""

    status: int
    challenge: str | None
    body: dict[str, str]


def challenge(realm: str, error: str | None = None, description: str | None = None, scope: str = "") -> str:
    parts = [f'Bearer realm="{_quoted(realm)}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_quoted(description)}"')
    if scope:
        parts.append(f'scope="{_quoted(scope)}"')
    return ", ".join(parts)


def _quoted(value: str) -> str:
    return "".join(c for c in value if c not in '"\\' and 0x20 <= ord(c) < 0x7F)


def denial(exc: SdkError | None, realm: str, scopes: tuple[str, ...] = ()) -> Denial:
    """The response for an error (``None``: no credentials were sent, section 3.1: no error code).
    Reasons go to the ``keystead.sdk`` log, never to the caller."""
    scope = " ".join(scopes)
    if exc is None:
        return Denial(401, challenge(realm, scope=scope), {"error": "unauthorized"})
    if isinstance(exc, InvalidToken):
        log.info("access token refused: %s", exc.reason)
        return Denial(401, challenge(realm, exc.error, exc.description), _body(exc.error, exc.description))
    if isinstance(exc, InsufficientScope):
        needed = " ".join(exc.required)
        return Denial(
            403, challenge(realm, exc.error, exc.description, needed), _body(exc.error, exc.description)
        )
    if isinstance(exc, MalformedRequest):
        return Denial(400, challenge(realm, exc.error, exc.description), _body(exc.error, exc.description))
    if isinstance(exc, ProviderError):
        log.warning("cannot verify access tokens: %s", exc.reason)
    return Denial(503, None, _body("temporarily_unavailable", "cannot verify the access token now"))


def _body(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}
