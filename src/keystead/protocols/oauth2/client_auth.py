"""Client authentication at the token, introspection and revocation endpoints
(RFC 6749 sections 2.3.1 and 3.2.1).

Methods: ``client_secret_basic``, ``client_secret_post`` and ``none`` (a public client names
itself with ``client_id``). Using more than one method in a request is refused (section 2.3).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote

from keystead.protocols.oauth2.errors import InvalidClient, InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.types import Params

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: str


def extract(authorization: str | None, form: Params) -> ClientCredentials:
    """The credentials a request presents, or :class:`InvalidClient` when there are none."""
    body_id = single(form, "client_id", max_length=255)
    body_secret = single(form, "client_secret", max_length=512)
    if authorization is not None and authorization[:6].lower() == "basic ":
        if body_secret is not None:
            raise InvalidRequest("more than one client authentication method used")
        creds = _parse_basic(authorization[6:].strip())
        if body_id is not None and body_id != creds.client_id:
            raise InvalidRequest("client_id does not match the authenticated client")
        return creds
    if body_id is None:
        raise InvalidClient("client authentication required")
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, POST)
    return ClientCredentials(body_id, None, NONE)


def _parse_basic(token: str) -> ClientCredentials:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClient("malformed HTTP Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("malformed HTTP Basic credentials")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
    client_id, secret = unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
    if "\x00" in client_id or "\x00" in secret:
        raise InvalidClient("malformed HTTP Basic credentials")
    return ClientCredentials(client_id, secret, BASIC)
