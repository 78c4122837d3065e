"""Signing in to the account page with the tenant's own OpenID Connect: the page is the
first-party public client ``keystead-account`` (code flow, PKCE S256, state and nonce in a
sealed cookie). The callback redeems the code in process through the token endpoint's service,
checks the ID token (signature, issuer, audience, expiry, nonce, ``azp``), revokes the grant at
once (the page keeps no bearer token), and requires a live SSO session of an active user.

``?fresh=1`` asks the login for a new authentication (``prompt=login``): adding or removing a
factor needs one from the last ten minutes (session.RECENT_AUTH).
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.errors import KeysteadError
from keystead.http.requests import TenantContext, app_of, tenant_context
from keystead.ports.records import User
from keystead.protocols.oauth2 import pkce
from keystead.protocols.oauth2.client_auth import NONE, ClientCredentials
from keystead.protocols.oauth2.errors import InvalidRequest, InvalidToken, OAuth2Error
from keystead.protocols.oauth2.token_request import AuthorizationCodeGrant
from keystead.services.account_access import ACCOUNT_CLIENT_ID, ACCOUNT_SCOPES, AccountAccess
from keystead.services.secrets import new_token
from keystead.web.account.session import (
    AREA,
    LOGIN_COOKIE,
    LOGIN_TIMEOUT,
    SESSION_COOKIE,
    SESSION_TIMEOUT,
    AccountSession,
    open_login,
    seal,
    seal_session,
)
from keystead.web.pages import not_found
from keystead.web.render import error_page
from keystead.web.sealed import LoginState, clear_cookie, set_cookie
from keystead.wiring import Keystead

log = logging.getLogger("keystead.account")


class SignInFailed(Exception):
    pass


def base_of(ctx: TenantContext) -> str:
    return f"{ctx.base_path}/account"


def callback_uri(ctx: TenantContext) -> str:
    return f"{ctx.issuer.url}/account/callback"


def safe_next(value: str | None, base: str) -> str:
    """Only a path of this page (no scheme, host, ``//`` or backslash) is followed."""
    if not value or not (value == base or value.startswith(f"{base}/")) or "//" in value or "\\" in value:
        return base
    return value if len(value) <= 512 else base


async def sign_in(request: Request) -> Response:
    return await run_in_threadpool(_sign_in, request)


def _sign_in(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    app = app_of(request)
    try:
        client = AccountAccess(app.clients).client(ctx.tenant.id, callback_uri(ctx))
    except KeysteadError as exc:
        log.warning("account client unavailable in %s: %s", ctx.tenant.name, exc)
        return error_page(request, ctx, InvalidRequest("the account page is unavailable"), 503)
    if not client.active:
        return error_page(request, ctx, InvalidRequest("the account page is turned off in this tenant"), 503)
    login = LoginState(
        state=new_token(16),
        nonce=new_token(16),
        verifier=new_token(48),
        next=safe_next(request.query_params.get("next"), base_of(ctx)),
        started_at=app.clock(),
    )
    params = {
        "response_type": "code",
        "client_id": ACCOUNT_CLIENT_ID,
        "redirect_uri": callback_uri(ctx),
        "scope": " ".join(ACCOUNT_SCOPES),
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": pkce.s256(login.verifier),
        "code_challenge_method": "S256",
    }
    if request.query_params.get("fresh") == "1":
        params["prompt"] = "login"
    response = RedirectResponse(f"{ctx.base_path}/authorize?{urlencode(params)}", status_code=303)
    sealed = seal(app.ring, "login", ctx.tenant.id, login.to_dict())
    set_cookie(request, response, LOGIN_COOKIE, sealed, path=base_of(ctx), max_age=LOGIN_TIMEOUT)
    return response


async def callback(request: Request) -> Response:
    return await run_in_threadpool(_callback, request)


def _callback(request: Request) -> Response:
    ctx = tenant_context(request)
    if ctx is None:
        return not_found(request)
    app = app_of(request)
    try:
        user, sid, auth_time, next_path = _complete(request, app, ctx)
    except SignInFailed as failed:
        refused = error_page(request, ctx, InvalidRequest(str(failed)), 400)
        clear_cookie(request, refused, LOGIN_COOKIE, path=base_of(ctx))
        return refused
    session = AccountSession(user.id, sid, new_token(16), app.clock(), auth_time)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        seal_session(app.ring, ctx.tenant.id, session),
        path=base_of(ctx),
        max_age=SESSION_TIMEOUT,
    )
    clear_cookie(request, response, LOGIN_COOKIE, path=base_of(ctx))
    return response


def _complete(request: Request, app: Keystead, ctx: TenantContext) -> tuple[User, str, float, str]:
    now = app.clock()
    login = open_login(app.ring, ctx.tenant.id, request.cookies.get(LOGIN_COOKIE), now)
    params = request.query_params
    expired = SignInFailed("this sign-in has expired; open your account page again")
    if login is None or not hmac.compare_digest(params.get("state", ""), login.state):
        raise expired
    if params.get("error"):
        raise SignInFailed("sign-in was not completed")
    code = params.get("code", "")
    if not code or len(code) > 512:
        raise expired
    grant = AuthorizationCodeGrant(code=code, redirect_uri=callback_uri(ctx), code_verifier=login.verifier)
    try:
        tokens = app.token_endpoint.token(ctx.issuer, ClientCredentials(ACCOUNT_CLIENT_ID, None, NONE), grant)
        info = app.tokens.check_access_token(ctx.issuer, tokens.access_token)
    except (OAuth2Error, InvalidToken) as exc:
        log.info("account sign-in failed at the code exchange: %s", exc)
        raise expired from exc
    if info.grant is not None and info.grant.id:
        app.tokens.revoke_grant(ctx.tenant.id, info.grant.id)  # the page keeps no tokens
    claims = _id_token_claims(app, ctx, tokens.id_token, login.nonce, now)
    user = app.storage.user_by_id(ctx.tenant.id, str(claims.get("sub")))
    sid = str(claims.get("sid") or "")
    sso = app.sessions.find(ctx.tenant.id, sid) if sid else None
    if user is None or not user.active or sso is None or sso.user_id != user.id:
        raise expired
    auth_time = claims.get("auth_time")
    return user, sid, float(auth_time) if isinstance(auth_time, int | float) else 0.0, login.next


def _id_token_claims(
    app: Keystead, ctx: TenantContext, id_token: str | None, nonce: str, now: float
) -> dict[str, object]:
    claims = AREA.id_token_claims(
        app.keys.verify_set(ctx.tenant.id),
        ctx.issuer.url,
        ACCOUNT_CLIENT_ID,
        id_token,
        nonce,
        now,
        app.settings.tokens.clock_skew,
    )
    if claims is None:
        raise SignInFailed("the identity token could not be verified")
    return claims
