"""The hosted pages of the flow's stages after the password (keystead.flows.stages): the
second-factor code, enrolling an authenticator app (its QR code served as an image), and the
required password change. ``show`` renders a stage; ``answer`` checks a submitted form and returns
the new flow state, or :class:`Refused` with the message to show again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from math import ceil
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.errors import InvalidInput, NotFound
from keystead.flows.stages import (
    CHANGE_PASSWORD,
    ENROL_TOTP,
    SECOND_FACTOR,
    SHOW_RECOVERY_CODES,
    VERIFY_EMAIL,
    FlowState,
)
from keystead.http.requests import TenantContext, app_of, client_ip
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.services.authorization import PendingInteraction
from keystead.services.email_sender import TooManyCodes
from keystead.services.factor_checks import FactorLocked, InvalidCode
from keystead.services.login_flow import WrongStage, recovery_codes_allowed
from keystead.services.one_time_codes import CodeRefused
from keystead.services.passkey_challenges import PasskeyRejected
from keystead.types import Params
from keystead.web import email_pages, passkey_pages
from keystead.web.render import INTERACTION_COOKIE, page

log = logging.getLogger("keystead.web")
CODE_ERROR = "That code is not valid. Check the code and try again."
WRONG_STAGE = "This step was already done or has changed; continue below."
TEMPLATES = {
    SECOND_FACTOR: "second_factor.html",
    ENROL_TOTP: "enrol_totp.html",
    CHANGE_PASSWORD: "change_password.html",
    SHOW_RECOVERY_CODES: "recovery_codes.html",
    VERIFY_EMAIL: "verify_email.html",
}


@dataclass(frozen=True, slots=True)
class Refused:
    state: PendingInteraction
    message: str
    status: int = 400
    retry_after: int = 0


def show(
    request: Request,
    ctx: TenantContext,
    state: PendingInteraction,
    action: str,
    csrf_token: str,
    *,
    error: str | None,
    status: int,
) -> Response:
    context = {
        "action": action,
        "csrf_token": csrf_token,
        "client_name": state.client.name,
        "error": error,
        "recovery": request.query_params.get("method") == "recovery",
        "passkey_options_url": f"{action}/passkey/options",
    }
    if state.step == SECOND_FACTOR and state.flow is not None:
        context.update(passkey_pages.second_factor_methods(request, ctx.tenant.id, state.flow.user_id))
        stage = app_of(request).login_flow.flow_for(ctx.tenant.id, state.flow.client_id).stage(SECOND_FACTOR)
        allowed = stage is None or recovery_codes_allowed(stage)
        context.update(recovery_codes_allowed=allowed, recovery=context["recovery"] and allowed)
    if state.step == ENROL_TOTP:
        assert state.flow is not None
        flow, enrolment = app_of(request).login_flow.enrolment(
            ctx.tenant.id, state.request.acr_values, state.flow
        )
        app_of(request).authorization.authenticated(ctx.issuer, state.handle, flow)
        context.update(manual_key=enrolment.manual_key, qr_url=f"{action}/totp.svg")
    if state.step == CHANGE_PASSWORD and state.flow is not None:
        context["expired"] = state.flow.password_expired and not state.flow.breached
    if state.step == SHOW_RECOVERY_CODES:
        context.update(recovery_codes_context(request, ctx, state))
    if state.step in (SECOND_FACTOR, VERIFY_EMAIL):
        context.update(email_pages.context(request, ctx, state))
        context["error"] = context["error"] or context.pop("send_error", None)
    return passkey_pages.allow_fetch(page(request, ctx, TEMPLATES[state.step], status, **context))


async def respond(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState | Refused:
    """A submitted stage form: an emailed or texted code (or a request for a new one) and the
    verify-email stage here (web/email_pages.py), every other answer by :func:`answer`."""
    emailed = state.step == VERIFY_EMAIL or single(form, "method", max_length=16) in email_pages.METHODS
    if emailed and single(form, "stage", max_length=32) == state.step:
        return await _answer_email(request, ctx, state, form)
    return await answer(request, ctx, state, form)


async def answer(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState | Refused:
    assert state.flow is not None
    if single(form, "stage", max_length=32) != state.step:  # an old tab, another step's form
        return Refused(state, WRONG_STAGE, 409)
    try:
        return await _answer_stage(request, ctx, state, form)
    except InvalidCode:
        return Refused(state, CODE_ERROR)
    except PasskeyRejected as refused:
        log.info("passkey refused at %s: %s", state.step, refused.reason)
        return Refused(state, passkey_pages.PASSKEY_ERROR)
    except FactorLocked as locked:
        wait = max(1, ceil(locked.retry_after))
        return Refused(state, f"Too many wrong codes. Try again in {wait} seconds.", 429, wait)
    except InvalidInput as invalid:
        return Refused(state, _password_message(invalid))
    except WrongStage:
        return Refused(state, WRONG_STAGE, 409)


async def _answer_stage(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState:
    """The new flow state for the stage's form, or the service's refusal (raised)."""
    flow = app_of(request).login_flow
    assert state.flow is not None
    tenant_id, acr_values = ctx.tenant.id, state.request.acr_values
    ip = client_ip(request)
    if state.step in (SECOND_FACTOR, ENROL_TOTP) and single(form, "method", max_length=16) == "passkey":
        return await _answer_passkey(request, ctx, state, form)
    if state.step == SECOND_FACTOR:
        method = single(form, "method", max_length=16) or "totp"
        code = single(form, "code", max_length=64) or ""
        return await run_in_threadpool(
            flow.answer_code, tenant_id, acr_values, state.flow, code, recovery=method == "recovery", ip=ip
        )
    if state.step == ENROL_TOTP:
        code = single(form, "code", max_length=64) or ""
        return await run_in_threadpool(flow.answer_enrolment, tenant_id, acr_values, state.flow, code, ip=ip)
    if state.step == SHOW_RECOVERY_CODES:
        return await run_in_threadpool(flow.answer_recovery_codes, tenant_id, acr_values, state.flow)
    password = single(form, "password", max_length=1024) or ""
    confirm = single(form, "confirm", max_length=1024) or ""
    return await run_in_threadpool(
        flow.answer_password, tenant_id, acr_values, state.flow, password, confirm, ip=ip
    )


async def _answer_passkey(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState:
    flow = app_of(request).login_flow
    assert state.flow is not None
    answer = flow.answer_passkey if state.step == SECOND_FACTOR else flow.answer_enrolment_passkey
    return await run_in_threadpool(
        answer,
        ctx.tenant.id,
        state.request.acr_values,
        state.flow,
        passkey_pages.relying_party(ctx),
        passkey_pages.binding(state.handle),
        passkey_pages.credential(form),
        ip=client_ip(request),
    )


def recovery_codes_context(request: Request, ctx: TenantContext, state: PendingInteraction) -> dict[str, Any]:
    """The codes (the first time only: the state that says so is stored before the page is
    sent) and the same list as a text file to download (a data: URL: no second request)."""
    assert state.flow is not None
    app = app_of(request)
    flow, codes = app.login_flow.recovery_codes(ctx.tenant.id, state.request.acr_values, state.flow)
    if codes is None:
        return {"codes": None, "download_url": None}
    app.authorization.authenticated(ctx.issuer, state.handle, flow)
    text = recovery_codes_text(ctx.tenant.display_name or ctx.tenant.name, codes)
    return {"codes": codes, "download_url": "data:text/plain;charset=utf-8," + quote(text)}


def recovery_codes_text(tenant_name: str, codes: tuple[str, ...]) -> str:
    lines = [f"Recovery codes for your {tenant_name} account", "Each code works once.", "", *codes]
    return "\r\n".join(lines) + "\r\n"


async def _answer_email(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState | Refused:
    """An emailed code (second factor, verify email) or a request for a new one."""
    try:
        return await run_in_threadpool(email_pages.answer, request, ctx, state, form)
    except CodeRefused as refused:
        return Refused(state, email_pages.SPENT if refused.spent else CODE_ERROR)
    except TooManyCodes as exc:
        return Refused(state, email_pages.too_many(exc), 429, exc.retry_after)
    except WrongStage:
        return Refused(state, WRONG_STAGE, 409)


def _password_message(invalid: InvalidInput) -> str:
    if invalid.field == "confirm":
        return "The two passwords are not the same."
    return f"Choose another password: {invalid}."


async def totp_qr(request: Request, ctx: TenantContext, handle: str) -> Response:
    """The QR code of the interaction's pending enrolment, as image/svg+xml."""
    if request.cookies.get(INTERACTION_COOKIE) != handle:
        raise InvalidRequest("this sign-in request belongs to another browser or has expired")
    app = app_of(request)
    state = await run_in_threadpool(app.authorization.pending, ctx.issuer, handle, None)
    if not isinstance(state, PendingInteraction) or state.step != ENROL_TOTP or state.flow is None:
        raise InvalidRequest("no authenticator app is being set up in this sign-in")
    if state.flow.enrolment is None:
        raise InvalidRequest("no authenticator app is being set up in this sign-in")
    try:
        enrolment = await run_in_threadpool(
            app.factors.totp.pending_enrolment, ctx.tenant.id, state.flow.user_id, state.flow.enrolment
        )
    except NotFound as exc:
        raise InvalidRequest("no authenticator app is being set up in this sign-in") from exc
    return Response(
        enrolment.qr_svg,
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
    )
