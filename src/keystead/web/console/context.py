"""Who is signed in to the console and which tenant they manage, checked on every request.

A request is served only if its console cookie opens (sealed for this tenant, within the idle and
absolute timeouts), the SSO session it names is still live, and its user is still active and an
``admin`` of the tenant whose console this is. The managed tenant is in the path: a tenant admin
may manage only their own tenant (any other name, existing or not, is a 403); an admin of the
platform tenant may manage every active tenant. Every POST must carry the session's CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.errors import NotFound
from keystead.http.requests import TenantContext, app_of, client_ip, decode_params, tenant_context
from keystead.ports.records import Tenant, User
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.services.audit import Actor
from keystead.services.console_access import CONSOLE_CLIENT_ID, is_admin
from keystead.types import Params
from keystead.web.console import render
from keystead.web.console.session import (
    ABSOLUTE_TIMEOUT,
    FLASH_COOKIE,
    FLASH_TIMEOUT,
    SESSION_COOKIE,
    ConsoleSession,
    csrf_for,
    csrf_matches,
    open_session,
    seal,
    seal_session,
    unseal,
)
from keystead.web.pages import not_found
from keystead.web.sealed import clear_cookie as clear_console_cookie
from keystead.web.sealed import set_cookie as set_console_cookie
from keystead.wiring import Keystead

log = logging.getLogger("keystead.console")
FORM_TYPE = "application/x-www-form-urlencoded"
COOKIE_REFRESH = 30  # seconds between re-sealing the session cookie with a new last_seen


@dataclass
class Console:
    """One console request of a signed-in administrator."""

    request: Request
    app: Keystead
    home: TenantContext  # the tenant whose console this is (the administrator's own)
    admin: User
    session: ConsoleSession
    target: Tenant  # the tenant being managed
    platform: bool
    form: Params
    flash: dict[str, Any] | None = None
    ended: bool = False  # signed out: the session cookie is not refreshed
    _flash_out: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"{self.home.base_path}/console"

    @property
    def tbase(self) -> str:
        """URL prefix of the managed tenant's pages."""
        return f"{self.base}/tenants/{quote(self.target.name)}"

    @property
    def csrf(self) -> str:
        return csrf_for(self.app.ring, self.home.tenant.id, self.session)

    @property
    def actor(self) -> Actor:
        return Actor(self.admin.id, CONSOLE_CLIENT_ID, client_ip(self.request))

    def value(self, name: str, *, max_length: int = 2048) -> str:
        """A form field (stripped; empty when absent); one value only."""
        values = self.form.get(name) or []
        if len(values) > 1:
            raise InvalidRequest(f"{name} is sent more than once")
        value = values[0] if values else ""
        if len(value) > max_length:
            raise InvalidRequest(f"{name} is too long")
        return value.strip()

    def query(self, name: str, *, max_length: int = 1024) -> str:
        value = self.request.query_params.get(name, "")
        return value[:max_length].strip()

    def say(self, text: str, *, kind: str = "success", **extra: Any) -> None:
        """A message for the next page (after a redirect)."""
        self._flash_out = {"kind": kind, "text": text, **extra}

    def redirect(self, path: str) -> Response:
        return RedirectResponse(path, status_code=303)

    def switchable_tenants(self) -> Sequence[Tenant]:
        return self.app.tenants.page(limit=200, status="active") if self.platform else ()


Handler = Callable[[Console], Response]


