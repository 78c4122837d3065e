"""A real Keystead server (uvicorn in a subprocess) on a free loopback port, for peers and
browsers. Seeded through the services: a tenant, a user, a confidential and a public client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from keystead.adapters.sql import create_engine_for, upgrade
from keystead.config import load_settings
from keystead.wiring import build

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    issuer: str
    tenant: str
    username: str
    password: str
    client_id: str
    client_secret: str
    public_client_id: str
    redirect_uri: str
    post_logout_redirect_uri: str
    env: dict[str, str]

    def as_json(self) -> str:
        return json.dumps(self.__dict__ | {"env": {}})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(
    workdir: Path, *, host: str = "127.0.0.1", redirect_uri: str | None = None
) -> Iterator[LiveServer]:
    port = free_port()
    base_url = f"http://{host}:{port}"
    redirect_uri = redirect_uri or f"http://127.0.0.1:{free_port()}/callback"
    db_url = os.environ.get("KEYSTEAD_LIVE_DATABASE_URL") or f"sqlite:///{workdir / 'live.db'}"
    env = dict(
        os.environ,
        KEYSTEAD_DATABASE__URL=db_url,
        KEYSTEAD_SERVER__BASE_URL=base_url,
        KEYSTEAD_PASSWORDS__MEMORY_KIB="8192",
        KEYSTEAD_PASSWORDS__TIME_COST="1",
    )
    engine = create_engine_for(db_url)
    upgrade(engine)
    engine.dispose()
    settings = load_settings(
        database={"url": db_url},
        server={"base_url": base_url},
        passwords={"memory_kib": 8192, "time_cost": 1},
    )
    k = build(settings)
    try:
        tenant = k.tenants.create(f"live{port}", "Acme Corp", brand_color="#0f766e")
        k.users.create(
            tenant.id,
            "alice",
            email="alice@example.com",
            password=PASSWORD,
            name="Alice Liddell",
            given_name="Alice",
            family_name="Liddell",
            email_verified=True,
            phone_number="+1 555 0100",
            address={"street_address": "1 Main St", "locality": "Springfield", "country": "US"},
        )
        issuer = k.tenants.issuer(tenant)
        scopes = ["openid", "profile", "email", "phone", "address", "offline_access"]
        conf = k.clients.create(
            tenant.id,
            "Conformance RP",
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[f"{redirect_uri}/logged-out"],
            scopes=scopes,
            grant_types=["authorization_code", "refresh_token"],
            id_token_alg="RS256",
        )
        public = k.clients.create(
            tenant.id,
            "Public SPA",
            client_type="public",
            redirect_uris=[redirect_uri],
            scopes=scopes,
            grant_types=["authorization_code", "refresh_token"],
        )
    finally:
        k.close()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "keystead.http.app:create_app",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"{base_url}/healthz", proc)
        assert conf.secret is not None
        yield LiveServer(
            base_url=base_url,
            issuer=issuer,
            tenant=tenant.name,
            username="alice",
            password=PASSWORD,
            client_id=conf.client.client_id,
            client_secret=conf.secret,
            public_client_id=public.client.client_id,
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=f"{redirect_uri}/logged-out",
            env=env,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited: {output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")
