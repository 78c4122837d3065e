"""The framework helpers answer per RFC 6750 section 3: 401 without an error code when no
credentials were sent, 401 invalid_token, 403 insufficient_scope with scope=, 400 for a
malformed header, 503 when Keystead cannot be reached."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g
from flask.testing import FlaskClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.sdk import AccessToken, AsyncTokenVerifier, TokenVerifier
from keystead.sdk.asgi import BearerTokenMiddleware, require_token
from keystead.sdk.bearer import challenge, token_from_header
from keystead.sdk.flask import requires_token
from tests.sdk.conftest import AUDIENCE, ISSUER, FakeKeystead


def fastapi_app(verifier: TokenVerifier | AsyncTokenVerifier) -> FastAPI:
    app = FastAPI()
    read = require_token(verifier, scopes=["invoices:read"], realm="billing")
    write = require_token(verifier, scopes=["invoices:read", "invoices:write"], realm="billing")

    @app.get("/invoices")
    async def invoices(token: AccessToken = Depends(read)) -> dict[str, str]:
        return {"sub": token.sub}

    @app.post("/invoices")
    def create(token: AccessToken = Depends(write)) -> dict[str, str]:
        return {"sub": token.sub}

    return app


def flask_app(verifier: TokenVerifier) -> Flask:
    app = Flask(__name__)

    @app.get("/invoices")
    @requires_token(verifier, scopes=["invoices:read"], realm="billing")
    def invoices() -> dict[str, str]:
        return {"sub": g.access_token.sub}

    @app.post("/invoices")
    @requires_token(verifier, scopes=["invoices:read", "invoices:write"], realm="billing")
    def create() -> dict[str, str]:
        return {"sub": g.access_token.sub}

    return app


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any


Call = Callable[[str, dict[str, str]], Answer]


def check_answers(call: Call, *, read: str, both: str, invalid: str, sub: str) -> None:
    """One contract for every framework: GET needs invoices:read, POST also invoices:write.
    ``read`` and ``both`` are tokens with those scopes, ``invalid`` one that must be refused."""
    ok = call("GET", {"Authorization": f"Bearer {read}"})
    assert (ok.status, ok.body) == (200, {"sub": sub})

    missing = call("GET", {})
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="billing", scope="invoices:read"'

    basic = call("GET", {"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status == 401 and "error=" not in basic.headers["www-authenticate"]

    refused = call("GET", {"Authorization": f"Bearer {invalid}"})
    assert refused.status == 401
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="billing", error="invalid_token", error_description="the access token is invalid"'
    )

    malformed = call("GET", {"Authorization": "Bearer two words"})
    assert malformed.status == 400
    assert 'error="invalid_request"' in malformed.headers["www-authenticate"]

    forbidden = call("POST", {"Authorization": f"Bearer {read}"})
    assert forbidden.status == 403
    assert forbidden.headers["www-authenticate"] == (
        'Bearer realm="billing", error="insufficient_scope", '
        'error_description="the access token does not have the required scope", '
        'scope="invoices:read invoices:write"'
    )
    assert call("POST", {"Authorization": f"Bearer {both}"}).status == 200


def fake_tokens(fake: FakeKeystead) -> dict[str, str]:
    return {
        "read": fake.token(scope="invoices:read"),
        "both": fake.token(scope="invoices:read invoices:write"),
        "invalid": fake.token(exp=1),
        "sub": "user-1",
    }


def starlette_call(client: TestClient) -> Call:
    def call(method: str, headers: dict[str, str]) -> Answer:
        r = client.request(method, "/invoices", headers=headers)
        return Answer(r.status_code, r.headers, r.json())

    return call


def flask_call(client: FlaskClient) -> Call:
    def call(method: str, headers: dict[str, str]) -> Answer:
        r = client.open("/invoices", method=method, headers=headers)
        return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json())

    return call


@pytest.fixture
def verifier(fake: FakeKeystead, clock: FrozenClock) -> Iterator[TokenVerifier]:
    with httpx.Client(transport=fake.transport()) as http:
        yield TokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)


def test_fastapi_dependency_sync_verifier(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    with TestClient(fastapi_app(verifier)) as client:
        check_answers(starlette_call(client), **fake_tokens(fake))


def test_fastapi_dependency_async_verifier(fake: FakeKeystead, clock: FrozenClock) -> None:
    http = httpx.AsyncClient(transport=fake.transport())
    verifier = AsyncTokenVerifier(ISSUER, AUDIENCE, http=http, clock=clock)
    with TestClient(fastapi_app(verifier)) as client:
        check_answers(starlette_call(client), **fake_tokens(fake))


def test_provider_unavailable_is_503(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    fake.down = True
    with TestClient(fastapi_app(verifier)) as client:
        answer = client.get("/invoices", headers={"Authorization": f"Bearer {fake.token()}"})
    assert answer.status_code == 503
    assert "www-authenticate" not in answer.headers


def test_flask_decorator(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    client = flask_app(verifier).test_client()
    check_answers(flask_call(client), **fake_tokens(fake))


def test_flask_provider_unavailable_is_503(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    fake.down = True
    answer = (
        flask_app(verifier)
        .test_client()
        .get("/invoices", headers={"Authorization": f"Bearer {fake.token()}"})
    )
    assert answer.status_code == 503


def test_starlette_middleware(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    async def whoami(request: Request) -> JSONResponse:
        token = request.state.access_token
        return JSONResponse({"sub": token.sub if token else None})

    app = Starlette(routes=[Route("/whoami", whoami)])
    app.add_middleware(BearerTokenMiddleware, verifier=verifier, realm="billing")
    with TestClient(app) as client:
        assert client.get("/whoami").json() == {"sub": None}
        good = client.get("/whoami", headers={"Authorization": f"Bearer {fake.token()}"})
        assert good.json() == {"sub": "user-1"}
        bad = client.get("/whoami", headers={"Authorization": f"Bearer {fake.token(aud='x')}"})
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_dependency_reuses_the_middleware_token(verifier: TokenVerifier, fake: FakeKeystead) -> None:
    app = fastapi_app(verifier)
    app.add_middleware(BearerTokenMiddleware, verifier=verifier)
    with TestClient(app) as client:
        assert client.get("/invoices", headers={"Authorization": f"Bearer {fake.token()}"}).status_code == 200
        assert (
            client.post("/invoices", headers={"Authorization": f"Bearer {fake.token()}"}).status_code == 403
        )
        assert client.get("/invoices").status_code == 401


def test_middleware_token_is_not_reused_by_another_verifier(
    verifier: TokenVerifier, fake: FakeKeystead, clock: FrozenClock
) -> None:
    with httpx.Client(transport=fake.transport()) as http:
        strict = TokenVerifier(ISSUER, "another-api", http=http, clock=clock)
        app = fastapi_app(strict)
        app.add_middleware(BearerTokenMiddleware, verifier=verifier)
        with TestClient(app) as client:
            answer = client.get("/invoices", headers={"Authorization": f"Bearer {fake.token()}"})
    assert answer.status_code == 401


def test_header_parsing_and_challenge_quoting() -> None:
    assert token_from_header(None) is None
    assert token_from_header("Basic abc") is None
    assert token_from_header("bearer  abc.def-ghi_~+/==") == "abc.def-ghi_~+/=="
    assert challenge('a"b\\c\n', "invalid_token", 'say "hi"') == (
        'Bearer realm="abc", error="invalid_token", error_description="say hi"'
    )


def test_importing_the_sdk_needs_no_web_framework() -> None:
    code = (
        "import sys, keystead.sdk; "
        "bad = [m for m in ('flask', 'starlette', 'fastapi') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sdk_imports_no_server_internals() -> None:
    import ast

    root = Path(__file__).parents[2] / "src" / "keystead" / "sdk"
    forbidden = ("keystead.services", "keystead.adapters", "keystead.http", "keystead.web", "keystead.cli")
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path} imports {name}"
                assert not name.startswith("keystead.") or name.startswith("keystead.sdk"), f"{path}: {name}"
