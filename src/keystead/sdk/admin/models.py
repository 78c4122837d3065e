"""What the admin API returns, as typed, immutable values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def parse_time(value: Any) -> datetime:
    """An RFC 3339 timestamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def rfc3339(value: datetime | str) -> str:
    """A filter value: a datetime (naive means UTC) or an RFC 3339 string as given."""
    if isinstance(value, str):
        return value
    text = value.isoformat()
    return text if value.tzinfo else text + "Z"


@dataclass(frozen=True, slots=True)
class User:
    """A user of a tenant. ``etag`` is the version this value was read at (from ``get``,
    ``create`` or ``update``; ``None`` for users from ``list``): ``update`` sends it as
    ``If-Match``."""

    id: str
    username: str
    email: str | None
    email_verified: bool
    status: str
    given_name: str | None
    family_name: str | None
    name: str | None
    phone_number: str | None
    phone_number_verified: bool
    address: Mapping[str, Any] | None
    locale: str | None
    has_password: bool
    created_at: datetime
    updated_at: datetime
    etag: str | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], etag: str | None = None) -> User:
        address = body.get("address")
        return cls(
            id=str(body["id"]),
            username=str(body["username"]),
            email=body.get("email"),
            email_verified=bool(body.get("email_verified")),
            status=str(body.get("status", "active")),
            given_name=body.get("given_name"),
            family_name=body.get("family_name"),
            name=body.get("name"),
            phone_number=body.get("phone_number"),
            phone_number_verified=bool(body.get("phone_number_verified")),
            address=dict(address) if isinstance(address, Mapping) else None,
            locale=body.get("locale"),
            has_password=bool(body.get("has_password")),
            created_at=parse_time(body["created_at"]),
            updated_at=parse_time(body["updated_at"]),
            etag=etag,
        )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One admin write: who (``actor``), what (``action`` on ``target``), when, from where, and
    snapshots ``before``/``after``."""

    id: str
    actor: str
    action: str
    target: str | None
    ip: str | None
    created_at: datetime
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AuditEvent:
        return cls(
            id=str(body["id"]),
            actor=str(body["actor"]),
            action=str(body["action"]),
            target=body.get("target"),
            ip=body.get("ip"),
            created_at=parse_time(body["created_at"]),
            before=body.get("before"),
            after=body.get("after"),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page (``None`` at the end)."""

    items: tuple[T, ...]
    next_cursor: str | None
