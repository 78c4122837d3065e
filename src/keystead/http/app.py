"""The ASGI app factory: routes, middleware and the wired services."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from keystead.config import Settings, load_settings
from keystead.http import oidc
from keystead.http.admin import PREFIX as ADMIN_PREFIX
from keystead.http.admin import create_admin_app
from keystead.http.middleware import AccessLog, BodyLimit, CustomDomains, SecurityHeaders
from keystead.http.responses import json_response
from keystead.web import account, assets, console, outbox, pages, passkey_pages, password_reset, unlock
from keystead.web import logout as logout_pages
from keystead.web.render import STATIC
from keystead.wiring import Keystead, build


def tenant_routes(*, dev: bool = False) -> list[BaseRoute]:
    dev_routes = (
        [
            Route("/dev/callback", assets.dev_callback, methods=["GET"]),
            Route("/dev/outbox", outbox.outbox, methods=["GET"]),
        ]
        if dev
        else []
    )
    return [
        *dev_routes,
        Route("/.well-known/openid-configuration", oidc.discovery, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", oidc.discovery, methods=["GET"]),
        Route("/jwks", oidc.jwks, methods=["GET"]),
        Route("/authorize", oidc.authorize, methods=["GET", "POST"]),
        Route("/token", oidc.token, methods=["POST"]),
        Route("/userinfo", oidc.userinfo, methods=["GET", "POST"]),
        Route("/introspect", oidc.introspect, methods=["POST"]),
        Route("/revoke", oidc.revoke, methods=["POST"]),
        Route("/logout", logout_pages.end_session, methods=["GET", "POST"]),
        Route("/interaction/{handle}", pages.interaction, methods=["GET", "POST"]),
        Route("/interaction/{handle}/totp.svg", pages.interaction_qr, methods=["GET"]),
        Route("/interaction/{handle}/passkey/options", passkey_pages.options, methods=["POST"]),
        Route("/interaction/{handle}/email-link", pages.interaction_email_link, methods=["GET"]),
        Route("/interaction/{handle}/password-reset", password_reset.done, methods=["GET"]),
        Route("/unlock", unlock.unlock, methods=["GET", "POST"]),
        Route("/forgot-password", password_reset.forgot, methods=["GET", "POST"]),
        Route("/reset-password", password_reset.reset, methods=["GET", "POST"]),
        Route("/branding.css", assets.branding_css, methods=["GET"]),
        Mount("/console", routes=console.routes()),
        Route("/account", account.pages.home, methods=["GET"]),
        Mount("/account", routes=account.routes()),
    ]


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


def _admin_mount(keystead: Keystead) -> Mount:
    """The admin API's mount. Starlette's pattern is ``.*`` without DOTALL, so a ``%0A`` in a path
    parameter would escape the admin app (a plain 404 before the token is checked): match
    everything under the prefix, newlines included."""
    mount = Mount(ADMIN_PREFIX, app=create_admin_app(keystead))
    mount.path_regex = re.compile(rf"^{re.escape(ADMIN_PREFIX)}/(?P<path>.*)\Z", re.DOTALL)
    return mount


def _lifespan(keystead: Keystead) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Services run in this pool; more threads than requests the CPU and database can serve
        # at once only add GIL and lock contention.
        to_thread.current_default_thread_limiter().total_tokens = keystead.settings.server.threads
        yield
        keystead.close()

    return lifespan


def create_app(keystead: Keystead | None = None, settings: Settings | None = None) -> Starlette:
    if keystead is None:
        settings = settings or load_settings()
        keystead = build(settings, migrate=settings.is_dev)
    cfg = keystead.settings
    app = Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            # RFC 8414 section 3.1: for an issuer with a path, the well-known part goes before it
            Route("/.well-known/oauth-authorization-server/t/{tenant}", oidc.discovery, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Mount("/t/{tenant}", routes=tenant_routes(dev=cfg.is_dev)),
            _admin_mount(keystead),
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders, https=cfg.server.base_url.startswith("https://")),
            Middleware(BodyLimit, limit=cfg.server.max_body_bytes),
            Middleware(CustomDomains, base_url=cfg.server.base_url, lookup=keystead.tenants.find_by_domain),
        ],
        lifespan=_lifespan(keystead),
    )
    app.state.keystead = keystead
    return app
