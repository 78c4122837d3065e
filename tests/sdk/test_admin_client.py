"""The admin client against the real admin API, in process: the Keystead ASGI app behind
Starlette's TestClient (sync) or httpx.ASGITransport (async). Failures (503, 429, lost
connections) are injected by a transport that answers or raises N times, then forwards."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant
from keystead.sdk import SdkError
from keystead.sdk.admin import (
    PLATFORM_SCOPE,
    AdminApiError,
    AdminClient,
    AsyncAdminClient,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServerError,
    Unauthorized,
    User,
    ValidationFailed,
)
from keystead.sdk.errors import ProviderError
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import Factory

BASE = "http://testserver"
Failure = int | tuple[int, str] | Exception | Callable[[httpx.Request, httpx.Response], Exception]


@dataclass
class Machine:
    """An admin client registered in a tenant (client credentials, scope keystead:admin)."""

    tenant: Tenant
    client_id: str
    secret: str

    @property
    def issuer(self) -> str:
        return f"{BASE}/t/{self.tenant.name}"


def register(keystead: Keystead, tenant: Tenant, scope: str = "keystead:admin", ttl: int = 600) -> Machine:
    created = keystead.clients.create(
        tenant.id,
        "admin",
        grant_types=["client_credentials"],
        scopes=[scope],
        redirect_uris=[],
        access_token_ttl=ttl,
    )
    return Machine(tenant, created.client.client_id, created.secret or "")


@dataclass
class Wire:
    """Forwards to the app; first plays ``failures`` (a status, (status, Retry-After), an
    exception raised before the request reaches the app, or a callable building one from the
    app's answer: the request was served but the answer lost)."""

    inner: httpx.BaseTransport
    failures: list[Failure] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        failure = self.failures.pop(0) if self.failures else None
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, int | tuple):
            status, retry_after = failure if isinstance(failure, tuple) else (failure, None)
            self.seen.append((request.method, request.url.path, status))
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return httpx.Response(status, headers=headers, json={"title": "busy", "status": status})
        response = self.inner.handle_request(request)
        self.seen.append((request.method, request.url.path, response.status_code))
        if failure is not None:
            response.read()
            raise failure(request, response)
        return response

    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def token_requests(self) -> int:
        return sum(1 for _, path, _ in self.seen if path.endswith("/token"))

    def statuses(self) -> list[int]:
        return [status for _, path, status in self.seen if not path.endswith("/token")]


@pytest.fixture
def settings(db_url: str) -> Settings:
    """A platform tenant of its own per test: the tests share one database."""
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": BASE},
        # the clock is frozen: no bucket refills; tests/admin/test_rate_limits.py tests the limit
        admin={"platform_tenant": unique("platform"), "rate_limit_burst": 1_000_000},
    )


@pytest.fixture
def machine(keystead: Keystead, factory: Factory) -> Machine:
    return register(keystead, factory.tenant())


@pytest.fixture
def wire(client: TestClient) -> Wire:
    return Wire(client._transport)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def admin(wire: Wire, machine: Machine, clock: FrozenClock, sleeps: list[float]) -> AdminClient:
    return AdminClient(
        BASE,
        client_id=machine.client_id,
        client_secret=machine.secret,
        issuer=machine.issuer,
        http=wire.http(),
        clock=clock,
        sleep=sleeps.append,
    )


# resources
def test_crud_round_trip(admin: AdminClient, machine: Machine) -> None:
    users = admin.users(machine.tenant.name)
    created = users.create(
        "alice",
        email="alice@example.com",
        password="correct horse battery",
        given_name="Alice",
        address={"country": "GB", "locality": "Oxford"},
    )
    assert isinstance(created, User)
    assert (created.username, created.email, created.status) == ("alice", "alice@example.com", "active")
    assert created.has_password and created.address == {"country": "GB", "locality": "Oxford"}
    assert created.etag and created.created_at.tzinfo is not None

    read = users.get(created.id)
    assert read == created and read.etag == created.etag

    updated = users.update(read, name="Alice Liddell", given_name=None, status="disabled")
    assert (updated.name, updated.given_name, updated.status) == ("Alice Liddell", None, "disabled")
    assert updated.etag and updated.etag != read.etag
    assert users.get(created.id).etag == updated.etag

    assert [u.id for u in users.list(username="ALICE")] == [created.id]
    assert [u.id for u in users.list(status="active")] == []

    users.delete(created.id)
    with pytest.raises(NotFound):
        users.get(created.id)

    events = list(admin.audit_events(machine.tenant.name).list(target=created.id))
    assert [e.action for e in events] == ["user.delete", "user.update", "user.create"]
    assert {e.actor for e in events} == {machine.client_id}
    assert events[1].before is not None and events[1].before["name"] is None
    assert events[1].after is not None and events[1].after["name"] == "Alice Liddell"
    assert [e.id for e in admin.audit_events(machine.tenant.name).list(action="user.update")] == [
        events[1].id
    ]


