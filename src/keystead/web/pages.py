"""The authorization endpoint's browser side and the hosted pages of an interaction."""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.flows.stages import STAGES, FlowState
from keystead.http.requests import (
    TenantContext,
    app_of,
    client_ip,
    decode_params,
    query_params,
    tenant_context,
)
from keystead.ports.records import Session
from keystead.protocols.oauth2.errors import InvalidRequest, OAuth2Error, ServerError
from keystead.protocols.oauth2.params import single
from keystead.protocols.oidc import claims as oidc_claims
from keystead.protocols.oidc import prompt
from keystead.services.authorization import PendingInteraction
from keystead.services.login import LoginFailed
from keystead.services.outcomes import ErrorPage, Outcome, ToClient, ToInteraction
from keystead.types import Params
from keystead.web import bot_pages, email_sign_in, flow_pages, passkey_pages, password_reset, risk_pages
from keystead.web.render import (
    INTERACTION_COOKIE,
    SESSION_COOKIE,
    apply_cookies,
    csrf_ok,
    csrf_token,
    error_page,
    page,
    render_unbranded,
    set_cookie,
)

log = logging.getLogger("keystead.web")
GENERIC_LOGIN_ERROR = "The username or password is incorrect."


def not_found(request: Request) -> Response:
    """A styled 404 for an unknown or disabled tenant (there is no tenant to brand it with)."""
    return render_unbranded(
        "error.html",
        404,
        title="Page not found",
        error="not_found",
        status_code=404,
        description="There is nothing at this address. Check the link you followed.",
    )


