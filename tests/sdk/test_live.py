"""The SDK against a real Keystead (uvicorn in a subprocess): client_credentials tokens verify
locally, revocation is seen only through introspection, and the FastAPI and Flask helpers
answer 200 / 401 / 403 per RFC 6750."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.testclient import TestClient

from keystead.config import load_settings
from keystead.sdk import AccessToken, AsyncTokenVerifier, Introspector, InvalidToken, TokenVerifier
from keystead.sdk.asgi import require_token
from keystead.sdk.flask import requires_token
from keystead.wiring import build
from tests.conformance.conftest import Browser, Provider, Rp
from tests.sdk.test_frameworks import check_answers, flask_call, starlette_call
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Machine:
    """A confidential client with the client_credentials grant, registered for these tests."""

    client_id: str
    secret: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("sdk")) as server:
        yield server


@pytest.fixture(scope="module")
def machine(live: LiveServer) -> Machine:
    settings = load_settings(
        database={"url": live.env["KEYSTEAD_DATABASE__URL"]},
        server={"base_url": live.base_url},
        passwords={"memory_kib": 8192, "time_cost": 1},
    )
    k = build(settings)
    try:
        tenant = k.tenants.get(live.tenant)
        new = k.clients.create(
            tenant.id,
            "Billing job",
            grant_types=["client_credentials"],
            scopes=["invoices:read", "invoices:write"],
        )
    finally:
        k.close()
    assert new.secret is not None
    return Machine(new.client.client_id, new.secret)


def fetch_token(live: LiveServer, machine: Machine, scope: str) -> str:
    response = httpx.post(
        f"{live.issuer}/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(machine.client_id, machine.secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def verifier(live: LiveServer, machine: Machine) -> Iterator[TokenVerifier]:
    with TokenVerifier(live.issuer, audience=machine.client_id) as v:
        yield v


def test_tokens_verify(live: LiveServer, machine: Machine, verifier: TokenVerifier) -> None:
    token = verifier.verify(fetch_token(live, machine, "invoices:read"))
    assert (token.sub, token.client_id) == (machine.client_id, machine.client_id)
    assert token.scopes == frozenset({"invoices:read"})
    assert token.claims["iss"] == live.issuer


@pytest.fixture(scope="module")
def user_login(live: LiveServer) -> dict[str, Any]:
    """A user's tokens from a real authorization code flow (hosted login and consent pages)."""
    metadata = httpx.get(f"{live.issuer}/.well-known/openid-configuration", timeout=10).json()
    op = Provider(metadata, httpx.get(metadata["jwks_uri"], timeout=10).json())
    rp, browser = Rp(live, op, scope="openid profile"), Browser(live)
    try:
        tokens, claims, _landing = rp.login(browser)
    finally:
        rp.close()
        browser.close()
    return {"tokens": tokens, "sub": claims["sub"]}


def test_user_token_verifies(live: LiveServer, user_login: dict[str, Any]) -> None:
    with TokenVerifier(live.issuer, audience=live.client_id) as v:
        token = v.verify(user_login["tokens"]["access_token"])
    assert token.sub == user_login["sub"] and token.client_id == live.client_id
    assert {"openid", "profile"} <= token.scopes
    assert isinstance(token.claims["auth_time"], int)


def test_id_token_is_not_an_access_token(live: LiveServer, user_login: dict[str, Any]) -> None:
    with TokenVerifier(live.issuer, audience=live.client_id) as v, pytest.raises(InvalidToken, match="typ"):
        v.verify(user_login["tokens"]["id_token"])


def test_async_verifier(live: LiveServer, machine: Machine) -> None:
    raw = fetch_token(live, machine, "invoices:read invoices:write")

    async def main() -> AccessToken:
        async with AsyncTokenVerifier(live.issuer, audience=machine.client_id) as v:
            return await v.verify(raw)

    assert asyncio.run(main()).scopes == frozenset({"invoices:read", "invoices:write"})


def test_other_audience_refused(live: LiveServer, machine: Machine) -> None:
    with (
        TokenVerifier(live.issuer, audience="someone-else") as v,
        pytest.raises(InvalidToken, match="audience"),
    ):
        v.verify(fetch_token(live, machine, "invoices:read"))


def test_revoked_token_is_seen_only_by_introspection(
    live: LiveServer, machine: Machine, verifier: TokenVerifier
) -> None:
    raw = fetch_token(live, machine, "invoices:read")
    with Introspector(live.issuer, live.client_id, live.client_secret) as introspector:
        assert introspector.check(raw).sub == machine.client_id
        revoked = httpx.post(
            f"{live.issuer}/revoke", data={"token": raw}, auth=(machine.client_id, machine.secret), timeout=10
        )
        assert revoked.status_code == 200
        assert verifier.verify(raw).sub == machine.client_id  # the signature is still good
        with pytest.raises(InvalidToken, match="not active"):
            introspector.check(raw)


def test_fastapi_dependency(live: LiveServer, machine: Machine, verifier: TokenVerifier) -> None:
    app = FastAPI()
    read = require_token(verifier, scopes=["invoices:read"], realm="billing")
    write = require_token(verifier, scopes=["invoices:read", "invoices:write"], realm="billing")

    @app.get("/invoices")
    def invoices(token: AccessToken = Depends(read)) -> dict[str, str]:
        return {"sub": token.sub}

    @app.post("/invoices")
    def create(token: AccessToken = Depends(write)) -> dict[str, str]:
        return {"sub": token.sub}

    with TestClient(app) as client:
        check_answers(starlette_call(client), **live_tokens(live, machine))


def test_flask_decorator(live: LiveServer, machine: Machine, verifier: TokenVerifier) -> None:
    app = Flask(__name__)

    @app.get("/invoices")
    @requires_token(verifier, scopes=["invoices:read"], realm="billing")
    def invoices() -> dict[str, str]:
        return {"sub": g.access_token.sub}

    @app.post("/invoices")
    @requires_token(verifier, scopes=["invoices:read", "invoices:write"], realm="billing")
    def create() -> dict[str, str]:
        return {"sub": g.access_token.sub}

    check_answers(flask_call(app.test_client()), **live_tokens(live, machine))


def live_tokens(live: LiveServer, machine: Machine) -> dict[str, str]:
    read = fetch_token(live, machine, "invoices:read")
    header, payload, _signature = read.split(".")
    return {
        "read": read,
        "both": fetch_token(live, machine, "invoices:read invoices:write"),
        "invalid": f"{header}.{payload}.AAAA",  # Keystead's token with a broken signature
        "sub": machine.client_id,
    }