def console_route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint of the console: authenticate, authorize, check CSRF, run ``handler``."""

    async def endpoint(request: Request) -> Response:
        form: Params = {}
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            try:
                if content_type != FORM_TYPE:
                    raise InvalidRequest("a form is expected")
                form = decode_params(await request.body())
            except InvalidRequest:
                form = {"__invalid__": ["1"]}
        return await run_in_threadpool(_serve, request, form, handler)

    return endpoint


def _serve(request: Request, form: Params, handler: Handler) -> Response:
    home = tenant_context(request)
    if home is None:
        return not_found(request)
    app = app_of(request)
    now = app.clock()
    base = f"{home.base_path}/console"
    session = open_session(app.ring, home.tenant.id, request.cookies.get(SESSION_COOKIE), now)
    admin = _live_admin(app, home, session)
    if session is None or admin is None:
        return _to_sign_in(request, home, base)
    target, platform = _target(app, home, admin, request.path_params.get("target"))
    if target is None:
        c = Console(request, app, home, admin, session, home.tenant, platform, form)
        return refused(c, "You cannot manage this tenant", "Your account administers another tenant.", 403)
    c = Console(request, app, home, admin, session, target, platform, form)
    c.flash = _take_flash(app, home.tenant.id, session, request)
    if request.method == "POST" and (
        "__invalid__" in form or not csrf_matches(app.ring, home.tenant.id, session, c.value("csrf_token"))
    ):
        return refused(
            c,
            "This form has expired",
            "The form was not sent from this console or is too old. Go back, reload the page and try again.",
            403,
        )
    try:
        response = handler(c)
    except NotFound:
        response = refused(c, "Not found", "There is nothing here. It may have been deleted.", 404)
    except InvalidRequest as exc:
        response = refused(c, "This request is not valid", exc.description, 400)
    except Exception:
        log.exception("unexpected error in the admin console")
        response = refused(
            c,
            "Something went wrong",
            "The request could not be completed. Check the page, then try again.",
            500,
        )
    _finish(c, response, now)
    return response


def _live_admin(app: Keystead, home: TenantContext, session: ConsoleSession | None) -> User | None:
    if session is None:
        return None
    sso = app.sessions.find(home.tenant.id, session.sso_session_id)
    if sso is None or sso.user_id != session.user_id:
        return None
    user = app.storage.user_by_id(home.tenant.id, session.user_id)
    return user if is_admin(user) else None


def _target(app: Keystead, home: TenantContext, admin: User, name: str | None) -> tuple[Tenant | None, bool]:
    platform = home.tenant.name == app.settings.admin.platform_tenant
    if name is None or name == home.tenant.name:
        return home.tenant, platform
    if not platform or len(name) > 63:
        return None, platform
    return app.tenants.find_active(name), platform


def _to_sign_in(request: Request, home: TenantContext, base: str) -> Response:
    path = request.url.path if request.method == "GET" else f"{base}/"
    if request.scope.get("keystead.custom_domain"):  # the path was rewritten to /t/{tenant}/...
        path = path.removeprefix(f"/t/{home.tenant.name}")
    target = f"{base}/signin?next={quote(path, safe='/')}"
    response: Response
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    clear_console_cookie(request, response, SESSION_COOKIE, path=base)
    return response


def refused(c: Console, title: str, message: str, status: int) -> Response:
    return render.page(c, "console/refused.html", section="", title=title, status=status, message=message)


def _take_flash(
    app: Keystead, tenant_id: str, session: ConsoleSession, request: Request
) -> dict[str, Any] | None:
    data = unseal(app.ring, "flash", tenant_id, request.cookies.get(FLASH_COOKIE))
    if data is None or data.get("for") != session.csrf_seed:
        return None
    if app.clock() - float(data.get("at", 0)) > FLASH_TIMEOUT:
        return None
    return data


def _finish(c: Console, response: Response, now: float) -> None:
    if c._flash_out is not None:
        data = {**c._flash_out, "for": c.session.csrf_seed, "at": now}
        value = seal(c.app.ring, "flash", c.home.tenant.id, data)
        set_console_cookie(c.request, response, FLASH_COOKIE, value, path=c.base, max_age=FLASH_TIMEOUT)
    elif c.flash is not None and response.status_code < 300:
        clear_console_cookie(c.request, response, FLASH_COOKIE, path=c.base)
    if not c.ended and now - c.session.last_seen >= COOKIE_REFRESH:
        fresh = replace(c.session, last_seen=now)
        set_console_cookie(
            c.request,
            response,
            SESSION_COOKIE,
            seal_session(c.app.ring, c.home.tenant.id, fresh),
            path=c.base,
            max_age=int(c.session.started_at + ABSOLUTE_TIMEOUT - now) + 1,
        )


def to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
