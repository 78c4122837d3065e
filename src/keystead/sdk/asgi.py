"""FastAPI and Starlette: a dependency that answers 401/403 per RFC 6750, and a middleware that
verifies any Bearer token sent and leaves it on ``request.state.access_token``.

Imports Starlette (which FastAPI brings); importing :mod:`keystead.sdk` alone does not.

    verifier = AsyncTokenVerifier("https://id.example.com/t/acme", audience="billing-api")
    read = require_token(verifier, scopes=["invoices:read"])

    @app.get("/invoices")
    async def invoices(token: AccessToken = Depends(read)) -> list[Invoice]: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from keystead.sdk.access_token import AccessToken, require_scopes
from keystead.sdk.bearer import Denial, denial, token_from_header
from keystead.sdk.errors import SdkError
from keystead.sdk.tokens import AsyncTokenVerifier, TokenVerifier

AnyVerifier = TokenVerifier | AsyncTokenVerifier
STATE_KEY = "access_token"
_VERIFIED_BY = "keystead_verified_by"  # which verifier the middleware used


async def verify(verifier: AnyVerifier, token: str) -> AccessToken:
    """Await an async verifier; run a sync one in the thread pool (it may fetch keys)."""
    if isinstance(verifier, AsyncTokenVerifier):
        return await verifier.verify(token)
    return await run_in_threadpool(verifier.verify, token)


def require_token(
    verifier: AnyVerifier, scopes: Iterable[str] = (), *, realm: str = "api"
) -> Callable[[Request], Awaitable[AccessToken]]:
    """A dependency (``Depends(require_token(...))``) returning the verified :class:`AccessToken`.

    Reuses the token :class:`BearerTokenMiddleware` verified with the same verifier. Errors become an
    ``HTTPException`` carrying the RFC 6750 ``WWW-Authenticate`` header (FastAPI renders it)."""
    needed = tuple(scopes)

    async def access_token(request: Request) -> AccessToken:
        try:
            token = None
            if getattr(request.state, _VERIFIED_BY, None) is verifier:
                token = getattr(request.state, STATE_KEY, None)
            if token is None:
                raw = token_from_header(request.headers.get("authorization"))
                if raw is None:
                    raise _http_error(denial(None, realm, needed))
                token = await verify(verifier, raw)
            return require_scopes(token, *needed)
        except SdkError as exc:
            raise _http_error(denial(exc, realm, needed)) from exc

    return access_token


def _http_error(d: Denial) -> HTTPException:
    headers = {"WWW-Authenticate": d.challenge} if d.challenge else None
    return HTTPException(d.status, detail=d.body.get("error_description", d.body["error"]), headers=headers)


class BearerTokenMiddleware:
    """Verifies the Bearer token when one is sent: valid → ``request.state.access_token``;
    invalid → 401 at once. Requests without one pass with ``request.state.access_token = None``
    (the endpoint decides, e.g. with :func:`require_token`)."""

    def __init__(self, app: ASGIApp, verifier: AnyVerifier, *, realm: str = "api") -> None:
        self.app = app
        self.verifier = verifier
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        try:
            raw = token_from_header(conn.headers.get("authorization"))
            token = None if raw is None else await verify(self.verifier, raw)
        except SdkError as exc:
            await self._deny(denial(exc, self.realm), scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[STATE_KEY] = token
        state[_VERIFIED_BY] = self.verifier
        await self.app(scope, receive, send)

    @staticmethod
    async def _deny(d: Denial, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {"WWW-Authenticate": d.challenge} if d.challenge else None
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await JSONResponse(d.body, status_code=d.status, headers=headers)(scope, receive, send)
