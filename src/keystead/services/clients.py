"""OAuth clients: registration, secrets (shown once, stored as keyed hashes), authentication.

Secrets are 256-bit random values, so a fast keyed hash (HMAC-SHA256) is as strong as a slow
password hash would be, without capping the token endpoint's throughput.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from keystead.errors import InvalidInput, NotFound, Stale
from keystead.flows.stages import ACR_MFA, ACR_PASSWORD
from keystead.ports.records import Client
from keystead.ports.stores import ClientStore
from keystead.protocols.jose import SUPPORTED_ALGS
from keystead.protocols.oauth2.client import CONFIDENTIAL, PUBLIC, ClientMetadata
from keystead.protocols.oauth2.client_auth import NONE, ClientCredentials
from keystead.protocols.oauth2.errors import InvalidClient
from keystead.protocols.oauth2.token_request import GRANT_TYPES
from keystead.services import validation
from keystead.services.risk_settings import client_risk
from keystead.services.secrets import KeyRing, new_token
from keystead.services.tenant_settings import TokenLifetimes
from keystead.types import Clock

SECRET_PURPOSE = "client-secret"
UPDATABLE = frozenset(
    {
        "name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_types",
        "scopes",
        "first_party",
        "id_token_alg",
        "access_token_ttl",
        "id_token_ttl",
        "refresh_token_ttl",
        "status",
        "client_uri",
        "mfa",
        "minimum_acr",
        "risk",
    }
)
MFA_MODES = ("never", "when_enrolled", "always")
ACRS = (ACR_PASSWORD, ACR_MFA)
CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class NewClient:
    client: Client
    secret: str | None  # shown once


class Clients:
    def __init__(
        self,
        store: ClientStore,
        ring: KeyRing,
        clock: Clock,
        max_ttl: int,
        ensure_key: Callable[[str, tuple[str, ...]], None] = lambda _t, _a: None,
        lifetimes_for: Callable[[str], TokenLifetimes] | None = None,
    ) -> None:
        """``lifetimes_for(tenant_id)``: a tenant's defaults and ceilings of token lifetimes
        (tenant settings); without it, 600 s / 600 s / 30 days and ``max_ttl``."""
        self._ensure_key = ensure_key
        self._lifetimes_for = lifetimes_for
        self._store = store
        self._ring = ring
        self._clock = clock
        self._max_ttl = max_ttl
        self._cache: dict[tuple[str, str], tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def create(
        self,
        tenant_id: str,
        name: str,
        *,
        client_type: str = CONFIDENTIAL,
        redirect_uris: Sequence[str] = (),
        post_logout_redirect_uris: Sequence[str] = (),
        grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
        scopes: Sequence[str] = ("openid", "profile", "email", "offline_access"),
        first_party: bool = False,
        id_token_alg: str = "ES256",
        access_token_ttl: int | None = None,
        id_token_ttl: int | None = None,
        refresh_token_ttl: int | None = None,
        client_id: str | None = None,
        client_uri: str | None = None,
        mfa: str | None = None,
        minimum_acr: str | None = None,
        risk: dict[str, Any] | None = None,
    ) -> NewClient:
        _check_choices(client_type, grant_types, id_token_alg)
        strength = _strength({"mfa": mfa, "minimum_acr": minimum_acr, "risk": risk})
        if client_type == PUBLIC and "client_credentials" in grant_types:
            raise InvalidInput("grant_types", "public clients cannot use client_credentials")
        if "authorization_code" in grant_types and not redirect_uris:
            raise InvalidInput("redirect_uris", "the authorization code grant needs a redirect URI")
        secret = new_token() if client_type == CONFIDENTIAL else None
        life = self._lifetimes(tenant_id)
        ttls = {
            "access_token_ttl": life.access_token_ttl if access_token_ttl is None else access_token_ttl,
            "id_token_ttl": life.id_token_ttl if id_token_ttl is None else id_token_ttl,
            "refresh_token_ttl": life.refresh_token_ttl if refresh_token_ttl is None else refresh_token_ttl,
        }
        client = Client(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            client_id=_client_id(client_id),
            name=name.strip()[:200] or "Unnamed application",
            client_type=client_type,
            secret_hash=self._ring.mac(SECRET_PURPOSE, secret) if secret else None,
            redirect_uris=tuple(validation.redirect_uri(u) for u in redirect_uris),
            post_logout_redirect_uris=tuple(
                validation.redirect_uri(u, field="post_logout_redirect_uris")
                for u in post_logout_redirect_uris
            ),
            grant_types=tuple(dict.fromkeys(grant_types)),
            scopes=tuple(dict.fromkeys(scopes)),
            first_party=first_party,
            id_token_alg=id_token_alg,
            access_token_ttl=self._ttl(tenant_id, "access_token_ttl", ttls["access_token_ttl"]),
            id_token_ttl=self._ttl(tenant_id, "id_token_ttl", ttls["id_token_ttl"]),
            refresh_token_ttl=self._ttl(tenant_id, "refresh_token_ttl", ttls["refresh_token_ttl"]),
            client_uri=client_uri,
            created_at=(now := self._clock()),
            updated_at=now,
            **strength,
        )
        self._ensure_key(tenant_id, (id_token_alg,))
        self._store.add_client(client)
        self._cache.pop((tenant_id, client.client_id), None)  # a cached "no such client"
        return NewClient(client, secret)

    def rotate_secret(self, tenant_id: str, client_id: str) -> NewClient:
        """A new secret, whatever the client's status (disable, rotate, enable after a leak)."""
        client = self.lookup(tenant_id, client_id)
        if client.client_type != CONFIDENTIAL:
            raise InvalidInput("client_type", "public clients have no secret")
        secret = new_token()
        secret_hash = self._ring.mac(SECRET_PURPOSE, secret)
        updated_at = max(self._clock(), client.updated_at + 1e-6)
        self._store.update_client(tenant_id, client_id, secret_hash=secret_hash, updated_at=updated_at)
        self._cache.pop((tenant_id, client_id), None)
        return NewClient(replace(client, secret_hash=secret_hash, updated_at=updated_at), secret)

    def update(self, tenant_id: str, client_id: str, *, expected: Client, **changes: Any) -> Client:
        """Change the client's settings (not its type or secret) if it is still ``expected``;
        otherwise raise ``Stale`` and write nothing. The same rules as ``create`` apply."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "this field cannot be changed")
        fields = self._checked(expected, changes)
        fields["updated_at"] = max(self._clock(), expected.updated_at + 1e-6)
        # compare-and-set: the write happens only if the stored version is still `expected`
        if not self._store.update_client(
            tenant_id, client_id, expected_updated_at=expected.updated_at, **fields
        ):
            if self._store.client_by_client_id(tenant_id, client_id) is None:
                raise NotFound("no such client")
            raise Stale("the client was changed since it was read")
        self._cache.pop((tenant_id, client_id), None)
        return replace(expected, **fields)

    def preview(
        self, tenant_id: str, client_id: str, changes: dict[str, Any], existing: Client | None = None
    ) -> Client:
        """The client that ``changes`` would make of ``existing`` (or of a new client with the
        tenant's default lifetimes), checked like ``create``/``update``; nothing is written
        (config import validates everything before it applies anything)."""
        if existing is None:
            life = self._lifetimes(tenant_id)
            existing = Client(
                id="",
                tenant_id=tenant_id,
                client_id=_client_id(client_id),
                name="",
                client_type=str(changes.get("client_type", CONFIDENTIAL)),
                redirect_uris=(),
                grant_types=("authorization_code", "refresh_token"),
                scopes=("openid", "profile", "email", "offline_access"),
                access_token_ttl=life.access_token_ttl,
                id_token_ttl=life.id_token_ttl,
                refresh_token_ttl=life.refresh_token_ttl,
            )
        unknown = set(changes) - UPDATABLE - {"client_type"}
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field")
        fields = self._normalized(tenant_id, {k: v for k, v in changes.items() if k in UPDATABLE})
        merged = replace(existing, **fields)
        _check_rules(merged)
        return merged

    def _checked(self, client: Client, changes: dict[str, Any]) -> dict[str, Any]:
        fields = self._normalized(client.tenant_id, changes)
        merged = replace(client, **fields)
        _check_rules(merged)
        if "id_token_alg" in fields:
            self._ensure_key(client.tenant_id, (merged.id_token_alg,))
        return fields

    def _normalized(self, tenant_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        fields = dict(changes)
        if "name" in fields:
            fields["name"] = str(fields["name"]).strip()[:200] or "Unnamed application"
        for name in ("redirect_uris", "post_logout_redirect_uris"):
            if name in fields:
                fields[name] = tuple(validation.redirect_uri(u, field=name) for u in fields[name])
        for name in ("grant_types", "scopes"):
            if name in fields:
                fields[name] = tuple(dict.fromkeys(fields[name]))
        for name in ("access_token_ttl", "id_token_ttl", "refresh_token_ttl"):
            if name in fields:
                fields[name] = self._ttl(tenant_id, name, fields[name])
        if fields.get("status", "active") not in ("active", "disabled"):
            raise InvalidInput("status", "status is active or disabled")
        fields.update(_strength({k: fields[k] for k in ("mfa", "minimum_acr", "risk") if k in fields}))
        return fields

    def lookup(self, tenant_id: str, client_id: str) -> Client:
        """The stored client whatever its status, read through (for administrators)."""
        client = self._store.client_by_client_id(tenant_id, client_id)
        if client is None:
            raise NotFound("no such client")
        return client

    def page(self, tenant_id: str, *, after: tuple[float, str] | None, limit: int) -> Sequence[Client]:
        """Clients ordered by ``(created_at, id)`` after the keyset position ``after`` (in SQL)."""
        return self._store.clients_page(tenant_id, after=after, limit=limit)

    def delete(self, tenant_id: str, client_id: str) -> None:
        """Delete the client: its grants and access tokens are revoked and its consents deleted
        in the same transaction, so its tokens stop working at once. :class:`NotFound` if none."""
        if not self._store.delete_client(tenant_id, client_id, now=self._clock()):
            raise NotFound("no such client")
        self._cache.pop((tenant_id, client_id), None)

    def list(self, tenant_id: str) -> Sequence[Client]:
        return self._store.list_clients(tenant_id)

    def get(self, tenant_id: str, client_id: str) -> Client:
        client = self.find(tenant_id, client_id)
        if client is None:
            raise NotFound("no such client")
        return client

    def find(self, tenant_id: str, client_id: str) -> Client | None:
        """An active client, from a short in-process cache (hot path)."""
        key = (tenant_id, client_id)
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        client = self._store.client_by_client_id(tenant_id, client_id)
        if client is not None and not client.active:
            client = None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, client)
        return client

    def authenticate(self, tenant_id: str, creds: ClientCredentials) -> Client:
        """RFC 6749 section 2.3; every failure is the same ``invalid_client``."""
        client = self.find(tenant_id, creds.client_id)
        if client is None:
            raise InvalidClient("client authentication failed", detail="unknown client")
        if client.client_type == PUBLIC:
            if creds.method != NONE:
                raise InvalidClient("client authentication failed", detail="public client sent a secret")
            return client
        if creds.secret is None or client.secret_hash is None:
            raise InvalidClient("client authentication failed", detail="no secret")
        if not self._ring.mac_matches(SECRET_PURPOSE, creds.secret, client.secret_hash):
            raise InvalidClient("client authentication failed", detail="wrong secret")
        return client

    def _lifetimes(self, tenant_id: str) -> TokenLifetimes:
        if self._lifetimes_for is not None:
            return self._lifetimes_for(tenant_id)
        return TokenLifetimes(max_access_token_ttl=self._max_ttl, max_id_token_ttl=self._max_ttl)

    def _ttl(self, tenant_id: str, field: str, value: int) -> int:
        """Within the tenant's ceiling (access and ID tokens: the server's ``max_ttl`` too)."""
        ceiling: int = getattr(self._lifetimes(tenant_id), f"max_{field}")
        if field == "refresh_token_ttl":
            if value > ceiling:
                raise InvalidInput(field, f"must be at most {ceiling} seconds")
            return max(60, value)
        ceiling = min(ceiling, self._max_ttl)
        if not 30 <= value <= ceiling:
            raise InvalidInput(field, f"must be between 30 and {ceiling} seconds")
        return value


def metadata(client: Client) -> ClientMetadata:
    return ClientMetadata(
        client_id=client.client_id,
        client_type=client.client_type,
        redirect_uris=client.redirect_uris,
        grant_types=client.grant_types,
        scopes=client.scopes,
        name=client.name,
        client_uri=client.client_uri,
        post_logout_redirect_uris=client.post_logout_redirect_uris,
        id_token_signed_response_alg=client.id_token_alg,
        first_party=client.first_party,
        access_token_ttl=client.access_token_ttl,
        id_token_ttl=client.id_token_ttl,
        refresh_token_ttl=client.refresh_token_ttl,
    )


def _check_rules(client: Client) -> None:
    _check_choices(client.client_type, client.grant_types, client.id_token_alg)
    if client.client_type == PUBLIC and "client_credentials" in client.grant_types:
        raise InvalidInput("grant_types", "public clients cannot use client_credentials")
    if "authorization_code" in client.grant_types and not client.redirect_uris:
        raise InvalidInput("redirect_uris", "the authorization code grant needs a redirect URI")


def _check_choices(client_type: str, grant_types: Sequence[str], alg: str) -> None:
    if client_type not in (PUBLIC, CONFIDENTIAL):
        raise InvalidInput("client_type", "client_type is public or confidential")
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown or not grant_types:
        raise InvalidInput("grant_types", f"grant types are {', '.join(GRANT_TYPES)}")
    if alg not in SUPPORTED_ALGS:
        raise InvalidInput("id_token_alg", f"algorithms are {', '.join(SUPPORTED_ALGS)}")


def _strength(values: dict[str, Any]) -> dict[str, Any]:
    """The client's sign-in strength overrides, checked (``None``: the tenant's)."""
    out = dict(values)
    if out.get("mfa") is not None and out["mfa"] not in MFA_MODES:
        raise InvalidInput("mfa", "mfa is never, when_enrolled or always")
    if out.get("minimum_acr") is not None and out["minimum_acr"] not in ACRS:
        raise InvalidInput("minimum_acr", f"minimum_acr is one of {', '.join(ACRS)}")
    if out.get("risk") is not None:
        out["risk"] = client_risk(out["risk"]).model_dump(exclude_defaults=True) or None
    return out


def _client_id(value: str | None) -> str:
    if value is None:
        return new_token(16)
    if not 1 <= len(value) <= 255 or any(c.isspace() or c == ":" for c in value):
        raise InvalidInput("client_id", "client_id is 1-255 characters, no spaces or ':'")
    return value