def test_pagination_follows_cursors_without_duplicates(
    admin: AdminClient, machine: Machine, keystead: Keystead, wire: Wire
) -> None:
    names = [f"user{i:03d}" for i in range(120)]
    for name in reversed(names):
        keystead.users.create(machine.tenant.id, name)

    listed = list(admin.users(machine.tenant.name).list(page_size=50))

    assert [u.username for u in listed] == names
    assert len({u.id for u in listed}) == 120
    assert wire.statuses() == [200, 200, 200]  # 50 + 50 + 20
    assert all(u.etag is None for u in listed)  # list items carry no ETag: get() before update()
    prefixed = admin.users(machine.tenant.name).list(username_prefix="user11", page_size=3)
    assert [u.username for u in prefixed] == [f"user11{i}" for i in range(10)]


def test_list_is_lazy(admin: AdminClient, machine: Machine, keystead: Keystead, wire: Wire) -> None:
    for i in range(5):
        keystead.users.create(machine.tenant.id, f"lazy{i}")
    iterator = admin.users(machine.tenant.name).list(page_size=2)
    assert wire.statuses() == []
    assert next(iterator).username == "lazy0"
    assert wire.statuses() == [200]


# errors
def test_stale_etag_is_precondition_failed_and_changes_nothing(admin: AdminClient, machine: Machine) -> None:
    users = admin.users(machine.tenant.name)
    first = users.create("bob")
    users.update(first, name="Bob")

    with pytest.raises(PreconditionFailed) as caught:
        users.update(first, name="Robert")  # first.etag is now stale

    assert caught.value.status == 412
    assert caught.value.slug == "precondition-failed"
    assert users.get(first.id).name == "Bob"
    with pytest.raises(PreconditionFailed):
        users.delete(first.id, etag=first.etag)
    assert users.get(first.id).name == "Bob"


def test_update_needs_an_etag(admin: AdminClient, machine: Machine, keystead: Keystead) -> None:
    keystead.users.create(machine.tenant.id, "listed")
    (listed,) = admin.users(machine.tenant.name).list(username="listed")
    with pytest.raises(ValueError, match="ETag"):
        admin.users(machine.tenant.name).update(listed, name="X")


def test_validation_failed_names_the_field(admin: AdminClient, machine: Machine) -> None:
    users = admin.users(machine.tenant.name)
    with pytest.raises(ValidationFailed) as caught:
        users.create("carol", email="not an email")

    error = caught.value
    assert (error.status, error.slug) == (422, "validation")
    assert error.fields == ["email"]
    assert error.errors[0]["detail"]
    assert isinstance(error, AdminApiError) and isinstance(error, SdkError)
    assert list(users.list(username="carol")) == []

    carol = users.create("carol")
    with pytest.raises(ValidationFailed) as unknown:
        users.update(carol, nickname="c")  # type: ignore[call-arg]
    assert unknown.value.fields == ["nickname"]


def test_not_found_and_conflict(admin: AdminClient, machine: Machine) -> None:
    users = admin.users(machine.tenant.name)
    with pytest.raises(NotFound) as caught:
        users.get("00000000-0000-0000-0000-000000000000")
    assert (caught.value.status, caught.value.slug) == (404, "not-found")
    with pytest.raises(NotFound):
        users.delete("no-such-user")

    users.create("dave")
    with pytest.raises(Conflict):
        users.create("DAVE")


def test_another_tenant_is_forbidden(admin: AdminClient, factory: Factory) -> None:
    with pytest.raises(Forbidden):
        admin.users(factory.tenant().name).get("x")


