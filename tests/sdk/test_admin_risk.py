"""The admin SDK's risk parts against the real admin API in process: clients' ``mfa``,
``minimum_acr`` and ``risk`` override, the tenant's ``risk`` settings, and the typed risk
decisions (sync and async)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant
from keystead.sdk.admin import AdminClient, AsyncAdminClient, RiskDecision, ValidationFailed
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import PASSWORD, Factory
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


@pytest.fixture
def admin(
    client: TestClient, keystead: Keystead, tenant: Tenant, clock: FrozenClock
) -> Iterator[AdminClient]:
    with AdminClient(BASE, http=client, clock=clock, **_credentials(keystead, tenant)) as a:
        yield a


def test_client_strength_round_trip(admin: AdminClient, tenant: Tenant):
    clients = admin.clients(tenant.name)
    created = clients.create(
        "Payments",
        redirect_uris=["https://pay.example.com/cb"],
        mfa="always",
        minimum_acr="urn:keystead:acr:mfa",
        risk={"sensitive": True},
    )
    assert (created.mfa, created.minimum_acr, created.risk) == (
        "always",
        "urn:keystead:acr:mfa",
        {"sensitive": True},
    )
    updated = clients.update(created, mfa=None, risk={"mode": "adaptive", "deny_at": 80})
    assert updated.mfa is None and updated.risk == {"mode": "adaptive", "deny_at": 80}
    assert clients.get(created.client_id).risk == {"mode": "adaptive", "deny_at": 80}
    with pytest.raises(ValidationFailed) as refused:
        clients.update(updated, mfa="sometimes")  # type: ignore[typeddict-item]
    assert "mfa" in str(refused.value.errors)


def test_tenant_risk_settings(admin: AdminClient, tenant: Tenant):
    settings = admin.settings(tenant.name)
    read = settings.get()
    assert read.risk["mode"] == "never" and read.mfa == "when_enrolled"
    updated = settings.update(read, risk={"mode": "adaptive", "weights": {"new_device": 40}})
    assert updated.risk["mode"] == "adaptive" and updated.risk["weights"]["new_device"] == 40


def test_risk_decisions_sync_and_async(
    app, admin: AdminClient, client: TestClient, keystead, tenant, factory
):  # type: ignore[no-untyped-def]
    keystead.tenant_settings.update(tenant.id, {"risk": {"mode": "simulate"}}, expected_version=0)
    alice = factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    assert Flow(client, tenant.name).login(rp, "alice", PASSWORD, consent=None).code
    [decision] = list(admin.risk_decisions(tenant.name).list(user_id=alice.id))
    assert isinstance(decision, RiskDecision)
    assert (decision.user_id, decision.mode, decision.enforced) == (alice.id, "simulate", "allow")
    assert decision.contributions[0].signal == "new_device" and decision.contributions[0].observed is None
    assert decision.fired == tuple(c for c in decision.contributions if c.weight)
    assert list(admin.risk_decisions(tenant.name).list(user_id="nobody")) == []
    credentials = _credentials(keystead, tenant)

    async def main() -> list[RiskDecision]:
        async with AsyncAdminClient(
            BASE,
            http=httpx.AsyncClient(transport=httpx.ASGITransport(app)),  # type: ignore[arg-type]
            **credentials,
        ) as a:
            return [d async for d in a.risk_decisions(tenant.name).list(page_size=1)]

    assert [d.id for d in asyncio.run(main())] == [decision.id]
