"""Passkeys in the hosted sign-in pages: the options endpoint a page's script calls
(``POST …/interaction/{handle}/passkey/options``), the passwordless answer on the login page, and
what the second-factor page offers. The ceremony follows the interaction's step: the login page
gets passwordless options (any discoverable credential, user verification required), the
second-factor page the user's passkeys, the enrolment page registration options. The answer is
an ordinary form post of the interaction (``method=passkey``, ``credential`` = the JSON of the
``PublicKeyCredential``), so the next page is a normal navigation.

Every refusal shows the same message: nothing tells an unknown passkey from a wrong signature
or a passkey of a disabled user.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.errors import InvalidInput, NotFound
from keystead.flows.stages import ENROL_TOTP, SECOND_FACTOR, FlowState
from keystead.http.middleware import CSP
from keystead.http.requests import (
    FORM_TYPE,
    TenantContext,
    app_of,
    client_ip,
    decode_params,
    tenant_context,
)
from keystead.http.responses import json_response
from keystead.protocols.oauth2.params import single
from keystead.protocols.oidc import prompt
from keystead.services import passkey_credentials, totp
from keystead.services.authorization import PendingInteraction
from keystead.services.passkey_challenges import PasskeyRejected, RelyingParty
from keystead.types import Params
from keystead.web.render import INTERACTION_COOKIE, SESSION_COOKIE, csrf_ok

log = logging.getLogger("keystead.web.passkeys")
#: The pages' policy plus requests to this origin: the script fetches the ceremony's options.
PASSKEY_CSP = f"{CSP}; connect-src 'self'"
PASSKEY_ERROR = "That passkey could not be used. Try again, or use another way to sign in."
MAX_CREDENTIAL = 16_384  # characters of the PublicKeyCredential JSON


def relying_party(ctx: TenantContext) -> RelyingParty:
    return RelyingParty.for_issuer(ctx.issuer.url, ctx.tenant.display_name)


def binding(handle: str) -> str:
    """What a sign-in ceremony's challenge belongs to: this interaction."""
    return f"interaction:{handle}"


def allow_fetch(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PASSKEY_CSP
    return response


def credential(form: Params) -> str:
    return single(form, "credential", max_length=MAX_CREDENTIAL) or ""


def second_factor_methods(request: Request, tenant_id: str, user_id: str) -> dict[str, bool]:
    """Which second factors the user can answer with (the second-factor page's choices)."""
    factors = app_of(request).storage.factors_of_user(tenant_id, user_id)
    active = [f for f in factors if f.status == "active"]
    return {
        "passkey": any(f.kind == passkey_credentials.KIND for f in active),
        "totp": any(f.kind == totp.KIND for f in active),
    }


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status, headers={"Cache-Control": "no-store"})


async def options(request: Request) -> Response:
    """The options for this interaction's ceremony, as JSON (a form post with the CSRF token)."""
    ctx = tenant_context(request)
    if ctx is None:
        return _error(404, "not found")
    handle = request.path_params["handle"]
    if request.cookies.get(INTERACTION_COOKIE) != handle:
        return _error(400, "this sign-in request belongs to another browser or has expired")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return _error(415, "send the form as application/x-www-form-urlencoded")
    form = decode_params(await request.body())
    if not csrf_ok(request, ctx, single(form, "csrf_token", max_length=128)):
        return _error(403, "the page expired; reload it and try again")
    app = app_of(request)
    session = await run_in_threadpool(
        app.sessions.current, ctx.tenant.id, request.cookies.get(SESSION_COOKIE)
    )
    # with the SSO session, as the page itself: a step-up's stage comes from it
    state = await run_in_threadpool(app.authorization.pending, ctx.issuer, handle, session)
    if not isinstance(state, PendingInteraction):
        return _error(409, "this sign-in step is over; reload the page")
    try:
        body = await run_in_threadpool(_ceremony_options, request, ctx, state)
    except NotFound:
        return _error(404, "no passkey to use here")
    except InvalidInput as invalid:
        return _error(400, str(invalid))
    if body is None:
        return _error(409, "this sign-in step does not use a passkey; reload the page")
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


def _ceremony_options(request: Request, ctx: TenantContext, state: PendingInteraction) -> str | None:
    passkeys = app_of(request).passkeys
    rp, bound = relying_party(ctx), binding(state.handle)
    if state.step == prompt.LOGIN:
        return passkeys.authentication_options(ctx.tenant.id, rp, bound, None)
    if state.step == SECOND_FACTOR and state.flow is not None:
        return passkeys.authentication_options(ctx.tenant.id, rp, bound, state.flow.user_id)
    if state.step == ENROL_TOTP and state.flow is not None:
        return passkeys.registration_options(ctx.tenant.id, state.flow.user_id, rp, bound)
    return None


async def sign_in(
    request: Request, ctx: TenantContext, state: PendingInteraction, form: Params
) -> FlowState | None:
    """A passwordless answer on the login page: the flow state of the passkey's user, or
    ``None`` (refused, whatever the reason)."""
    app = app_of(request)
    try:
        signed_in = await run_in_threadpool(
            app.passkeys.sign_in, ctx.tenant.id, relying_party(ctx), binding(state.handle), credential(form)
        )
    except PasskeyRejected as refused:
        log.info("passwordless sign-in refused: %s", refused.reason)
        await run_in_threadpool(
            app.signin_events.passwordless,
            ctx.tenant.id,
            None,
            client_ip(request),
            method="passkey",
            accepted=False,
        )
        return None
    await run_in_threadpool(
        app.signin_events.passwordless,
        ctx.tenant.id,
        signed_in.user.id,
        client_ip(request),
        method="passkey",
        accepted=True,
    )
    return FlowState(signed_in.user.id, app.clock(), amr=signed_in.use.amr)
