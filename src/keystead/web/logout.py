"""RP-initiated logout: the confirmation page and the end of the SSO session."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.http.requests import TenantContext, app_of, decode_params, query_params, tenant_context
from keystead.protocols.oauth2.errors import InvalidRequest, OAuth2Error, ServerError
from keystead.protocols.oauth2.params import single
from keystead.services.logout import LogoutRequest
from keystead.web.pages import current_session, not_found
from keystead.web.render import (
    SESSION_COOKIE,
    apply_cookies,
    csrf_ok,
    csrf_token,
    error_page,
    page,
)

log = logging.getLogger("keystead.web")


async def end_session(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    app = app_of(request)
    try:
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                raise InvalidRequest("the form must be application/x-www-form-urlencoded")
            params = decode_params(await request.body())
        else:
            params = query_params(request)
        logout = await run_in_threadpool(app.logout.parse, ctx.issuer, params)
        session = await current_session(request, ctx)
        decision = single(params, "decision", max_length=16) if request.method == "POST" else None
        if session is None:
            return _done(request, ctx, logout)
        if decision is None:
            cookies: dict[str, str] = {}
            confirm = page(
                request,
                ctx,
                "logout.html",
                action=f"{ctx.base_path}/logout",
                csrf_token=csrf_token(request, ctx, cookies),
                client_name=logout.client.name if logout.client else None,
                hidden_fields=logout.hidden_fields(),
            )
            return apply_cookies(request, ctx, confirm, cookies)
        if not csrf_ok(request, ctx, single(params, "csrf_token", max_length=128)):
            return error_page(request, ctx, InvalidRequest("the form expired; go back and try again"), 403)
        if decision == "stay":
            return _done(request, ctx, logout)
        await run_in_threadpool(app.sessions.end, session)
        response = _done(request, ctx, logout)
        response.delete_cookie(SESSION_COOKIE, path=ctx.base_path or "/")
        return response
    except OAuth2Error as exc:
        return error_page(request, ctx, exc)
    except Exception:
        log.exception("unexpected error at the end-session endpoint")
        return error_page(request, ctx, ServerError("unexpected error"), 500)


def _done(request: Request, ctx: TenantContext, logout: LogoutRequest) -> Response:
    location = logout.location()
    if location is not None:
        return RedirectResponse(location, status_code=303)
    return page(request, ctx, "logged_out.html")
