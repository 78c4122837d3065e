"""examples/admin_script.py, run for real (a subprocess) against a live Keystead, twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keystead.config import load_settings
from keystead.errors import NotFound
from keystead.wiring import build
from tests.conftest import unique
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
# generous timeouts: these run beside browsers and other live servers on two cores
http = httpx.Client(timeout=30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("admin-script")) as server:
        yield server


@pytest.fixture(scope="module")
def operator(live: LiveServer) -> tuple[str, str, str]:
    """A platform admin client on the live database: (issuer, client_id, secret)."""
    k = build(
        load_settings(
            database={"url": live.env["KEYSTEAD_DATABASE__URL"]},
            server={"base_url": live.base_url},
            passwords={"memory_kib": 8192, "time_cost": 1},
        )
    )
    try:
        name = k.settings.admin.platform_tenant
        try:
            platform = k.tenants.get(name)
        except NotFound:
            platform = k.tenants.create(name, "Platform")
        created = k.clients.create(
            platform.id,
            "Provisioning script",
            grant_types=["client_credentials"],
            scopes=["keystead:platform"],
            redirect_uris=[],
        )
        issuer = k.tenants.issuer(platform)
    finally:
        k.close()
    assert created.secret is not None
    return issuer, created.client.client_id, created.secret


def _run(live: LiveServer, operator: tuple[str, str, str], tenant: str) -> str:
    issuer, client_id, secret = operator
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "admin_script.py"),
            "--base-url",
            live.base_url,
            "--issuer",
            issuer,
            "--client-id",
            client_id,
            "--client-secret",
            secret,
            "--tenant",
            tenant,
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _token(live: LiveServer, operator: tuple[str, str, str]) -> str:
    issuer, client_id, secret = operator
    response = http.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "scope": "keystead:platform"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_admin_script_provisions_a_tenant_and_is_safe_to_rerun(
    live: LiveServer, operator: tuple[str, str, str]
) -> None:
    tenant = unique("example")

    first = _run(live, operator, tenant)

    assert f"tenant created: {tenant}" in first
    assert "client created: client_id=" in first
    secret_line = next(line for line in first.splitlines() if line.startswith("client_secret="))
    client_secret = secret_line.split("=", 1)[1].split()[0]
    assert len(client_secret) >= 32
    for name in ("ada", "grace", "alan"):
        assert f"user created: {name}" in first
    assert "  ada  ada@example.com  Ada Lovelace" in first

    token = _token(live, operator)
    users = http.get(
        f"{live.base_url}/admin/api/v1/tenants/{tenant}/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert users.status_code == 200, users.text
    assert sorted(u["username"] for u in users.json()["items"]) == ["ada", "alan", "grace"]

    second = _run(live, operator, tenant)

    assert f"tenant exists: {tenant}" in second
    assert "client exists: client_id=" in second
    assert "client_secret=" not in second
    for name in ("ada", "grace", "alan"):
        assert f"user exists: {name}" in second
    again = http.get(
        f"{live.base_url}/admin/api/v1/tenants/{tenant}/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert len(again.json()["items"]) == 3
    clients = http.get(
        f"{live.base_url}/admin/api/v1/tenants/{tenant}/clients", headers={"Authorization": f"Bearer {token}"}
    )
    assert [c["name"] for c in clients.json()["items"]] == ["Example web app"]
