"""The email and SMS parts of the flow's stage pages (web/flow_pages.py): the second-factor
page's "Email me a code" and "Text me a code" methods and the ``verify_email`` required action. ``context`` sends a code when
the page first needs one (a reload shows the same challenge) and stores the flow state;
``answer_*`` check a submitted form. Refusals are raised (``CodeRefused``, ``TooManyCodes``,
``WrongStage``) and turned into messages by flow_pages."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request

from keystead.flows.stages import SECOND_FACTOR, VERIFY_EMAIL, FlowState
from keystead.http.requests import TenantContext, app_of, client_ip
from keystead.protocols.oauth2.params import single
from keystead.services.authorization import PendingInteraction
from keystead.services.email_flow import EmailFlow
from keystead.services.email_sender import TooManyCodes
from keystead.services.one_time_codes import CodeRefused
from keystead.types import Params

EMAIL, RESEND = "email", "email_resend"
SMS, SMS_RESEND = "sms", "sms_resend"
METHODS = (EMAIL, RESEND, SMS, SMS_RESEND)
SPENT = "Too many wrong codes. Send a new code and try again."


def _flow(request: Request) -> EmailFlow:
    flow = app_of(request).messaging.email_flow
    assert flow is not None
    return flow


def too_many(exc: TooManyCodes) -> str:
    return f"Too many codes were sent. Try again in {max(1, math.ceil(exc.retry_after / 60))} minutes."


def context(request: Request, ctx: TenantContext, state: PendingInteraction) -> dict[str, Any]:
    """What the second-factor or verify-email page shows about email (runs off the event loop:
    it may send a code and write the flow state)."""
    assert state.flow is not None
    app, flow = app_of(request), _flow(request)
    tenant_id, acr = ctx.tenant.id, state.request.acr_values
    if state.step == SECOND_FACTOR:
        app_offered, email_offered, sms_offered = flow.offered(tenant_id, acr, state.flow)
        asked = request.query_params.get("method")
        if asked not in (EMAIL, SMS) and not app_offered:  # no app: the first channel offered
            asked = EMAIL if email_offered else SMS
        out: dict[str, Any] = {
            "app_offered": app_offered,
            "email_offered": email_offered,
            "sms_offered": sms_offered,
            "email": asked == EMAIL and email_offered,
            "sms": asked == SMS and sms_offered,
        }
        if not (out["email"] or out["sms"]):
            return out
        send = flow.second_factor_code if out["email"] else flow.sms_code
    elif state.step == VERIFY_EMAIL:
        send, out = flow.verification, {}
    else:
        return {}
    try:
        new, out["address"] = send(tenant_id, acr, state.flow, state.handle)
    except TooManyCodes as exc:
        out.update(address="your email address", send_error=too_many(exc))
        return out
    if new != state.flow:
        app.authorization.authenticated(ctx.issuer, state.handle, new)
    return out


def answer(request: Request, ctx: TenantContext, state: PendingInteraction, form: Params) -> FlowState:
    """A code, or a request for a new one (``email_resend``), on the second-factor or
    verify-email page (runs off the event loop)."""
    assert state.flow is not None
    flow = _flow(request)
    tenant_id, acr = ctx.tenant.id, state.request.acr_values
    method = single(form, "method", max_length=16)
    if method == SMS_RESEND:
        return flow.sms_code(tenant_id, acr, state.flow, state.handle, resend=True)[0]
    if method == RESEND:
        send = flow.second_factor_code if state.step == SECOND_FACTOR else flow.verification
        return send(tenant_id, acr, state.flow, state.handle, resend=True)[0]
    code = single(form, "code", max_length=64) or ""
    if method != SMS and state.step != SECOND_FACTOR:
        return flow.answer_verification(tenant_id, acr, state.flow, state.handle, code)
    events, ip, user_id = app_of(request).signin_events, client_ip(request), state.flow.user_id
    factor = "sms" if method == SMS else "email"
    try:
        if method == SMS:
            new = flow.answer_sms(tenant_id, acr, state.flow, state.handle, code)
        else:
            new = flow.answer_second_factor(tenant_id, acr, state.flow, state.handle, code)
    except CodeRefused:
        events.second_factor(tenant_id, user_id, ip, method=factor, accepted=False)
        raise
    events.second_factor(tenant_id, user_id, ip, method=factor, accepted=True)
    return new
