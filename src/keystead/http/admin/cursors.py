"""Opaque pagination cursors: a keyset position, HMAC-signed and bound to a tenant and a list.

A cursor is ``base64url(JSON position) "." HMAC``; the HMAC (key purpose ``admin-cursor``) covers
the tenant id and the list's name, so a tampered cursor, or one taken from another tenant or
another list, is refused with a 400 problem.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from keystead.http.admin.problems import Problem
from keystead.services.secrets import KeyRing, b64

PURPOSE = "admin-cursor"
MAX_CURSOR = 1024


def encode(ring: KeyRing, tenant_id: str, kind: str, position: list[Any]) -> str:
    payload = b64(orjson.dumps(position))
    return f"{payload}.{ring.mac(PURPOSE, f'{tenant_id}|{kind}|{payload}')}"


def decode(ring: KeyRing, tenant_id: str, kind: str, cursor: str) -> list[Any]:
    payload, _, mac = cursor.partition(".")
    if (
        len(cursor) > MAX_CURSOR
        or not mac.isascii()
        or not ring.mac_matches(PURPOSE, f"{tenant_id}|{kind}|{payload}", mac)
    ):
        raise _invalid()
    try:
        position = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(position, list):
        raise _invalid()
    return position


def time_id(ring: KeyRing, tenant_id: str, kind: str, cursor: str | None) -> tuple[float, str] | None:
    """A ``(time, id)`` keyset position from a cursor (``None`` without one)."""
    if cursor is None:
        return None
    position = decode(ring, tenant_id, kind, cursor)
    if len(position) != 2 or not isinstance(position[0], float | int) or not isinstance(position[1], str):
        raise _invalid()
    return float(position[0]), position[1]


def text(ring: KeyRing, tenant_id: str, kind: str, cursor: str | None) -> str | None:
    """A one-string keyset position (a name, a client id) from a cursor."""
    if cursor is None:
        return None
    position = decode(ring, tenant_id, kind, cursor)
    if len(position) != 1 or not isinstance(position[0], str):
        raise _invalid()
    return position[0]


def _invalid() -> Problem:
    return Problem(
        "invalid-cursor",
        "the cursor is invalid",
        errors=[{"field": "cursor", "in": "query", "detail": "not a cursor this list issued"}],
    )
