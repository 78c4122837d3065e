"""The admin API's resources as sans-IO request builders: each method returns a :class:`Call`
that the sync and the async client both send. A new resource (clients, keys, sessions...) is a
``...Routes`` class here plus two thin wrappers in :mod:`keystead.sdk.admin.client`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, TypedDict, TypeVar

import httpx

from keystead.sdk.admin._core import MERGE_PATCH, Call, Engine, json_object, new_idempotency_key, no_content
from keystead.sdk.admin.models import AuditEvent, Client, ClientSecret, Page, Tenant, User, rfc3339

T = TypeVar("T")
Status = Literal["active", "disabled"]


class Address(TypedDict, total=False):
    formatted: str
    street_address: str
    locality: str
    region: str
    postal_code: str
    country: str


class UserFields(TypedDict, total=False):
    """Optional fields of a new user (``username`` is a positional argument)."""

    email: str
    email_verified: bool
    password: str
    status: Status
    given_name: str
    family_name: str
    name: str
    phone_number: str
    locale: str
    address: Address
    roles: list[str]


class UserChanges(TypedDict, total=False):
    """A merge patch: fields given are set; ``None`` clears a profile field."""

    username: str
    email: str | None
    email_verified: bool
    status: Status
    given_name: str | None
    family_name: str | None
    name: str | None
    phone_number: str | None
    locale: str | None
    address: Address | None
    roles: list[str]


class UserFilters(TypedDict, total=False):
    """Filters of a user list (AND); ``page_size`` is the ``limit`` of each request (1..200)."""

    email: str
    username: str
    username_prefix: str
    status: Status
    created_after: datetime | str
    created_before: datetime | str
    q: str
    page_size: int


def page_of(parse_item: Callable[[Mapping[str, Any]], T]) -> Callable[[httpx.Response], Page[T]]:
    def parse(response: httpx.Response) -> Page[T]:
        body = json_object(response)
        items = body.get("items")
        cursor = body.get("next_cursor")
        return Page(
            tuple(parse_item(i) for i in items) if isinstance(items, list) else (),
            cursor if isinstance(cursor, str) else None,
        )

    return parse


def query(filters: Mapping[str, Any], cursor: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name == "page_size":
            params["limit"] = str(int(value))
        elif isinstance(value, datetime):
            params[name] = rfc3339(value)
        else:
            params[name] = str(value)
    if cursor is not None:
        params["cursor"] = cursor
    return params


def _create(
    url: str,
    parse: Callable[[httpx.Response], T],
    body: dict[str, Any],
    fields: Mapping[str, Any],
    idempotency_key: str | None,
) -> Call[T]:
    """A creating POST; its Idempotency-Key (a new one unless given) makes a retry safe."""
    body.update({k: v for k, v in fields.items() if v is not None})
    key = idempotency_key or new_idempotency_key()
    return Call("POST", url, parse, json=body, headers={"Idempotency-Key": key})


def _patch(
    url: str,
    parse: Callable[[httpx.Response], T],
    changes: Mapping[str, Any],
    etag: str | None,
    noun: str,
) -> Call[T]:
    """A JSON merge patch under If-Match: the version the caller read (from get/create/update)."""
    if etag is None:
        raise ValueError(f"update needs a {noun} read with get() (or create/update): its ETag")
    return Call(
        "PATCH",
        url,
        parse,
        json=dict(changes),
        headers={"If-Match": etag},
        content_type=MERGE_PATCH,
        idempotent=False,  # a repeat after a lost answer would be a 412, not a success
    )


def _user(response: httpx.Response) -> User:
    return User.from_json(json_object(response), response.headers.get("etag"))


def _user_item(body: Mapping[str, Any]) -> User:
    return User.from_json(body)


class UserRoutes:
    """``/tenants/{tenant}/users``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.tenant = tenant
        self._engine = engine

    def _url(self, *rest: str) -> str:
        return self._engine.url("tenants", self.tenant, "users", *rest)

    def create(self, username: str, fields: UserFields, idempotency_key: str | None) -> Call[User]:
        return _create(self._url(), _user, {"username": username}, fields, idempotency_key)

    def get(self, user_id: str) -> Call[User]:
        return Call("GET", self._url(user_id), _user)

    def update(self, user: User, changes: UserChanges) -> Call[User]:
        return _patch(self._url(user.id), _user, changes, user.etag, "user")

    def delete(self, user: User | str, etag: str | None) -> Call[None]:
        user_id = user.id if isinstance(user, User) else user
        headers = {"If-Match": etag} if etag is not None else {}
        return Call("DELETE", self._url(user_id), no_content, headers=headers)

    def page(self, filters: UserFilters, cursor: str | None) -> Call[Page[User]]:
        return Call("GET", self._url(), page_of(_user_item), params=query(filters, cursor))


