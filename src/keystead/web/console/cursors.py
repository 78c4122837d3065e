"""Keyset positions in the console's "next page" links: signed, bound to a tenant and a list,
so a tampered link or one from another tenant starts from the first page instead."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from keystead.services.secrets import KeyRing, b64

PURPOSE = "console-cursor"
MAX_CURSOR = 1024


def encode(ring: KeyRing, tenant_id: str, kind: str, position: list[Any]) -> str:
    payload = b64(orjson.dumps(position))
    return f"{payload}.{ring.mac(PURPOSE, f'{tenant_id}|{kind}|{payload}')}"


def decode(ring: KeyRing, tenant_id: str, kind: str, cursor: str) -> list[Any] | None:
    """The position, or ``None`` for a cursor this tenant's list did not issue."""
    payload, _, mac = cursor.partition(".")
    if len(cursor) > MAX_CURSOR or not mac.isascii() or not mac:
        return None
    if not ring.mac_matches(PURPOSE, f"{tenant_id}|{kind}|{payload}", mac):
        return None
    try:
        position = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return position if isinstance(position, list) else None
