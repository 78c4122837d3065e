"""The admin client's sessions, consents and grants, keys, settings, client deletion, user
roles and free-text filter, and bulk import/export, against the real admin API in process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant
from keystead.sdk.admin import (
    AdminClient,
    AsyncAdminClient,
    ImportJob,
    NotFound,
    PreconditionFailed,
    TenantSettings,
    ValidationFailed,
)
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import Factory
from tests.support.flow import Flow

BASE = "http://testserver"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": BASE},
        admin={"platform_tenant": unique("platform"), "rate_limit_burst": 1_000_000},
    )


@pytest.fixture
def tenant(factory: Factory) -> Tenant:
    return factory.tenant()


def _credentials(keystead: Keystead, tenant: Tenant) -> dict[str, str]:
    created = keystead.clients.create(
        tenant.id, "sdk", grant_types=["client_credentials"], scopes=["keystead:admin"], redirect_uris=[]
    )
    return {
        "client_id": created.client.client_id,
        "client_secret": created.secret or "",
        "issuer": f"{BASE}/t/{tenant.name}",
    }


def _poll_sleep(clock: FrozenClock):  # type: ignore[no-untyped-def]
    """The import job runs on a thread: give it a moment of real time while the clock moves."""

    def sleep(seconds: float) -> None:
        time.sleep(0.02)
        clock.advance(seconds)

    return sleep


@pytest.fixture
def admin(
    client: TestClient, keystead: Keystead, tenant: Tenant, clock: FrozenClock
) -> Iterator[AdminClient]:
    with AdminClient(
        BASE, http=client, clock=clock, sleep=_poll_sleep(clock), **_credentials(keystead, tenant)
    ) as a:
        yield a


@pytest.fixture
def signed_in(app, factory: Factory, tenant: Tenant) -> str:  # type: ignore[no-untyped-def]
    """A user signed in to a relying party from a browser: a session, a consent, a grant."""
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant)
    with TestClient(app, base_url=BASE, follow_redirects=False) as http:
        flow = Flow(http, tenant.name)
        assert flow.exchange(rp, flow.login(rp, "alice")).status_code == 200
    return user.id


def test_sessions_consents_and_grants(admin: AdminClient, tenant: Tenant, signed_in: str):
    sessions, consents = admin.sessions(tenant.name), admin.consents(tenant.name)

    [session] = list(sessions.list(signed_in))
    [consent] = list(consents.list(signed_in))
    [grant] = list(consents.grants(signed_in))

    assert session.user_id == signed_in and "pwd" in session.amr
    assert "openid" in consent.scopes and grant.client_id == consent.client_id
    assert grant.session_id == session.id
    consents.revoke_grant(signed_in, grant)
    assert list(consents.grants(signed_in)) == []
    with pytest.raises(NotFound):
        consents.revoke_grant(signed_in, grant.id)
    consents.revoke(signed_in, consent.client_id)
    assert list(consents.list(signed_in)) == []
    sessions.revoke(session)
    assert list(sessions.list(signed_in)) == []
    with pytest.raises(NotFound):
        sessions.revoke_all("nobody")


def test_settings_update_under_if_match(admin: AdminClient, tenant: Tenant):
    settings = admin.settings(tenant.name)
    read = settings.get()
    assert isinstance(read, TenantSettings) and read.version == 0 and read.etag

    updated = settings.update(read, tokens={"code_ttl": 30}, branding={"primary_color": "#112233"})

    assert updated.version == 1 and updated.tokens["code_ttl"] == 30
    assert updated.branding["primary_color"] == "#112233" and updated.etag != read.etag
    with pytest.raises(PreconditionFailed):
        settings.update(read, tokens={"code_ttl": 40})
    with pytest.raises(ValidationFailed) as refused:
        settings.update(updated, login_methods=[])
    assert "login_methods" in str(refused.value.errors)
    assert settings.get().tokens["code_ttl"] == 30


def test_keys_and_client_deletion(admin: AdminClient, tenant: Tenant):
    keys = admin.keys(tenant.name)
    kids = keys.rotate()
    assert kids and set(kids) <= {k.kid for k in keys.list() if k.status == "active"}
    clients = admin.clients(tenant.name)
    shop = clients.create("Shop", redirect_uris=["https://shop.example.com/cb"])
    stale = clients.update(clients.get(shop.client_id), name="Shop 2")

    with pytest.raises(PreconditionFailed):
        clients.delete(shop.client_id, etag=shop.etag)  # that version is gone
    clients.delete(stale)

    with pytest.raises(NotFound):
        clients.get(shop.client_id)


def test_roles_and_free_text_filter(admin: AdminClient, tenant: Tenant):
    users = admin.users(tenant.name)
    ada = users.create("ada", email="ada.lovelace@example.com", name="Ada Lovelace", roles=["admin"])
    users.create("bob", email="bob@example.com")

    assert ada.roles == ("admin",)
    assert users.update(ada, roles=["admin", "support"]).roles == ("admin", "support")
    assert [u.username for u in users.list(q="lovel")] == ["ada"]


def test_import_wait_list_and_export(admin: AdminClient, tenant: Tenant):
    users = admin.users(tenant.name)
    rows = [{"username": "imp1", "email": "imp1@example.com"}, {"username": "imp2", "email": "not-an-email"}]

    job = users.import_jsonl(rows, source="people.jsonl")
    assert isinstance(job, ImportJob) and job.source == "people.jsonl"
    done = admin.import_jobs(tenant.name).wait(job, poll=0.1, timeout=60)

    assert done.status == "succeeded" and (done.total, done.created, done.failed) == (2, 1, 1)
    assert [(e.line, e.field) for e in done.errors] == [(2, "email")]
    assert job.id in [j.id for j in admin.import_jobs(tenant.name).list()]
    exported = list(users.export())
    assert [r["username"] for r in exported] == ["imp1"]
    assert "password_hash" not in exported[0]
    again = admin.import_jobs(tenant.name).wait(
        users.import_jsonl(b'{"username": "imp1"}\n'), poll=0.1, timeout=60
    )
    assert (again.created, again.unchanged) == (0, 1)


def test_async_client(app, keystead: Keystead, tenant: Tenant, signed_in: str):  # type: ignore[no-untyped-def]
    credentials = _credentials(keystead, tenant)

    async def main() -> None:
        async def sleep(seconds: float) -> None:
            await asyncio.sleep(0.02)

        async with AsyncAdminClient(
            BASE,
            http=httpx.AsyncClient(transport=httpx.ASGITransport(app)),  # type: ignore[arg-type]
            sleep=sleep,
            **credentials,
        ) as admin:
            consents = admin.consents(tenant.name)
            [consent] = [c async for c in consents.list(signed_in)]
            assert [g.client_id async for g in consents.grants(signed_in)] == [consent.client_id]
            await consents.revoke(signed_in, consent.client_id)
            assert [g async for g in consents.grants(signed_in)] == []
            assert len([s async for s in admin.sessions(tenant.name).list(signed_in)]) == 1
            await admin.sessions(tenant.name).revoke_all(signed_in)
            settings = await admin.settings(tenant.name).get()
            assert (
                await admin.settings(tenant.name).update(settings, password_policy={"min_length": 10})
            ).version == 1
            assert await admin.keys(tenant.name).list()
            users = admin.users(tenant.name)
            job = await users.import_jsonl([{"username": "async-imp"}])
            done = await admin.import_jobs(tenant.name).wait(job, poll=0.05, timeout=60)
            assert done.created == 1
            assert "async-imp" in [row["username"] async for row in users.export()]

    asyncio.run(main())