class AuditRoutes:
    """``/tenants/{tenant}/audit-events``, newest first."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.tenant = tenant
        self._engine = engine

    def page(
        self, action: str | None, target: str | None, page_size: int | None, cursor: str | None
    ) -> Call[Page[AuditEvent]]:
        filters = {"action": action, "target": target, "page_size": page_size}
        url = self._engine.url("tenants", self.tenant, "audit-events")
        return Call("GET", url, page_of(AuditEvent.from_json), params=query(filters, cursor))


class TenantFields(TypedDict, total=False):
    """Optional fields of a new tenant (``name`` is a positional argument)."""

    display_name: str
    custom_domain: str
    brand_color: str
    logo_url: str


class TenantChanges(TypedDict, total=False):
    """A merge patch of a tenant; ``None`` clears ``brand_color`` or ``logo_url``."""

    display_name: str
    brand_color: str | None
    logo_url: str | None
    status: Status


class TenantFilters(TypedDict, total=False):
    status: Status
    name_prefix: str
    page_size: int


def _tenant(response: httpx.Response) -> Tenant:
    return Tenant.from_json(json_object(response))


class TenantRoutes:
    """``/tenants`` (platform admins only)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _url(self, *rest: str) -> str:
        return self._engine.url("tenants", *rest)

    def create(self, name: str, fields: TenantFields, idempotency_key: str | None) -> Call[Tenant]:
        return _create(self._url(), _tenant, {"name": name}, fields, idempotency_key)

    def get(self, name: str) -> Call[Tenant]:
        return Call("GET", self._url(name), _tenant)

    def update(self, name: str, changes: TenantChanges) -> Call[Tenant]:
        return Call("PATCH", self._url(name), _tenant, json=dict(changes), content_type=MERGE_PATCH)

    def page(self, filters: TenantFilters, cursor: str | None) -> Call[Page[Tenant]]:
        return Call("GET", self._url(), page_of(Tenant.from_json), params=query(filters, cursor))


class ClientFields(TypedDict, total=False):
    """Optional fields of a new client (``name`` is a positional argument)."""

    client_type: Literal["confidential", "public"]
    client_id: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    first_party: bool
    id_token_alg: str
    access_token_ttl: int
    id_token_ttl: int
    refresh_token_ttl: int
    client_uri: str
    mfa: Literal["never", "when_enrolled", "always"]
    minimum_acr: str
    risk: Mapping[str, Any]


class ClientChanges(TypedDict, total=False):
    """A merge patch of a client's settings; ``None`` clears ``client_uri`` and returns
    ``mfa``, ``minimum_acr`` and ``risk`` to the tenant's."""

    name: str
    status: Status
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    first_party: bool
    id_token_alg: str
    access_token_ttl: int
    id_token_ttl: int
    refresh_token_ttl: int
    client_uri: str | None
    mfa: Literal["never", "when_enrolled", "always"] | None
    minimum_acr: str | None
    risk: Mapping[str, Any] | None  # replaces the override as a whole; None: the tenant's


def _client(response: httpx.Response) -> Client:
    return Client.from_json(json_object(response), response.headers.get("etag"))


def _client_secret(response: httpx.Response) -> ClientSecret:
    body = json_object(response)
    return ClientSecret(str(body["client_id"]), str(body["client_secret"]), response.headers.get("etag"))


class ClientRoutes:
    """``/tenants/{tenant}/clients``."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.tenant = tenant
        self._engine = engine

    def _url(self, *rest: str) -> str:
        return self._engine.url("tenants", self.tenant, "clients", *rest)

    def create(self, name: str, fields: ClientFields, idempotency_key: str | None) -> Call[Client]:
        return _create(self._url(), _client, {"name": name}, fields, idempotency_key)

    def get(self, client_id: str) -> Call[Client]:
        return Call("GET", self._url(client_id), _client)

    def update(self, client: Client, changes: ClientChanges) -> Call[Client]:
        return _patch(self._url(client.client_id), _client, changes, client.etag, "client")

    def rotate_secret(self, client: Client | str) -> Call[ClientSecret]:
        client_id = client.client_id if isinstance(client, Client) else client
        headers = {"If-Match": client.etag} if isinstance(client, Client) and client.etag else {}
        return Call("POST", self._url(client_id, "secret"), _client_secret, headers=headers, idempotent=False)

    def delete(self, client: Client | str, etag: str | None) -> Call[None]:
        client_id = client.client_id if isinstance(client, Client) else client
        etag = etag or (client.etag if isinstance(client, Client) else None)
        headers = {"If-Match": etag} if etag is not None else {}
        return Call("DELETE", self._url(client_id), no_content, headers=headers)

    def page(self, page_size: int | None, cursor: str | None) -> Call[Page[Client]]:
        return Call(
            "GET", self._url(), page_of(Client.from_json), params=query({"page_size": page_size}, cursor)
        )
