"""The "Forgot your password?" pages (services/password_resets.py; docs/account-recovery.md).

``/forgot-password`` asks for the email or username and always answers with the same page and
status ("If an account exists, we sent a link"); past a send limit, the same 429 for any login.
``/reset-password?token=…`` shows the "choose a new password" form (opening it spends nothing:
mail scanners follow links); posting it with the CSRF token sets the password and spends the
link. A link that does not work (wrong, used, expired) gets the same clear page.

The login page links here with its interaction handle (``?interaction=…``), which travels in
the mailed link; after the reset the browser goes to ``/interaction/{handle}/password-reset``
(under the path of the interaction cookie), which offers to continue that sign-in only when this
browser holds it, else says to sign in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.errors import InvalidInput
from keystead.http.requests import TenantContext, app_of, client_ip, decode_params, tenant_context
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.services.email_sender import TooManyCodes
from keystead.services.one_time_codes import CodeRefused
from keystead.services.password_resets import PasswordResets
from keystead.services.tenant_settings import LoginMethod
from keystead.web.email_pages import too_many
from keystead.web.render import (
    INTERACTION_COOKIE,
    apply_cookies,
    csrf_ok,
    csrf_token,
    error_page,
    page,
    render_unbranded,
)

INVALID = (
    "This password reset link has expired or was already used. Ask for a new one from the "
    "sign-in page (\u201cForgot your password?\u201d)."
)
CSRF_FAILED = "the form expired or was not sent from this site; go back and try again"
MISMATCH = "The two passwords are not the same."
#: An interaction handle as the authorization service makes them (url-safe random text).
_HANDLE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def offered(request: Request, ctx: TenantContext) -> bool:
    """The login page links here when the tenant signs in with passwords."""
    return LoginMethod.PASSWORD in app_of(request).tenant_settings.get(ctx.tenant).login_methods


def link_from_login(ctx: TenantContext, handle: str) -> str:
    return f"{ctx.base_path}/forgot-password?interaction={quote(handle)}"


def _resets(request: Request) -> PasswordResets:
    resets = app_of(request).messaging.password_resets
    assert resets is not None
    return resets


def _handle(value: str | None) -> str:
    return value if value and _HANDLE.match(value) else ""


async def forgot(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return render_unbranded("error.html", 404, title="Page not found", error="not_found", status_code=404)
    if not offered(request, ctx):
        return error_page(
            request, ctx, InvalidRequest("this organization does not sign in with passwords"), 404
        )
    cookies: dict[str, str] = {}
    token = csrf_token(request, ctx, cookies)
    action = f"{ctx.base_path}/forgot-password"
    if request.method == "GET":
        handle = _handle(request.query_params.get("interaction"))
        response: Response = _ask(request, ctx, action, token, handle)
        return apply_cookies(request, ctx, response, cookies)
    form = decode_params(await request.body())
    if not csrf_ok(request, ctx, single(form, "csrf_token", max_length=128)):
        return error_page(request, ctx, InvalidRequest(CSRF_FAILED), 403)
    handle = _handle(single(form, "interaction", max_length=128))
    login = (single(form, "login", max_length=320) or "").strip()
    link = f"{ctx.issuer.url}/reset-password?token={{token}}"
    if handle:
        link += f"&interaction={quote(handle)}"
    try:
        await run_in_threadpool(_resets(request).request, ctx.tenant.id, login, client_ip(request), link=link)
    except TooManyCodes as exc:
        response = _ask(request, ctx, action, token, handle, login=login, error=too_many(exc), status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return page(request, ctx, "forgot_password.html", sent=True, minutes=_resets(request).minutes)


def _ask(
    request: Request, ctx: TenantContext, action: str, token: str, handle: str, **extra: Any
) -> Response:
    back = f"{ctx.base_path}/interaction/{quote(handle)}" if handle else None
    return page(
        request,
        ctx,
        "forgot_password.html",
        extra.pop("status", 200),
        action=action,
        csrf_token=token,
        interaction=handle,
        back=back,
        **extra,
    )


async def reset(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return render_unbranded("error.html", 404, title="Page not found", error="not_found", status_code=404)
    cookies: dict[str, str] = {}
    csrf = csrf_token(request, ctx, cookies)
    action = f"{ctx.base_path}/reset-password"
    if request.method == "GET":
        link = request.query_params.get("token", "")[:256]
        handle = _handle(request.query_params.get("interaction"))
        try:
            await run_in_threadpool(_resets(request).check, ctx.tenant.id, link)
        except CodeRefused:
            return _invalid(request, ctx)
        response: Response = _choose(request, ctx, action, csrf, link, handle)
        return apply_cookies(request, ctx, response, cookies)
    form = decode_params(await request.body())
    link = single(form, "token", max_length=256) or ""
    handle = _handle(single(form, "interaction", max_length=128))
    if not csrf_ok(request, ctx, single(form, "csrf_token", max_length=128)):
        return error_page(request, ctx, InvalidRequest(CSRF_FAILED), 403)
    password = single(form, "password", max_length=1024) or ""
    if password != (single(form, "confirm", max_length=1024) or ""):
        return _choose(request, ctx, action, csrf, link, handle, error=MISMATCH, status=400)
    try:
        await run_in_threadpool(_resets(request).complete, ctx.tenant.id, link, password, client_ip(request))
    except CodeRefused:
        return _invalid(request, ctx)
    except InvalidInput as invalid:
        error = f"Choose another password: {invalid}."
        return _choose(request, ctx, action, csrf, link, handle, error=error, status=400)
    if handle:  # under the interaction's path, where its cookie (if this browser has it) is sent
        return RedirectResponse(f"{ctx.base_path}/interaction/{quote(handle)}/password-reset", 303)
    return page(request, ctx, "reset_password.html", done=True, resume=None)


async def done(request: Request) -> Response:
    """After a reset from a sign-in: offer to continue it in the browser that holds it."""
    ctx = tenant_context(request)
    if ctx is None:
        return render_unbranded("error.html", 404, title="Page not found", error="not_found", status_code=404)
    handle = request.path_params["handle"]
    here = request.cookies.get(INTERACTION_COOKIE) == handle
    resume = f"{ctx.base_path}/interaction/{quote(handle)}" if here else None
    return page(request, ctx, "reset_password.html", done=True, resume=resume)


def _choose(
    request: Request,
    ctx: TenantContext,
    action: str,
    csrf: str,
    link: str,
    handle: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        ctx,
        "reset_password.html",
        status,
        action=action,
        csrf_token=csrf,
        token=link,
        interaction=handle,
        error=error,
    )


def _invalid(request: Request, ctx: TenantContext) -> Response:
    return page(
        request,
        ctx,
        "error.html",
        400,
        title="This password reset link does not work",
        error="invalid_request",
        description=INVALID,
        status_code=400,
    )
