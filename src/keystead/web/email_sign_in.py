"""Passwordless sign-in by email on the login step (services/email_sign_in.py): the address
form (``?method=email``), the "check your email" page with the code form, and the sign-in link.

Every answer to the address form is the same page and status whether or not an account has the
address. The link carries the interaction handle in its path, so the browser sends the
interaction cookie with it; it works only where that cookie is (the browser that started the
sign-in). Opened elsewhere it spends nothing and explains what to do (open it in the first
browser, or type the code from the same email there).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.flows.stages import FlowState
from keystead.http.requests import TenantContext, app_of, client_ip
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.services.authorization import PendingInteraction
from keystead.services.email_flow import EMAIL_CODE_AMR
from keystead.services.email_sender import TooManyCodes
from keystead.services.one_time_codes import CodeRefused
from keystead.services.tenant_settings import LoginMethod
from keystead.types import Params
from keystead.web.email_pages import SPENT, too_many
from keystead.web.render import error_page, page

START, CODE = "email_start", "email_code"
METHODS = (START, CODE)
CODE_ERROR = "That code is not valid. Check the code and try again."
PASSWORD_OFF = "Sign in with your email address."
LINK_INVALID = (
    "The sign-in link has expired or was already used. Go back to the sign-in page and ask for a new one."
)
LINK_ELSEWHERE = (
    "This sign-in link works only in the browser where you started signing in. Open it there, "
    "or type the code from the same email on that sign-in page."
)


def methods(request: Request, ctx: TenantContext) -> tuple[bool, bool]:
    """(code, link): which passwordless email methods the tenant's login methods allow."""
    allowed = app_of(request).tenant_settings.get(ctx.tenant).login_methods
    return LoginMethod.EMAIL_CODE in allowed, LoginMethod.EMAIL_LINK in allowed


def offer(request: Request, ctx: TenantContext) -> str | None:
    """The login page's link to sign in by email, if the tenant allows it."""
    code, link = methods(request, ctx)
    if link:
        return "Email me a sign-in link"
    return "Email me a sign-in code" if code else None


def email_only(request: Request, ctx: TenantContext) -> bool:
    """The tenant allows signing in by email and not by password: the login step is the address
    form, and a password form posted anyway is refused."""
    allowed = app_of(request).tenant_settings.get(ctx.tenant).login_methods
    return LoginMethod.PASSWORD not in allowed and any(methods(request, ctx))


def wanted(request: Request, ctx: TenantContext) -> bool:
    return (request.query_params.get("method") == "email" and any(methods(request, ctx))) or email_only(
        request, ctx
    )


def show(
    request: Request,
    ctx: TenantContext,
    state: PendingInteraction,
    action: str,
    csrf_token: str,
    *,
    error: str | None = None,
    status: int = 200,
    login: str = "",
) -> Response:
    code, link = methods(request, ctx)
    return page(
        request,
        ctx,
        "email_sign_in.html",
        status,
        action=action,
        csrf_token=csrf_token,
        client_name=state.client.name,
        error=error,
        login=login or state.request.login_hint or "",
        email_code=code,
        email_link=link,
        password_allowed=not email_only(request, ctx),
    )


async def submit(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params, csrf_token: str
) -> FlowState | Response:
    """The address form (sends) or the code form (signs in: the new flow state)."""
    code_allowed, link_allowed = methods(request, ctx)
    if not (code_allowed or link_allowed):
        return error_page(request, ctx, InvalidRequest("signing in by email is not enabled"))
    app = app_of(request)
    action = f"{ctx.base_path}/interaction/{quote(state.handle)}"
    login = (single(form, "login", max_length=320) or "").strip()
    method = single(form, "method", max_length=16)
    if method not in METHODS:  # a password form in a tenant that signs in by email only
        return show(request, ctx, state, action, csrf_token, error=PASSWORD_OFF, status=400)
    if method == START:
        link_base = (
            f"{ctx.issuer.url}/interaction/{quote(state.handle)}/email-link?token=" if link_allowed else None
        )
        try:
            challenge = await run_in_threadpool(
                app.messaging.email_sign_in.start,
                ctx.tenant.id,
                login,
                state.handle,
                code=code_allowed,
                link_base=link_base,
            )
        except TooManyCodes as exc:
            response = show(
                request, ctx, state, action, csrf_token, error=too_many(exc), status=429, login=login
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return _sent(request, ctx, state, action, csrf_token, login, challenge)
    challenge = single(form, "challenge", max_length=64) or ""
    code = single(form, "code", max_length=64) or ""
    try:
        user = await run_in_threadpool(
            app.messaging.email_sign_in.finish_code, ctx.tenant.id, challenge, code, state.handle
        )
    except CodeRefused as refused:
        await _record(request, ctx, None, "email_code", accepted=False)
        message = SPENT if refused.spent else CODE_ERROR
        return _sent(request, ctx, state, action, csrf_token, login, challenge, error=message, status=400)
    await _record(request, ctx, user.id, "email_code", accepted=True)
    return FlowState(user.id, app.clock(), amr=EMAIL_CODE_AMR)


async def follow_link(
    request: Request, ctx: TenantContext, state: PendingInteraction
) -> FlowState | Response:
    """The sign-in link, opened in the browser holding the interaction (checked by the caller)."""
    app = app_of(request)
    token = request.query_params.get("token", "")[:256]
    if not methods(request, ctx)[1]:
        return error_page(request, ctx, InvalidRequest("signing in by email link is not enabled"))
    try:
        user = await run_in_threadpool(
            app.messaging.email_sign_in.finish_link, ctx.tenant.id, token, state.handle
        )
    except CodeRefused:
        await _record(request, ctx, None, "email_link", accepted=False)
        return error_page(request, ctx, InvalidRequest(LINK_INVALID))
    await _record(request, ctx, user.id, "email_link", accepted=True)
    return FlowState(user.id, app.clock(), amr=EMAIL_CODE_AMR)


async def _record(
    request: Request, ctx: TenantContext, user_id: str | None, method: str, *, accepted: bool
) -> None:
    """The ``signin.passwordless.*`` audit event (services/signin_events.py)."""
    events = app_of(request).signin_events
    await run_in_threadpool(
        events.passwordless, ctx.tenant.id, user_id, client_ip(request), method=method, accepted=accepted
    )


def elsewhere(request: Request, ctx: TenantContext) -> Response:
    return page(
        request,
        ctx,
        "error.html",
        400,
        title="Open this link where you started signing in",
        error="invalid_request",
        description=LINK_ELSEWHERE,
        status_code=400,
    )


def _sent(
    request: Request,
    ctx: TenantContext,
    state: PendingInteraction,
    action: str,
    csrf_token: str,
    login: str,
    challenge: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    code, link = methods(request, ctx)
    return page(
        request,
        ctx,
        "email_code.html",
        status,
        action=action,
        csrf_token=csrf_token,
        client_name=state.client.name,
        error=error,
        login=login,
        challenge=challenge,
        email_code=code,
        email_link=link,
        minutes=app_of(request).messaging.sender.minutes,
        password_allowed=not email_only(request, ctx),
    )
