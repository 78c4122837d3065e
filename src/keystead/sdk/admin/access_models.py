"""What the admin API returns for sessions, consents, grants, signing keys, tenant settings and
import jobs, as typed, immutable values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keystead.sdk.admin.models import parse_time


def _time(value: Any) -> datetime | None:
    return parse_time(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Session:
    """A live SSO session of a user (its cookie value is never stored or returned)."""

    id: str
    user_id: str
    created_at: datetime
    auth_time: datetime
    expires_at: datetime
    acr: str | None
    amr: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Session:
        return cls(
            id=str(body["id"]),
            user_id=str(body["user_id"]),
            created_at=parse_time(body["created_at"]),
            auth_time=parse_time(body["auth_time"]),
            expires_at=parse_time(body["expires_at"]),
            acr=body.get("acr"),
            amr=tuple(body.get("amr") or ()),
        )


@dataclass(frozen=True, slots=True)
class Consent:
    """The scopes a user allowed a client."""

    client_id: str
    scopes: tuple[str, ...]
    granted_at: datetime

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Consent:
        return cls(
            client_id=str(body["client_id"]),
            scopes=tuple(body.get("scopes") or ()),
            granted_at=parse_time(body["granted_at"]),
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """A live token family: one authorization of a client by a user."""

    id: str
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    session_id: str | None
    auth_time: datetime | None
    acr: str | None
    amr: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Grant:
        return cls(
            id=str(body["id"]),
            client_id=str(body["client_id"]),
            user_id=body.get("user_id"),
            scopes=tuple(body.get("scopes") or ()),
            created_at=parse_time(body["created_at"]),
            session_id=body.get("session_id"),
            auth_time=_time(body.get("auth_time")),
            acr=body.get("acr"),
            amr=tuple(body.get("amr") or ()),
        )


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A tenant signing key's public facts (never key material)."""

    kid: str
    alg: str
    status: str
    created_at: datetime
    publish_until: datetime | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> SigningKey:
        return cls(
            kid=str(body["kid"]),
            alg=str(body["alg"]),
            status=str(body["status"]),
            created_at=parse_time(body["created_at"]),
            publish_until=_time(body.get("publish_until")),
        )


@dataclass(frozen=True, slots=True)
class TenantSettings:
    """A tenant's effective settings; ``etag`` is the version read (``update`` sends it as
    ``If-Match``). Groups are plain mappings, as the API documents them."""

    version: int
    tokens: Mapping[str, int]
    password_hashing: Mapping[str, int] | None
    password_policy: Mapping[str, int]
    login_methods: tuple[str, ...]
    branding: Mapping[str, str | None]
    etag: str | None = field(default=None, compare=False)
    mfa: str = "when_enrolled"
    risk: Mapping[str, Any] = field(default_factory=dict)  # the risk engine's policy (docs/risk.md)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], etag: str | None = None) -> TenantSettings:
        hashing = body.get("password_hashing")
        return cls(
            version=int(body.get("version", 0)),
            tokens=dict(body.get("tokens") or {}),
            password_hashing=dict(hashing) if isinstance(hashing, Mapping) else None,
            password_policy=dict(body.get("password_policy") or {}),
            login_methods=tuple(body.get("login_methods") or ()),
            branding=dict(body.get("branding") or {}),
            etag=etag,
            mfa=str(body.get("mfa", "when_enrolled")),
            risk=dict(body.get("risk") or {}),
        )


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row of an import: its 1-based line (``None`` for the job itself)."""

    line: int | None
    field: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A bulk user import's progress."""

    id: str
    status: str  # queued, running, succeeded, failed
    source: str | None
    total: int
    created: int
    unchanged: int
    failed: int
    errors: tuple[RowError, ...]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ImportJob:
        errors = body.get("errors") or []
        return cls(
            id=str(body["id"]),
            status=str(body["status"]),
            source=body.get("source"),
            total=int(body.get("total", 0)),
            created=int(body.get("created", 0)),
            unchanged=int(body.get("unchanged", 0)),
            failed=int(body.get("failed", 0)),
            errors=tuple(
                RowError(e.get("line"), e.get("field"), str(e.get("reason", "")))
                for e in errors
                if isinstance(e, Mapping)
            ),
            created_at=parse_time(body["created_at"]),
            updated_at=parse_time(body["updated_at"]),
            finished_at=_time(body.get("finished_at")),
        )
