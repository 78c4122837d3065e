"""Input rules shared by the directory services."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from keystead.errors import InvalidInput

_TENANT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,255}$")
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


def tenant_name(value: str) -> str:
    if not _TENANT_NAME.match(value):
        raise InvalidInput("name", "tenant names are 1-63 lowercase letters, digits and '-'")
    return value


def username(value: str) -> str:
    value = value.strip()
    if not _USERNAME.match(value):
        raise InvalidInput("username", "usernames are 1-255 characters without spaces")
    return value


def email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise InvalidInput("email", "not a valid email address")
    return value


def color(value: str | None) -> str | None:
    if value is None:
        return None
    if not _COLOR.match(value):
        raise InvalidInput("brand_color", "colours are #rrggbb")
    return value.lower()


def redirect_uri(value: str, *, field: str = "redirect_uris") -> str:
    """Absolute, no fragment; ``http`` only on loopback (RFC 8252 section 7.3); custom schemes
    for native apps (section 7.1)."""
    parts = urlsplit(value)
    if not parts.scheme or "#" in value or len(value) > 2048 or any(c.isspace() for c in value):
        raise InvalidInput(field, f"not an absolute URI without fragment: {value!r}")
    if (
        parts.scheme == "http"
        and parts.hostname not in LOOPBACK_HOSTS
        and parts.netloc.split(":")[0] not in LOOPBACK_HOSTS
    ):
        raise InvalidInput(field, f"http is only allowed for loopback redirect URIs: {value!r}")
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise InvalidInput(field, f"missing host: {value!r}")
    if parts.scheme in ("javascript", "data", "file", "vbscript"):
        raise InvalidInput(field, f"scheme not allowed: {value!r}")
    return value
