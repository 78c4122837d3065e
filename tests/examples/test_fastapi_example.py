"""examples/fastapi_api.py, run for real (uvicorn in a subprocess) against a live Keystead."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keystead.config import load_settings
from keystead.wiring import build
from tests.support.live_server import LiveServer, _wait, free_port, live_server

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
# generous timeouts: these run beside browsers and other live servers on two cores
http = httpx.Client(timeout=30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("example")) as server:
        yield server


@pytest.fixture(scope="module")
def machine(live: LiveServer) -> tuple[str, str]:
    k = build(
        load_settings(
            database={"url": live.env["KEYSTEAD_DATABASE__URL"]},
            server={"base_url": live.base_url},
            passwords={"memory_kib": 8192, "time_cost": 1},
        )
    )
    try:
        tenant = k.tenants.get(live.tenant)
        new = k.clients.create(
            tenant.id,
            "Billing job",
            client_id="billing-job",
            grant_types=["client_credentials"],
            scopes=["invoices:read", "reports"],
        )
    finally:
        k.close()
    assert new.secret is not None
    return new.client.client_id, new.secret


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, KEYSTEAD_ISSUER=live.issuer, API_AUDIENCE="billing-job", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.fastapi_api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _token(live: LiveServer, machine: tuple[str, str], scope: str) -> str:
    response = http.post(
        f"{live.issuer}/token", auth=machine, data={"grant_type": "client_credentials", "scope": scope}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_the_example_api_accepts_a_keystead_token_with_the_scope(live, machine, api):
    token = _token(live, machine, "invoices:read")

    me = http.get(f"{api}/me", headers={"Authorization": f"Bearer {token}"})
    invoices = http.get(f"{api}/invoices", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 200 and me.json()["client_id"] == "billing-job"
    assert invoices.status_code == 200 and invoices.json()["invoices"]


def test_the_example_api_refuses_missing_tampered_and_underscoped_tokens(live, machine, api):
    missing = http.get(f"{api}/invoices")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")

    token = _token(live, machine, "invoices:read")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = http.get(f"{api}/invoices", headers={"Authorization": f"Bearer {tampered}"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]

    reports_only = _token(live, machine, "reports")
    forbidden = http.get(f"{api}/invoices", headers={"Authorization": f"Bearer {reports_only}"})
    assert (
        forbidden.status_code == 403 and 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
    )
