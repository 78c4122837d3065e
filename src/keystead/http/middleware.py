"""Pure ASGI middleware: security headers, body size limit, custom domains, access log."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keystead.ports.records import Tenant

access_log = logging.getLogger("keystead.access")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_CSP_NAME = b"content-security-policy"


def csp_with(extra: dict[str, tuple[str, ...]]) -> str:
    """The default CSP with more sources for some directives (a page that embeds one
    provider's widget, e.g. the bot check's Turnstile); a directive not in the default is added."""
    directives = [part.strip() for part in CSP.split(";")]
    names = [d.split()[0] for d in directives]
    for name, sources in extra.items():
        if name in names:
            i = names.index(name)
            directives[i] = " ".join([directives[i], *sources])
        else:
            directives.append(" ".join([name, *sources]))
    return "; ".join(directives)


_SECURITY_HEADERS = [
    (_CSP_NAME, CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_SECRET_SEGMENT = re.compile(r"/interaction/[^/?]+")
_OWN_LIMIT = re.compile(r"/admin/api/v1/tenants/[^/\n]+/users/import\Z")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.extra = [*_SECURITY_HEADERS, *([_HSTS] if https else [])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # a page that sets its own (stricter or console-specific) CSP keeps it
                own_csp = any(name.lower() == b"content-security-policy" for name, _ in headers)
                message["headers"] = headers + [h for h in self.extra if not (own_csp and h[0] == _CSP_NAME)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse bodies larger than ``limit`` bytes with 413 before they are read. Bulk user imports
    stream their body and enforce their own, larger limit (``admin.max_import_bytes``)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _OWN_LIMIT.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(scope, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(scope, send)


class _TooLarge(BaseException):
    """Not an ``Exception``: endpoints' catch-all ``except Exception`` (which turns errors into
    ``server_error``) must not swallow it before :class:`BodyLimit` answers 413."""


class CustomDomains:
    """Requests whose Host is a tenant's custom domain are routed to that tenant's paths."""

    def __init__(self, app: ASGIApp, *, base_url: str, lookup: Callable[[str], Tenant | None]) -> None:
        self.app = app
        self.base_host = (urlsplit(base_url).hostname or "").lower()
        self.lookup = lookup
        self.cache: dict[str, tuple[float, Tenant | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = _host(scope)
            if host and host != self.base_host:
                tenant = self._tenant(host)
                # On a custom domain everything but static files belongs to that one tenant, so
                # another tenant's /t/{name}/... path becomes a 404 there.
                if tenant is not None and not scope["path"].startswith(("/static/", "/healthz")):
                    scope = dict(scope)
                    scope["path"] = f"/t/{tenant.name}{scope['path']}"
                    scope["raw_path"] = scope["path"].encode()
                    scope["keystead.custom_domain"] = host
        await self.app(scope, receive, send)

    def _tenant(self, host: str) -> Tenant | None:
        now = time.monotonic()
        hit = self.cache.get(host)
        if hit is not None and now - hit[0] < 5.0:
            return hit[1]
        tenant = self.lookup(host)
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[host] = (now, tenant)
        return tenant


class AccessLog:
    """One JSON line per request: no query strings, no interaction handles, no bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    orjson.dumps(
                        {
                            "method": scope["method"],
                            "path": _SECRET_SEGMENT.sub("/interaction/***", scope["path"]),
                            "status": status,
                            "ms": round((time.perf_counter() - start) * 1000, 2),
                        }
                    ).decode()
                )


def _host(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return str(value.decode("latin-1").rsplit(":", 1)[0].lower())
    return ""


_OAUTH_413 = b'{"error":"invalid_request","error_description":"request body too large"}'
_PROBLEM_413 = (
    b'{"type":"https://keystead.dev/problems/payload-too-large","title":"Payload Too Large",'
    b'"status":413,"detail":"request body too large"}'
)


async def _too_large(scope: Scope, send: Send) -> None:
    """413 in the wire format of the path: RFC 9457 on the admin API, RFC 6749 elsewhere."""
    if scope["path"].startswith("/admin/api/"):
        await _plain(send, 413, _PROBLEM_413, b"application/problem+json")
    else:
        await _plain(send, 413, _OAUTH_413)


async def _plain(send: Send, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    headers: list[Any] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
