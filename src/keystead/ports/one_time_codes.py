"""Emailed and texted one-time codes and links (services/one_time_codes.py): the record and
its narrow store. Nothing secret is stored: the code and the link's secret appear only as HMACs,
and so do the address they were sent to and the sign-in they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OneTimeCode:
    id: str
    tenant_id: str
    #: ``None`` for a login that matched no account (the same work is done, nothing is sent).
    user_id: str | None
    purpose: str
    code_mac: str | None
    link_mac: str | None
    address_mac: str | None
    binding_mac: str | None
    attempts: int
    created_at: float
    expires_at: float
    used_at: float | None = None
    version: int = 0


class OneTimeCodeStore(Protocol):
    def add_one_time_code(self, code: OneTimeCode) -> None: ...

    def one_time_code(self, tenant_id: str, code_id: str) -> OneTimeCode | None: ...

    def update_one_time_code(self, code: OneTimeCode, **fields: Any) -> OneTimeCode | None:
        """Compare-and-set on ``version``: the updated record, or ``None`` if it changed meanwhile."""
        ...

    def purge_one_time_codes(self, tenant_id: str, before: float) -> int:
        """Delete the tenant's codes that expired before ``before``; how many."""
        ...
