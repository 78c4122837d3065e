"""Admin API fixtures: tenants with admin clients, and bearer tokens from the token endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS, unique
from tests.support.factories import Factory

API = "/admin/api/v1"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "max_body_bytes": 4096},
        # the clock is frozen: no bucket refills; tests/admin/test_rate_limits.py tests the limit
        admin={"platform_tenant": unique("platform"), "rate_limit_burst": 1_000_000},
    )


def issue_token(http: httpx.Client, k: Keystead, tenant: Tenant, scope: str) -> str:
    created = k.clients.create(
        tenant.id, "admin", grant_types=["client_credentials"], scopes=[scope], redirect_uris=[]
    )
    return token_for(http, tenant, created.client.client_id, created.secret or "", scope)


def token_for(http: httpx.Client, tenant: Tenant, client_id: str, secret: str, scope: str) -> str:
    response = http.post(
        f"/t/{tenant.name}/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Api:
    """A tenant and an admin token for it, with request helpers."""

    http: httpx.Client
    tenant: Tenant
    token: str

    @property
    def base(self) -> str:
        return f"{API}/tenants/{self.tenant.name}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.http.request(method, self.base + path, headers=self.headers(**(headers or {})), **kw)

    def create_user(self, username: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"username": username or unique("u"), **fields}
        response = self.request("POST", "/users", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def api(client: httpx.Client, keystead: Keystead, factory: Factory) -> Api:
    tenant = factory.tenant()
    return Api(client, tenant, issue_token(client, keystead, tenant, "keystead:admin"))


@pytest.fixture
def other_api(client: httpx.Client, keystead: Keystead, factory: Factory) -> Api:
    tenant = factory.tenant()
    return Api(client, tenant, issue_token(client, keystead, tenant, "keystead:admin"))


@pytest.fixture
def platform_token(client: httpx.Client, keystead: Keystead) -> str:
    tenant = keystead.tenants.create(keystead.settings.admin.platform_tenant, "Platform")
    return issue_token(client, keystead, tenant, "keystead:platform")


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["type"] == f"https://keystead.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"]
    return body
