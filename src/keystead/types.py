"""Shared vocabulary: small aliases and value types used across layers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NewType

TenantId = NewType("TenantId", str)
UserId = NewType("UserId", str)
ClientId = NewType("ClientId", str)

#: A request's parameters as received: every name maps to every value it was sent with,
#: so that duplicate parameters can be detected (RFC 6749 section 3.1).
Params = Mapping[str, Sequence[str]]

#: Seconds since the epoch; injected so that expiry is testable without sleeping.
Clock = Callable[[], float]

__all__ = ["ClientId", "Clock", "Params", "TenantId", "UserId"]