# authentication
def test_token_is_fetched_once_and_renewed_before_expiry(
    admin: AdminClient, machine: Machine, wire: Wire, clock: FrozenClock
) -> None:
    users = admin.users(machine.tenant.name)
    users.create("erin")
    list(users.list())
    assert wire.token_requests() == 1
    assert wire.seen[0][:2] == ("POST", f"/t/{machine.tenant.name}/token")
    token_request = wire.headers[0]
    assert token_request["authorization"].startswith("Basic ")

    clock.advance(540)  # 600 s token, renewed 60 s early: no 401 on the way
    list(users.list())
    assert wire.token_requests() == 2
    assert 401 not in wire.statuses()


def test_refused_token_is_renewed_once(
    wire: Wire, machine: Machine, clock: FrozenClock, sleeps: list[float]
) -> None:
    client_clock = FrozenClock(clock())  # the client believes its token is still fresh
    admin = AdminClient(
        BASE,
        client_id=machine.client_id,
        client_secret=machine.secret,
        issuer=machine.issuer,
        http=wire.http(),
        clock=client_clock,
        sleep=sleeps.append,
    )
    users = admin.users(machine.tenant.name)
    users.create("frank")
    clock.advance(601)  # the server sees it expired

    assert [u.username for u in users.list()] == ["frank"]
    assert wire.token_requests() == 2
    assert wire.statuses() == [201, 401, 200]
    assert sleeps == []


def test_static_token_refused_is_unauthorized(wire: Wire, machine: Machine, client: TestClient) -> None:
    admin = AdminClient(BASE, token="a.b.c", http=wire.http())
    with pytest.raises(Unauthorized) as caught:
        admin.users(machine.tenant.name).get("x")
    assert caught.value.status == 401
    assert wire.statuses() == [401]

    issued = client.post(
        f"/t/{machine.tenant.name}/token",
        data={"grant_type": "client_credentials", "scope": "keystead:admin"},
        auth=(machine.client_id, machine.secret),
    ).json()["access_token"]
    assert list(AdminClient(BASE, token=issued, http=wire.http()).users(machine.tenant.name).list()) == []


def test_wrong_client_secret_is_unauthorized(wire: Wire, machine: Machine) -> None:
    admin = AdminClient(
        BASE, client_id=machine.client_id, client_secret="wrong", issuer=machine.issuer, http=wire.http()
    )
    with pytest.raises(Unauthorized) as caught:
        admin.users(machine.tenant.name).get("x")
    assert caught.value.title == "invalid_client"
    assert wire.token_requests() == 1


def test_platform_admin(wire: Wire, keystead: Keystead, machine: Machine) -> None:
    platform = keystead.tenants.create(keystead.settings.admin.platform_tenant, "Platform")
    operator = register(keystead, platform, PLATFORM_SCOPE)
    admin = AdminClient(
        BASE,
        client_id=operator.client_id,
        client_secret=operator.secret,
        issuer=operator.issuer,
        scope=PLATFORM_SCOPE,
        http=wire.http(),
    )
    created = admin.users(machine.tenant.name).create("grace")
    assert admin.users(machine.tenant.name).get(created.id).username == "grace"


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError):
        AdminClient(BASE)
    with pytest.raises(ValueError):
        AdminClient(BASE, client_id="x", client_secret="y")  # no issuer
    with pytest.raises(ValueError):
        AdminClient(BASE, token="t", client_id="x", client_secret="y", issuer=BASE)


# retries
def test_retry_after_is_honoured_on_503_and_429(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]
) -> None:
    users = admin.users(machine.tenant.name)
    user = users.create("heidi")
    wire.failures = [(503, "2"), (429, "1")]

    assert users.get(user.id).username == "heidi"
    assert sleeps == [2.0, 1.0]
    assert wire.statuses() == [201, 503, 429, 200]


def test_retry_after_as_an_http_date(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float], clock: FrozenClock
) -> None:
    users = admin.users(machine.tenant.name)
    users.create("ivan")
    wire.failures = [(503, email.utils.formatdate(clock() + 30, usegmt=True))]
    list(users.list())
    assert len(sleeps) == 1 and 29 <= sleeps[0] <= 31


def test_exponential_backoff_with_jitter(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]
) -> None:
    users = admin.users(machine.tenant.name)
    users.create("judy")
    wire.failures = [503, 503, 503]
    assert [u.username for u in users.list()] == ["judy"]
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.2 * 2**attempt / 2 <= delay <= 0.2 * 2**attempt


