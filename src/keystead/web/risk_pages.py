"""The risk engine's hooks in the hosted sign-in (docs/risk.md): after the password, assess the
attempt and turn the enforced decision into the flow state (a required second factor, or a
refusal with the generic answer); when the sign-in ends with a session, remember the device,
network and place, and set the device cookie."""

from __future__ import annotations

from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.flows.stages import FlowState, has_second_factor_amr
from keystead.http.requests import TenantContext, app_of, client_ip
from keystead.services import password_expiry
from keystead.services.authorization import PendingInteraction
from keystead.services.login import PasswordSignIn
from keystead.services.login_flow import with_client
from keystead.services.risk import Attempt
from keystead.services.risk_devices import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE
from keystead.web.render import set_cookie


async def after_password(
    request: Request, ctx: TenantContext, state: PendingInteraction, signed_in: PasswordSignIn
) -> FlowState | None:
    """The flow state after a correct password, or ``None`` when the risk engine denies the
    sign-in (the caller answers exactly as for a wrong password)."""
    app = app_of(request)
    user = signed_in.user
    max_age = app.tenant_settings.get(ctx.tenant).password_policy.max_age_days
    flow = FlowState(
        user.id,
        app.clock(),
        amr=("pwd",),
        breached=signed_in.breached,
        client_id=state.client.client_id,
        password_expired=password_expiry.expired(user, max_age, app.clock()),
    )
    flow = with_client(flow, state.client)
    attempt = Attempt(
        tenant_id=ctx.tenant.id,
        user_id=user.id,
        ip=client_ip(request),
        device_cookie=request.cookies.get(DEVICE_COOKIE),
        breached=signed_in.breached,
        attempts=signed_in.attempts,
    )
    assessment = await run_in_threadpool(app.risk.assess, attempt, state.client)
    if assessment is None:
        return flow
    if assessment.denied:
        return None
    if assessment.step_up:
        return replace(flow, step_up=True, step_up_enrol=assessment.effect == "enrolment")
    return flow


async def remember(request: Request, ctx: TenantContext, flow: FlowState, response: Response) -> None:
    """Add the finished sign-in to the user's baseline; (re)set the device cookie."""
    app = app_of(request)
    sent = request.cookies.get(DEVICE_COOKIE)
    cookie = await run_in_threadpool(
        app.risk.remember,
        ctx.tenant.id,
        flow.user_id,
        client_ip(request),
        sent,
        mfa=has_second_factor_amr(flow.amr),
    )
    if cookie is not None and cookie != sent:
        set_cookie(
            request, response, DEVICE_COOKIE, cookie, path=ctx.base_path or "/", max_age=DEVICE_COOKIE_MAX_AGE
        )
