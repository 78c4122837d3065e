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
    roles: tuple[str, ...] = ()

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
            roles=tuple(str(r) for r in body.get("roles") or ()),
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


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant (platform admins only)."""

    id: str
    name: str
    display_name: str
    status: str
    custom_domain: str | None
    brand_color: str | None
    logo_url: str | None
    issuer: str
    created_at: datetime

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Tenant:
        return cls(
            id=str(body["id"]),
            name=str(body["name"]),
            display_name=str(body.get("display_name", body["name"])),
            status=str(body.get("status", "active")),
            custom_domain=body.get("custom_domain"),
            brand_color=body.get("brand_color"),
            logo_url=body.get("logo_url"),
            issuer=str(body.get("issuer", "")),
            created_at=parse_time(body["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Client:
    """An OAuth client of a tenant. ``client_secret`` is set only on the value ``create``
    returned (shown once, never again); ``etag`` as for :class:`User`."""

    id: str
    client_id: str
    name: str
    client_type: str
    status: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    first_party: bool
    id_token_alg: str
    access_token_ttl: int
    id_token_ttl: int
    refresh_token_ttl: int
    client_uri: str | None
    has_secret: bool
    created_at: datetime
    mfa: str | None = None  # the client's override of the tenant's ``mfa``; None: the tenant's
    minimum_acr: str | None = None
    risk: Mapping[str, Any] | None = None  # its risk policy override (docs/risk.md)
    client_secret: str | None = field(default=None, repr=False, compare=False)
    etag: str | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], etag: str | None = None) -> Client:
        secret = body.get("client_secret")
        return cls(
            id=str(body["id"]),
            client_id=str(body["client_id"]),
            name=str(body["name"]),
            client_type=str(body.get("client_type", "confidential")),
            status=str(body.get("status", "active")),
            redirect_uris=tuple(body.get("redirect_uris") or ()),
            post_logout_redirect_uris=tuple(body.get("post_logout_redirect_uris") or ()),
            grant_types=tuple(body.get("grant_types") or ()),
            scopes=tuple(body.get("scopes") or ()),
            first_party=bool(body.get("first_party")),
            id_token_alg=str(body.get("id_token_alg", "")),
            access_token_ttl=int(body.get("access_token_ttl", 0)),
            id_token_ttl=int(body.get("id_token_ttl", 0)),
            refresh_token_ttl=int(body.get("refresh_token_ttl", 0)),
            client_uri=body.get("client_uri"),
            has_secret=bool(body.get("has_secret")),
            created_at=parse_time(body["created_at"]),
            mfa=body.get("mfa"),
            minimum_acr=body.get("minimum_acr"),
            risk=dict(body["risk"]) if isinstance(body.get("risk"), Mapping) else None,
            client_secret=secret if isinstance(secret, str) else None,
            etag=etag,
        )


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """A rotated secret: shown once. ``etag`` is the client's new version."""

    client_id: str
    client_secret: str = field(repr=False)
    etag: str | None = field(default=None, compare=False)