def test_retries_give_up(admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]) -> None:
    users = admin.users(machine.tenant.name)
    users.create("ken")
    wire.failures = [503] * 4
    with pytest.raises(ServerError) as server:
        users.get("x")
    assert server.value.status == 503 and len(sleeps) == 3

    wire.failures = [(429, "5")] * 4
    with pytest.raises(RateLimited) as limited:
        list(users.list())
    assert limited.value.retry_after == 5.0


def test_retry_after_beyond_the_limit_is_not_waited(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]
) -> None:
    admin.users(machine.tenant.name).create("leo")
    wire.failures = [(429, "3600")]
    with pytest.raises(RateLimited) as caught:
        admin.users(machine.tenant.name).get("x")
    assert caught.value.retry_after == 3600.0
    assert sleeps == []


def test_connection_errors_are_retried_for_idempotent_requests(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]
) -> None:
    users = admin.users(machine.tenant.name)
    user = users.create("mallory")
    wire.failures = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]
    assert users.get(user.id).id == user.id
    assert len(sleeps) == 2

    wire.failures = [httpx.ConnectError("refused")]
    with pytest.raises(ProviderError, match="ConnectError"):
        users.update(user, name="M")  # a PATCH is not sent twice
    assert len(sleeps) == 2
    assert users.get(user.id).name is None


def test_create_is_safe_to_retry_when_the_answer_is_lost(
    admin: AdminClient, machine: Machine, wire: Wire, sleeps: list[float]
) -> None:
    def lost(request: httpx.Request, response: httpx.Response) -> Exception:
        return httpx.ReadError("connection reset", request=request)

    users = admin.users(machine.tenant.name)
    list(users.list())  # fetches the token
    wire.failures = [lost]

    created = users.create("niaj")

    assert created.username == "niaj"
    assert wire.statuses()[-2:] == [201, 201]  # served twice: the second is the replay
    keys = [h["idempotency-key"] for h in wire.headers if "idempotency-key" in h]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert [u.id for u in users.list()] == [created.id]
    assert len(list(admin.audit_events(machine.tenant.name).list(action="user.create"))) == 1


def test_own_idempotency_key_replays(admin: AdminClient, machine: Machine) -> None:
    users = admin.users(machine.tenant.name)
    first = users.create("olivia", idempotency_key="import-row-1")
    again = users.create("olivia", idempotency_key="import-row-1")
    assert again.id == first.id
    with pytest.raises(Conflict) as caught:
        users.create("oscar", idempotency_key="import-row-1")
    assert caught.value.slug == "idempotency-key-reused"