async def authorize(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    try:
        params = await _authorize_params(request)
        session = await current_session(request, ctx)
        outcome = await run_in_threadpool(app_of(request).authorization.start, ctx.issuer, params, session)
    except OAuth2Error as exc:
        return error_page(request, ctx, exc)
    except Exception:
        log.exception("unexpected error at the authorization endpoint")
        return error_page(request, ctx, ServerError("unexpected error"), 500)
    return _render_outcome(request, ctx, outcome)


async def _authorize_params(request: Request) -> Params:
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise InvalidRequest("the request body must be application/x-www-form-urlencoded")
        return decode_params(await request.body())
    return query_params(request)


async def current_session(request: Request, ctx: TenantContext) -> Session | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    return await run_in_threadpool(app_of(request).sessions.current, ctx.tenant.id, value)


def _render_outcome(request: Request, ctx: TenantContext, outcome: Outcome | PendingInteraction) -> Response:
    if isinstance(outcome, ErrorPage):
        return error_page(request, ctx, outcome.error)
    if isinstance(outcome, ToInteraction):
        path = f"{ctx.base_path}/interaction/{outcome.handle}"
        response: Response = RedirectResponse(path, status_code=303)
        set_cookie(
            request,
            response,
            INTERACTION_COOKIE,
            outcome.handle,
            path=path,
            max_age=app_of(request).settings.tokens.interaction_ttl,
        )
        return response
    if isinstance(outcome, ToClient):
        return _to_client(request, ctx, outcome)
    raise TypeError(f"not an outcome: {outcome!r}")


def _to_client(request: Request, ctx: TenantContext, outcome: ToClient) -> Response:
    response = outcome.response
    if response.response_mode == "form_post":
        return page(request, ctx, "form_post.html", action=response.redirect_uri, fields=response.params)
    return RedirectResponse(response.location(), status_code=303)


# interaction pages
async def interaction(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    handle = request.path_params["handle"]
    if request.cookies.get(INTERACTION_COOKIE) != handle:
        return error_page(
            request,
            ctx,
            InvalidRequest(
                "this sign-in request belongs to another browser or has expired; start again from the application"
            ),
        )
    try:
        if request.method == "POST":
            return await _submit(request, ctx, handle)
        session = await current_session(request, ctx)
        state = await run_in_threadpool(app_of(request).authorization.pending, ctx.issuer, handle, session)
        return await _show(request, ctx, await _with_user(request, ctx, state, session))
    except OAuth2Error as exc:
        return error_page(request, ctx, exc)
    except Exception:
        log.exception("unexpected error in an interaction")
        return error_page(request, ctx, ServerError("unexpected error"), 500)


async def interaction_qr(request: Request) -> Response:
    """The QR code of the authenticator app being set up in this interaction."""
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    try:
        return await flow_pages.totp_qr(request, ctx, request.path_params["handle"])
    except OAuth2Error as exc:
        return error_page(request, ctx, exc)


async def interaction_email_link(request: Request) -> Response:
    """A passwordless sign-in link (web/email_sign_in.py): only in the browser that started it."""
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    handle = request.path_params["handle"]
    if request.cookies.get(INTERACTION_COOKIE) != handle:
        return email_sign_in.elsewhere(request, ctx)
    try:
        session = await current_session(request, ctx)
        state = await run_in_threadpool(app_of(request).authorization.pending, ctx.issuer, handle, session)
        if not isinstance(state, PendingInteraction) or state.step != prompt.LOGIN:
            return await _show(request, ctx, state)
        result = await email_sign_in.follow_link(request, ctx, state)
        if isinstance(result, FlowState):
            return await _advance(request, ctx, state, result)
        return result
    except OAuth2Error as exc:
        return error_page(request, ctx, exc)


async def _show(
    request: Request,
    ctx: TenantContext,
    state: PendingInteraction | Outcome,
    *,
    error: str | None = None,
    status: int = 200,
    login_hint: str | None = None,
) -> Response:
    if not isinstance(state, PendingInteraction):
        return _render_outcome(request, ctx, state)
    cookies: dict[str, str] = {}
    token = csrf_token(request, ctx, cookies)
    action = f"{ctx.base_path}/interaction/{quote(state.handle)}"
    if state.step in STAGES:
        # a stage page may read and write (the pending TOTP enrolment): off the event loop
        response = await run_in_threadpool(
            flow_pages.show, request, ctx, state, action, token, error=error, status=status
        )
    elif state.step == prompt.LOGIN and email_sign_in.wanted(request, ctx):
        response = email_sign_in.show(request, ctx, state, action, token, error=error, status=status)
    elif state.step == prompt.LOGIN:
        bot = await run_in_threadpool(bot_pages.challenge, request, ctx)  # the bot check, if due
        response = page(
            request,
            ctx,
            "login.html",
            status,
            action=action,
            csrf_token=token,
            login_hint=login_hint if login_hint is not None else (state.request.login_hint or ""),
            error=error,
            client_name=state.client.name,
            passkey_options_url=f"{action}/passkey/options",
            bot=bot,
            email_sign_in=email_sign_in.offer(request, ctx),
            forgot_password_url=(
                password_reset.link_from_login(ctx, state.handle)
                if password_reset.offered(request, ctx)
                else None
            ),
        )
        passkey_pages.allow_fetch(response)
        if (own_csp := bot_pages.page_csp(bot)) is not None:  # a provider's widget: its origins too
            response.headers["Content-Security-Policy"] = own_csp
    else:
        response = page(
            request,
            ctx,
            "consent.html",
            status,
            action=action,
            csrf_token=token,
            client_name=state.client.name,
            client_uri=state.client.client_uri,
            user_display=_user_display(request, ctx, state),
            scopes=[
                {"name": s, "description": oidc_claims.SCOPE_DESCRIPTIONS.get(s, s)}
                for s in state.request.scopes
            ],
        )
    response.headers["Cache-Control"] = "no-store"
    return apply_cookies(request, ctx, response, cookies)


def _user_display(request: Request, ctx: TenantContext, state: PendingInteraction) -> str:
    user = state.user
    if user is None:
        return "your account"
    return f"{user.name} ({user.username})" if user.name else user.username


async def _with_user(
    request: Request, ctx: TenantContext, state: PendingInteraction | Outcome, session: Session | None
) -> PendingInteraction | Outcome:
    """Attach the signed-in user to a consent step, for the page to name them."""
    if not isinstance(state, PendingInteraction) or state.user is not None:
        return state
    user_id = state.record.user_id or (session.user_id if session else None)
    if user_id is None:
        return state
    user = await run_in_threadpool(app_of(request).tokens.user_for, ctx.tenant.id, user_id)
    return replace(state, user=user)


async def _submit(request: Request, ctx: TenantContext, handle: str) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("the form must be application/x-www-form-urlencoded")
    form = decode_params(await request.body())
    if not csrf_ok(request, ctx, single(form, "csrf_token", max_length=128)):
        return error_page(
            request,
            ctx,
            InvalidRequest("the form expired or was not sent from this site; go back and try again"),
            403,
        )
    app = app_of(request)
    session = await current_session(request, ctx)
    state = await run_in_threadpool(app.authorization.pending, ctx.issuer, handle, session)
    if not isinstance(state, PendingInteraction):
        return _render_outcome(request, ctx, state)
    if state.step == prompt.LOGIN:
        return await _submit_login(request, ctx, state, form)
    if state.step in STAGES:
        answer = await flow_pages.respond(request, ctx, state, form)
        if isinstance(answer, flow_pages.Refused):
            response = await _show(request, ctx, answer.state, error=answer.message, status=answer.status)
            if answer.retry_after:
                response.headers["Retry-After"] = str(answer.retry_after)
            return response
        return await _advance(request, ctx, state, answer)
    decision = single(form, "decision", max_length=16)
    if decision not in ("allow", "deny"):
        raise InvalidRequest("choose allow or deny")
    outcome = await run_in_threadpool(
        app.authorization.consent, ctx.issuer, state, decision == "allow", session, ip=client_ip(request)
    )
    return await _show(request, ctx, await _with_user(request, ctx, outcome, session))


async def _submit_login(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> Response:
    if single(form, "method", max_length=16) in email_sign_in.METHODS:
        return await _submit_email_sign_in(request, ctx, state, form)
    app = app_of(request)
    if single(form, "method", max_length=16) == "passkey":  # passwordless (web/passkey_pages.py)
        flow = await passkey_pages.sign_in(request, ctx, state, form)
        if flow is None:
            return await _show(request, ctx, state, error=passkey_pages.PASSKEY_ERROR, status=400)
        return await _advance(request, ctx, state, flow)
    if email_sign_in.email_only(request, ctx):  # a password posted to an email-only tenant
        return await _submit_email_sign_in(request, ctx, state, form)
    username = single(form, "username", max_length=320) or ""
    password = single(form, "password", max_length=1024) or ""
    # the bot check comes first: a refusal checks no password and counts no attempt
    if (bot_refusal := await run_in_threadpool(bot_pages.refusal, request, ctx, form)) is not None:
        return await _show(request, ctx, state, error=bot_refusal, status=400, login_hint=username)
    tenant_settings = app.tenant_settings.get(ctx.tenant)
    try:
        signed_in = await run_in_threadpool(
            app.login.sign_in,
            ctx.tenant.id,
            username,
            password,
            client_ip(request),
            tenant_settings.hash_params,
        )
    except LoginFailed as failed:
        message = GENERIC_LOGIN_ERROR
        if failed.retry_after:
            message = f"Too many attempts. Try again in {failed.retry_after} seconds."
        response = await _show(
            request,
            ctx,
            state,
            error=message,
            status=400 if not failed.retry_after else 429,
            login_hint=username,
        )
        if failed.retry_after:
            response.headers["Retry-After"] = str(failed.retry_after)
        return response
    flow = await risk_pages.after_password(request, ctx, state, signed_in)
    if flow is None:  # denied by the risk engine: the same answer as a wrong password
        return await _show(request, ctx, state, error=GENERIC_LOGIN_ERROR, status=400, login_hint=username)
    return await _advance(request, ctx, state, flow)


async def _submit_email_sign_in(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> Response:
    cookies: dict[str, str] = {}
    result = await email_sign_in.submit(request, ctx, state, form, csrf_token(request, ctx, cookies))
    if isinstance(result, FlowState):
        return await _advance(request, ctx, state, result)
    return apply_cookies(request, ctx, result, cookies)


async def _advance(
    request: Request, ctx: TenantContext, state: PendingInteraction, flow: FlowState
) -> Response:
    """Store the flow's progress; show its next stage, or, with none left, start the SSO
    session (with the flow's ``acr`` and ``amr``) and go on to consent or the client."""
    app = app_of(request)
    await run_in_threadpool(app.authorization.authenticated, ctx.issuer, state.handle, flow)
    stage = await run_in_threadpool(app.authorization.next_stage, ctx.issuer, state.handle, flow)
    if stage is not None:
        session = await current_session(request, ctx)
        pending = await run_in_threadpool(app.authorization.pending, ctx.issuer, state.handle, session)
        return await _show(request, ctx, pending)
    new = await run_in_threadpool(app.sessions.start, ctx.tenant.id, flow.user_id, acr=flow.acr, amr=flow.amr)
    await run_in_threadpool(app.authorization.logged_in, ctx.issuer, state.handle, new.session)
    next_state = await run_in_threadpool(app.authorization.pending, ctx.issuer, state.handle, new.session)
    if isinstance(next_state, PendingInteraction):
        user = await run_in_threadpool(app.tokens.user_for, ctx.tenant.id, flow.user_id)
        next_state = replace(next_state, user=user)
    response = await _show(request, ctx, next_state)
    tenant_settings = app.tenant_settings.get(ctx.tenant)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        new.cookie_value,
        path=ctx.base_path or "/",
        max_age=tenant_settings.tokens.session_ttl,
    )
    await risk_pages.remember(request, ctx, flow, response)
    return response
