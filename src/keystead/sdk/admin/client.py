"""``AdminClient`` (httpx.Client) and ``AsyncAdminClient`` (httpx.AsyncClient): one API, the
same requests (built in :mod:`keystead.sdk.admin.routes`), the same retry and token rules
(:mod:`keystead.sdk.admin._core`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from keystead.sdk.admin._core import (
    DEFAULT_TIMEOUT,
    TENANT_SCOPE,
    Call,
    Clock,
    Engine,
    Step,
)
from keystead.sdk.admin.access_models import ImportJob
from keystead.sdk.admin.access_resources import (
    AsyncConsents,
    AsyncImportJobs,
    AsyncKeys,
    AsyncSessions,
    AsyncSettings,
    Consents,
    ImportJobs,
    Keys,
    Sessions,
    Settings,
)
from keystead.sdk.admin.access_routes import (
    ConsentRoutes,
    ImportRoutes,
    ImportSource,
    KeyRoutes,
    SessionRoutes,
    SettingsRoutes,
    export_row,
)
from keystead.sdk.admin.models import AuditEvent, Client, ClientSecret, Page, Tenant, User
from keystead.sdk.admin.risk import AsyncRiskDecisions, RiskDecisionRoutes, RiskDecisions
from keystead.sdk.admin.routes import (
    AuditRoutes,
    ClientChanges,
    ClientFields,
    ClientRoutes,
    TenantChanges,
    TenantFields,
    TenantFilters,
    TenantRoutes,
    UserChanges,
    UserFields,
    UserFilters,
    UserRoutes,
)
from keystead.sdk.tokens import _LoopLocks

T = TypeVar("T")


class AdminClient:
    """A typed client of Keystead's admin API (``{base_url}/admin/api/v1``).

    Authenticate with ``token=`` (a bearer token you obtained), or with ``client_id=``,
    ``client_secret=`` and ``issuer=`` (the tenant's issuer, ``{base_url}/t/{tenant}``): the client
    then asks ``{issuer}/token`` for a ``client_credentials`` token with ``scope``
    (``keystead:admin``, or ``keystead:platform`` on the platform tenant) and renews it shortly
    before it expires, or once when the API refuses it.

    429 and 503 are retried ``retries`` times, after ``Retry-After`` when the server sends one
    (up to ``max_retry_after`` seconds), else after an exponential backoff with jitter starting at
    ``backoff`` seconds; connection errors are retried the same way for idempotent requests only
    (GET, DELETE, and creating POSTs, which carry an ``Idempotency-Key``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        issuer: str | None = None,
        scope: str = TENANT_SCOPE,
        http: httpx.Client | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retry_after: float = 60.0,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = Engine(
            base_url,
            token=token,
            client_id=client_id,
            client_secret=client_secret,
            issuer=issuer,
            scope=scope,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            clock=clock,
        )
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)
        self._sleep = sleep
        self._token_lock = threading.Lock()

    def users(self, tenant: str) -> Users:
        return Users(self, UserRoutes(self._engine, tenant), ImportRoutes(self._engine, tenant))

    def sessions(self, tenant: str) -> Sessions:
        return Sessions(self, SessionRoutes(self._engine, tenant))

    def consents(self, tenant: str) -> Consents:
        """Consents and grants of the tenant's users."""
        return Consents(self, ConsentRoutes(self._engine, tenant))

    def keys(self, tenant: str) -> Keys:
        return Keys(self, KeyRoutes(self._engine, tenant))

    def settings(self, tenant: str) -> Settings:
        return Settings(self, SettingsRoutes(self._engine, tenant))

    def import_jobs(self, tenant: str) -> ImportJobs:
        return ImportJobs(self, ImportRoutes(self._engine, tenant))

    def now(self) -> float:
        return self._engine.clock()

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def audit_events(self, tenant: str) -> AuditEvents:
        return AuditEvents(self, AuditRoutes(self._engine, tenant))

    def risk_decisions(self, tenant: str) -> RiskDecisions:
        """The risk engine's sign-in decisions, newest first (docs/risk.md)."""
        return RiskDecisions(self, RiskDecisionRoutes(self._engine, tenant))

    def clients(self, tenant: str) -> Clients:
        return Clients(self, ClientRoutes(self._engine, tenant))

    def tenants(self) -> Tenants:
        """Tenants: needs a platform admin's token (``scope=PLATFORM_SCOPE``)."""
        return Tenants(self, TenantRoutes(self._engine))

    def send(self, call: Call[T]) -> T:
        """Send one request with the retry and token rules; its parsed answer or a typed error."""
        attempt, refreshed = 0, False
        while True:
            bearer = self._bearer() if call.authenticated else None
            request = self._engine.build(self._http, call, bearer)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                self._sleep(self._engine.after_error(call, attempt, exc))
                attempt += 1
                continue
            step = self._engine.after(call, attempt, refreshed, response)
            if step is None:
                return call.parse(response)
            if step is Step.REFRESH:
                refreshed = True
                continue
            self._sleep(step)
            attempt += 1

    def stream_lines(self, call: Call[Any]) -> Iterator[str]:
        """The non-empty lines of a streamed answer, read as they arrive; the retry and token
        rules apply until the answer starts (not after: a broken stream raises)."""
        attempt, refreshed = 0, False
        while True:
            request = self._engine.build(self._http, call, self._bearer())
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                self._sleep(self._engine.after_error(call, attempt, exc))
                attempt += 1
                continue
            try:
                if response.is_success:
                    yield from (line for line in response.iter_lines() if line.strip())
                    return
                response.read()
                step = self._engine.after(call, attempt, refreshed, response)
            finally:
                response.close()
            if step is Step.REFRESH:
                refreshed = True
                continue
            self._sleep(step or 0.0)
            attempt += 1

    def paginate(self, page: Callable[[str | None], Call[Page[T]]]) -> Iterator[T]:
        """Every item of a list, following ``next_cursor`` page by page (lazily)."""
        cursor: str | None = None
        while True:
            result = self.send(page(cursor))
            yield from result.items
            if result.next_cursor is None:
                return
            cursor = result.next_cursor

    def _bearer(self) -> str:
        tokens, clock = self._engine.tokens, self._engine.clock
        current = tokens.current(clock())
        if current is not None:
            return current
        with self._token_lock:  # one fetch at a time; the others then use its token
            current = tokens.current(clock())
            if current is None:
                issued = self.send(self._engine.token_call())
                tokens.store(issued.access_token, issued.expires_in, clock())
                current = issued.access_token
            return current

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncAdminClient:
    """:class:`AdminClient` for asyncio code: the same arguments (``http`` is an
    ``httpx.AsyncClient``, ``sleep`` a coroutine function), ``await`` on each call, and lists as
    async iterators (``async for user in client.users("acme").list()``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        issuer: str | None = None,
        scope: str = TENANT_SCOPE,
        http: httpx.AsyncClient | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retry_after: float = 60.0,
        clock: Clock = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._engine = Engine(
            base_url,
            token=token,
            client_id=client_id,
            client_secret=client_secret,
            issuer=issuer,
            scope=scope,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            clock=clock,
        )
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._sleep = sleep
        self._token_locks = _LoopLocks()

    def users(self, tenant: str) -> AsyncUsers:
        return AsyncUsers(self, UserRoutes(self._engine, tenant), ImportRoutes(self._engine, tenant))

    def sessions(self, tenant: str) -> AsyncSessions:
        return AsyncSessions(self, SessionRoutes(self._engine, tenant))

    def consents(self, tenant: str) -> AsyncConsents:
        return AsyncConsents(self, ConsentRoutes(self._engine, tenant))

    def keys(self, tenant: str) -> AsyncKeys:
        return AsyncKeys(self, KeyRoutes(self._engine, tenant))

    def settings(self, tenant: str) -> AsyncSettings:
        return AsyncSettings(self, SettingsRoutes(self._engine, tenant))

    def import_jobs(self, tenant: str) -> AsyncImportJobs:
        return AsyncImportJobs(self, ImportRoutes(self._engine, tenant))

    def now(self) -> float:
        return self._engine.clock()

    async def pause(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def stream_lines(self, call: Call[Any]) -> AsyncIterator[str]:
        """:meth:`AdminClient.stream_lines`, asynchronously."""
        attempt, refreshed = 0, False
        while True:
            request = self._engine.build(self._http, call, await self._bearer())
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                await self._sleep(self._engine.after_error(call, attempt, exc))
                attempt += 1
                continue
            try:
                if response.is_success:
                    async for line in response.aiter_lines():
                        if line.strip():
                            yield line
                    return
                await response.aread()
                step = self._engine.after(call, attempt, refreshed, response)
            finally:
                await response.aclose()
            if step is Step.REFRESH:
                refreshed = True
                continue
            await self._sleep(step or 0.0)
            attempt += 1

    def audit_events(self, tenant: str) -> AsyncAuditEvents:
        return AsyncAuditEvents(self, AuditRoutes(self._engine, tenant))

    def risk_decisions(self, tenant: str) -> AsyncRiskDecisions:
        return AsyncRiskDecisions(self, RiskDecisionRoutes(self._engine, tenant))

    def clients(self, tenant: str) -> AsyncClients:
        return AsyncClients(self, ClientRoutes(self._engine, tenant))

    def tenants(self) -> AsyncTenants:
        return AsyncTenants(self, TenantRoutes(self._engine))

    async def send(self, call: Call[T]) -> T:
        attempt, refreshed = 0, False
        while True:
            bearer = await self._bearer() if call.authenticated else None
            request = self._engine.build(self._http, call, bearer)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                await self._sleep(self._engine.after_error(call, attempt, exc))
                attempt += 1
                continue
            step = self._engine.after(call, attempt, refreshed, response)
            if step is None:
                return call.parse(response)
            if step is Step.REFRESH:
                refreshed = True
                continue
            await self._sleep(step)
            attempt += 1

    async def paginate(self, page: Callable[[str | None], Call[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            result = await self.send(page(cursor))
            for item in result.items:
                yield item
            if result.next_cursor is None:
                return
            cursor = result.next_cursor

    async def _bearer(self) -> str:
        tokens, clock = self._engine.tokens, self._engine.clock
        current = tokens.current(clock())
        if current is not None:
            return current
        async with self._token_locks.get():
            current = tokens.current(clock())
            if current is None:
                issued = await self.send(self._engine.token_call())
                tokens.store(issued.access_token, issued.expires_in, clock())
                current = issued.access_token
            return current

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()


# Resources: thin wrappers sending the calls their routes build.


class Users:
    """``client.users(tenant)``: create, get, update (If-Match), delete, list; bulk
    ``import_jsonl`` (a job) and ``export``."""

    def __init__(self, client: AdminClient, routes: UserRoutes, imports: ImportRoutes) -> None:
        self._client = client
        self._routes = routes
        self._imports = imports

    def import_jsonl(
        self, rows: ImportSource, *, source: str | None = None, idempotency_key: str | None = None
    ) -> ImportJob:
        """Start importing JSON Lines (bytes, text, or rows as mappings); the job, ``queued``.
        Follow it with ``client.import_jobs(tenant).wait(job)``. Retries are safe: the request
        carries an ``Idempotency-Key``."""
        return self._client.send(self._imports.start(rows, source, idempotency_key))

    def export(self, *, include_password_hashes: bool = False) -> Iterator[dict[str, Any]]:
        """Every user of the tenant, one row per user as the import reads them, streamed."""
        lines = self._client.stream_lines(self._imports.export(include_password_hashes))
        return (export_row(line) for line in lines)

    def create(
        self, username: str, *, idempotency_key: str | None = None, **fields: Unpack[UserFields]
    ) -> User:
        """The new user (with its ETag). Retries are safe: the request carries an
        ``Idempotency-Key`` (a new UUID unless you pass your own, e.g. a row id of an import)."""
        return self._client.send(self._routes.create(username, fields, idempotency_key))

    def get(self, user_id: str) -> User:
        return self._client.send(self._routes.get(user_id))

    def update(self, user: User, **changes: Unpack[UserChanges]) -> User:
        """Apply ``changes`` if ``user`` is still current (``If-Match: user.etag``), else
        :class:`PreconditionFailed` and nothing is written. Returns the updated user."""
        return self._client.send(self._routes.update(user, changes))

    def delete(self, user: User | str, *, etag: str | None = None) -> None:
        """Delete by id (or :class:`User`); with ``etag``, only if it is still that version."""
        self._client.send(self._routes.delete(user, etag))

    def list(self, **filters: Unpack[UserFilters]) -> Iterator[User]:
        """Every matching user, ordered by username, fetched page by page as you iterate."""
        return self._client.paginate(lambda cursor: self._routes.page(filters, cursor))


class AuditEvents:
    """``client.audit_events(tenant)``: the tenant's audit trail, newest first."""

    def __init__(self, client: AdminClient, routes: AuditRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(
        self, *, action: str | None = None, target: str | None = None, page_size: int | None = None
    ) -> Iterator[AuditEvent]:
        return self._client.paginate(lambda cursor: self._routes.page(action, target, page_size, cursor))


class AsyncUsers:
    """:class:`Users` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: UserRoutes, imports: ImportRoutes) -> None:
        self._client = client
        self._routes = routes
        self._imports = imports

    async def import_jsonl(
        self, rows: ImportSource, *, source: str | None = None, idempotency_key: str | None = None
    ) -> ImportJob:
        return await self._client.send(self._imports.start(rows, source, idempotency_key))

    async def export(self, *, include_password_hashes: bool = False) -> AsyncIterator[dict[str, Any]]:
        async for line in self._client.stream_lines(self._imports.export(include_password_hashes)):
            yield export_row(line)

    async def create(
        self, username: str, *, idempotency_key: str | None = None, **fields: Unpack[UserFields]
    ) -> User:
        return await self._client.send(self._routes.create(username, fields, idempotency_key))

    async def get(self, user_id: str) -> User:
        return await self._client.send(self._routes.get(user_id))

    async def update(self, user: User, **changes: Unpack[UserChanges]) -> User:
        return await self._client.send(self._routes.update(user, changes))

    async def delete(self, user: User | str, *, etag: str | None = None) -> None:
        await self._client.send(self._routes.delete(user, etag))

    def list(self, **filters: Unpack[UserFilters]) -> AsyncIterator[User]:
        return self._client.paginate(lambda cursor: self._routes.page(filters, cursor))


class AsyncAuditEvents:
    """:class:`AuditEvents` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: AuditRoutes) -> None:
        self._client = client
        self._routes = routes

    def list(
        self, *, action: str | None = None, target: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[AuditEvent]:
        return self._client.paginate(lambda cursor: self._routes.page(action, target, page_size, cursor))


class Tenants:
    """``client.tenants()`` (platform admins: ``scope=PLATFORM_SCOPE`` on the platform tenant):
    create, get, update, list."""

    def __init__(self, client: AdminClient, routes: TenantRoutes) -> None:
        self._client = client
        self._routes = routes

    def create(
        self, name: str, *, idempotency_key: str | None = None, **fields: Unpack[TenantFields]
    ) -> Tenant:
        """The new tenant (with its signing keys); a taken name is :class:`Conflict`."""
        return self._client.send(self._routes.create(name, fields, idempotency_key))

    def get(self, name: str) -> Tenant:
        return self._client.send(self._routes.get(name))

    def update(self, name: str, **changes: Unpack[TenantChanges]) -> Tenant:
        return self._client.send(self._routes.update(name, changes))

    def list(self, **filters: Unpack[TenantFilters]) -> Iterator[Tenant]:
        """Every matching tenant, ordered by name, fetched page by page as you iterate."""
        return self._client.paginate(lambda cursor: self._routes.page(filters, cursor))


class Clients:
    """``client.clients(tenant)``: create (the secret is on the returned value only), get,
    update (If-Match), rotate_secret, list."""

    def __init__(self, client: AdminClient, routes: ClientRoutes) -> None:
        self._client = client
        self._routes = routes

    def create(
        self, name: str, *, idempotency_key: str | None = None, **fields: Unpack[ClientFields]
    ) -> Client:
        """The new client; a confidential one's ``client_secret`` is shown here only."""
        return self._client.send(self._routes.create(name, fields, idempotency_key))

    def get(self, client_id: str) -> Client:
        return self._client.send(self._routes.get(client_id))

    def update(self, client: Client, **changes: Unpack[ClientChanges]) -> Client:
        """Apply ``changes`` if ``client`` is still current (``If-Match: client.etag``)."""
        return self._client.send(self._routes.update(client, changes))

    def rotate_secret(self, client: Client | str) -> ClientSecret:
        """A new secret (shown once); the old one stops working at once."""
        return self._client.send(self._routes.rotate_secret(client))

    def delete(self, client: Client | str, *, etag: str | None = None) -> None:
        """Delete the client: its grants and tokens are revoked at once. With ``etag`` (or a
        :class:`Client` read with ``get``), only if it is still that version."""
        self._client.send(self._routes.delete(client, etag))

    def list(self, *, page_size: int | None = None) -> Iterator[Client]:
        return self._client.paginate(lambda cursor: self._routes.page(page_size, cursor))


class AsyncTenants:
    """:class:`Tenants` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: TenantRoutes) -> None:
        self._client = client
        self._routes = routes

    async def create(
        self, name: str, *, idempotency_key: str | None = None, **fields: Unpack[TenantFields]
    ) -> Tenant:
        return await self._client.send(self._routes.create(name, fields, idempotency_key))

    async def get(self, name: str) -> Tenant:
        return await self._client.send(self._routes.get(name))

    async def update(self, name: str, **changes: Unpack[TenantChanges]) -> Tenant:
        return await self._client.send(self._routes.update(name, changes))

    def list(self, **filters: Unpack[TenantFilters]) -> AsyncIterator[Tenant]:
        return self._client.paginate(lambda cursor: self._routes.page(filters, cursor))


class AsyncClients:
    """:class:`Clients` for :class:`AsyncAdminClient`."""

    def __init__(self, client: AsyncAdminClient, routes: ClientRoutes) -> None:
        self._client = client
        self._routes = routes

    async def create(
        self, name: str, *, idempotency_key: str | None = None, **fields: Unpack[ClientFields]
    ) -> Client:
        return await self._client.send(self._routes.create(name, fields, idempotency_key))

    async def get(self, client_id: str) -> Client:
        return await self._client.send(self._routes.get(client_id))

    async def update(self, client: Client, **changes: Unpack[ClientChanges]) -> Client:
        return await self._client.send(self._routes.update(client, changes))

    async def rotate_secret(self, client: Client | str) -> ClientSecret:
        return await self._client.send(self._routes.rotate_secret(client))

    async def delete(self, client: Client | str, *, etag: str | None = None) -> None:
        await self._client.send(self._routes.delete(client, etag))

    def list(self, *, page_size: int | None = None) -> AsyncIterator[Client]:
        return self._client.paginate(lambda cursor: self._routes.page(page_size, cursor))
