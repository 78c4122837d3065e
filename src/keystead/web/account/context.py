"""Who is signed in to the account page, checked on every request: the ``ks_account`` cookie
opens (sealed for this tenant, within its lifetime), the SSO session it names is still live and
its user active; every POST carries the session's CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.http.requests import FORM_TYPE, TenantContext, app_of, client_ip, decode_params, tenant_context
from keystead.ports.records import User
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.services.account_access import ACCOUNT_CLIENT_ID
from keystead.services.audit import Actor
from keystead.types import Params
from keystead.web import passkey_pages
from keystead.web.account.auth import base_of
from keystead.web.account.session import SESSION_COOKIE, AccountSession, csrf_for, csrf_matches, open_session
from keystead.web.pages import not_found
from keystead.web.render import error_page, page
from keystead.wiring import Keystead


@dataclass
class Account:
    """One request of a signed-in user."""

    request: Request
    app: Keystead
    ctx: TenantContext
    user: User
    session: AccountSession
    form: Params

    @property
    def base(self) -> str:
        return base_of(self.ctx)

    @property
    def recent(self) -> bool:
        return self.session.recent(self.app.clock())

    @property
    def binding(self) -> str:
        return f"account:{self.session.sso_session_id}:{self.session.csrf_seed}"

    def audit(self, action: str, after: Any = None) -> None:
        actor = Actor(self.user.id, ACCOUNT_CLIENT_ID, client_ip(self.request))
        self.app.audit.record(self.ctx.tenant.id, actor, action, self.user.id, after=after)

    def redirect(self, notice: str | None = None) -> Response:
        return RedirectResponse(self.base + (f"?done={notice}" if notice else ""), status_code=303)

    def reauthenticate(self) -> Response:
        return RedirectResponse(f"{self.base}/signin?fresh=1&next={quote(self.base)}", status_code=303)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        csrf = csrf_for(self.app.ring, self.ctx.tenant.id, self.session)
        response = page(
            self.request,
            self.ctx,
            template,
            status,
            base=self.base,
            csrf_token=csrf,
            user=self.user,
            logout_url=f"{self.ctx.base_path}/logout",
            **context,
        )
        return passkey_pages.allow_fetch(response)


async def open_account(request: Request, *, post: bool) -> Account | Response:
    """The signed-in user of this request, or the response to send instead (sign in first, a
    refused CSRF token)."""
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    app = app_of(request)
    session = open_session(app.ring, ctx.tenant.id, request.cookies.get(SESSION_COOKIE), app.clock())
    user = await run_in_threadpool(_live_user, app, ctx, session)
    if session is None or user is None:
        if post:
            return error_page(
                request, ctx, InvalidRequest("you were signed out; open your account page again"), 401
            )
        return RedirectResponse(f"{base_of(ctx)}/signin", status_code=303)
    form: Params = {}
    if post:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            return error_page(
                request, ctx, InvalidRequest("the form must be application/x-www-form-urlencoded"), 415
            )
        form = decode_params(await request.body())
        if not csrf_matches(app.ring, ctx.tenant.id, session, single(form, "csrf_token", max_length=128)):
            return error_page(
                request,
                ctx,
                InvalidRequest("the form expired or was not sent from this site; go back and try again"),
                403,
            )
    return Account(request, app, ctx, user, session, form)


def _live_user(app: Keystead, ctx: TenantContext, session: AccountSession | None) -> User | None:
    if session is None:
        return None
    sso = app.sessions.find(ctx.tenant.id, session.sso_session_id)
    user = app.storage.user_by_id(ctx.tenant.id, session.user_id)
    if sso is None or sso.user_id != session.user_id or user is None or not user.active:
        return None
    return user
