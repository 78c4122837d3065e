"""The audit trail: every admin write is recorded with who, what, when, from where, and what
changed. Secrets (password hashes, client secret hashes, token HMACs, key material) are removed
from the before/after snapshots before they are stored."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from keystead.ports.records import AuditEvent
from keystead.ports.stores import AuditStore
from keystead.types import Clock

SECRET_FIELDS = frozenset(
    {"password", "password_hash", "secret", "secret_hash", "client_secret", "encrypted_jwk", "token"}
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the access token's ``sub`` and ``client_id``, and the client's address."""

    subject: str
    client_id: str | None = None
    ip: str | None = None

    @property
    def name(self) -> str:
        if self.client_id and self.client_id != self.subject:
            return f"{self.subject} via {self.client_id}"[:255]
        return self.subject[:255]


def scrub(value: Any) -> Any:
    """A JSON-able copy of ``value`` without secret fields (at any depth)."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items() if not _secret(str(k))}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _secret(name: str) -> bool:
    return name in SECRET_FIELDS or name.endswith(("_hmac", "_secret", "_hash"))


_last_ns = 0
_id_lock = threading.Lock()


def event_id() -> str:
    """A 36-character id that sorts in creation order within a process (a tiebreak for events
    recorded in the same clock tick): nanoseconds, strictly increasing, then 60 random bits."""
    global _last_ns  # noqa: PLW0603
    with _id_lock:
        _last_ns = max(time.time_ns(), _last_ns + 1)
        ns = _last_ns
    return f"{ns:020x}-{secrets.token_hex(8)[:15]}"


class Audit:
    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        tenant_id: str,
        actor: Actor,
        action: str,
        target: str | None,
        *,
        before: Any = None,
        after: Any = None,
    ) -> AuditEvent:
        event = AuditEvent(
            id=event_id(),
            tenant_id=tenant_id,
            actor=actor.name,
            action=action,
            target=target,
            ip=actor.ip,
            created_at=self._clock(),
            before=scrub(before) if before is not None else None,
            after=scrub(after) if after is not None else None,
        )
        self._store.add_audit_event(event)
        return event

    def page(
        self,
        tenant_id: str,
        *,
        after: tuple[float, str] | None = None,
        limit: int = 50,
        action: str | None = None,
        target: str | None = None,
    ) -> Sequence[AuditEvent]:
        return self._store.audit_page(tenant_id, after=after, limit=limit, action=action, target=target)