# asyncio
def test_async_client(app: object, machine: Machine, clock: FrozenClock, keystead: Keystead) -> None:
    for i in range(7):
        keystead.users.create(machine.tenant.id, f"async{i}")
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> None:
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        failing = {"left": 1}

        async def handle(request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and failing["left"]:
                failing["left"] -= 1
                return httpx.Response(503, headers={"Retry-After": "1"})
            return await transport.handle_async_request(request)

        async with AsyncAdminClient(
            BASE,
            client_id=machine.client_id,
            client_secret=machine.secret,
            issuer=machine.issuer,
            http=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
            clock=clock,
            sleep=sleep,
        ) as admin:
            users = admin.users(machine.tenant.name)
            created = await users.create("async-new", email="new@example.com")
            assert created.etag
            names = [u.username async for u in users.list(username_prefix="async", page_size=3)]
            assert names == ["async-new", *(f"async{i}" for i in range(7))]  # "-" sorts before digits
            updated = await users.update(await users.get(created.id), name="New")
            assert updated.name == "New"
            with pytest.raises(PreconditionFailed):
                await users.update(created, name="Stale")
            await users.delete(created.id)
            with pytest.raises(NotFound):
                await users.get(created.id)
            actions = [
                e.action async for e in admin.audit_events(machine.tenant.name).list(target=created.id)
            ]
            assert actions == ["user.delete", "user.update", "user.create"]

    asyncio.run(main())
    assert sleeps == [1.0]


# without a server
def test_errors_without_a_problem_document() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    admin = AdminClient(BASE, token="t", http=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(ServerError) as caught:
        admin.users("acme").get("x")
    assert (caught.value.status, caught.value.type, caught.value.title) == (502, "about:blank", "Bad Gateway")
    assert caught.value.errors == []


def test_connection_errors_exhaust_the_retries() -> None:
    calls: list[str] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        raise httpx.ConnectError("refused", request=request)

    admin = AdminClient(
        BASE,
        token="t",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        retries=2,
        backoff=1,
        sleep=sleeps.append,
    )
    with pytest.raises(ProviderError, match="ConnectError"):
        admin.users("a/b").get("x/y")
    assert calls == ["/admin/api/v1/tenants/a%2Fb/users/x%2Fy"] * 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2


# tenants and clients resources
def _platform_admin(wire: Wire, keystead: Keystead) -> AdminClient:
    platform = keystead.tenants.create(keystead.settings.admin.platform_tenant, "Platform")
    operator = register(keystead, platform, PLATFORM_SCOPE)
    return AdminClient(
        BASE,
        client_id=operator.client_id,
        client_secret=operator.secret,
        issuer=operator.issuer,
        scope=PLATFORM_SCOPE,
        http=wire.http(),
    )


def test_tenants_create_list_get_update(wire: Wire, keystead: Keystead) -> None:
    tenants = _platform_admin(wire, keystead).tenants()
    prefix = unique("sdk")

    created = [tenants.create(f"{prefix}-{i}", display_name=f"T{i}", brand_color="#0A0B0C") for i in range(3)]

    assert created[0].brand_color == "#0a0b0c"
    assert created[0].issuer == f"{BASE}/t/{prefix}-0"
    assert [t.name for t in tenants.list(name_prefix=prefix, page_size=2)] == [
        f"{prefix}-{i}" for i in range(3)
    ]
    assert tenants.get(f"{prefix}-1") == created[1]
    assert tenants.update(f"{prefix}-2", status="disabled").status == "disabled"
    assert [t.name for t in tenants.list(name_prefix=prefix, status="disabled")] == [f"{prefix}-2"]
    with pytest.raises(Conflict):
        tenants.create(f"{prefix}-0")
    with pytest.raises(ValidationFailed):
        tenants.create("Not A Name")


def test_tenants_need_a_platform_admin(admin: AdminClient) -> None:
    with pytest.raises(Forbidden):
        list(admin.tenants().list())


def test_clients_create_list_get_update_rotate(admin: AdminClient, machine: Machine) -> None:
    clients = admin.clients(machine.tenant.name)

    created = clients.create(
        "Shop", redirect_uris=["https://rp.example.com/cb"], scopes=["openid", "profile"]
    )

    assert created.client_secret and len(created.client_secret) >= 32
    assert created.etag
    fetched = clients.get(created.client_id)
    assert fetched.client_secret is None
    assert fetched == created
    assert created.client_id in [c.client_id for c in clients.list(page_size=1)]
    renamed = clients.update(fetched, name="Shop 2")
    assert renamed.name == "Shop 2"
    with pytest.raises(PreconditionFailed):
        clients.update(fetched, name="Stale")
    rotated = clients.rotate_secret(renamed)
    assert rotated.client_secret != created.client_secret
    assert rotated.etag != renamed.etag
    public = clients.create("SPA", client_type="public", redirect_uris=["https://spa.example.com/cb"])
    assert public.client_secret is None
    assert not public.has_secret


def test_async_tenants_and_clients(app: object, keystead: Keystead) -> None:
    platform = keystead.tenants.create(keystead.settings.admin.platform_tenant, "Platform")
    operator = register(keystead, platform, PLATFORM_SCOPE)
    name = unique("async")

    async def main() -> None:
        async with AsyncAdminClient(
            BASE,
            client_id=operator.client_id,
            client_secret=operator.secret,
            issuer=operator.issuer,
            scope=PLATFORM_SCOPE,
            http=httpx.AsyncClient(transport=httpx.ASGITransport(app)),  # type: ignore[arg-type]
        ) as admin:
            tenant = await admin.tenants().create(name, display_name="Async")
            assert [t.name async for t in admin.tenants().list(name_prefix=name)] == [name]
            assert (await admin.tenants().update(name, display_name="Renamed")).display_name == "Renamed"
            assert (await admin.tenants().get(name)).id == tenant.id
            clients = admin.clients(name)
            created = await clients.create("Worker", grant_types=["client_credentials"], redirect_uris=[])
            assert created.client_secret
            assert [c.client_id async for c in clients.list()] == [created.client_id]
            updated = await clients.update(await clients.get(created.client_id), status="disabled")
            assert updated.status == "disabled"
            assert (await clients.rotate_secret(created.client_id)).client_secret != created.client_secret

    asyncio.run(main())
