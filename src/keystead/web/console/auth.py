"""Signing in to the console with Keystead's own OpenID Connect (the console is a first-party
public client of its tenant, ``keystead-console``, using the code flow with PKCE S256), and
signing out.

The callback redeems the code in process through the token endpoint's service (no HTTP hop),
checks the ID token (signature, issuer, audience, expiry, nonce, ``azp``), revokes the grant at
once (the console keeps no bearer token), and requires a live SSO session and the ``admin`` role.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.errors import KeysteadError
from keystead.http.requests import TenantContext, app_of, client_ip, tenant_context
from keystead.ports.records import User
from keystead.protocols.oauth2 import pkce
from keystead.protocols.oauth2.client_auth import NONE, ClientCredentials
from keystead.protocols.oauth2.errors import InvalidToken, OAuth2Error
from keystead.protocols.oauth2.token_request import AuthorizationCodeGrant
from keystead.services.audit import Actor
from keystead.services.console_access import CONSOLE_CLIENT_ID, CONSOLE_SCOPES, is_admin
from keystead.services.secrets import new_token
from keystead.web.console import render
from keystead.web.console.session import (
    ABSOLUTE_TIMEOUT,
    AREA,
    IDLE_TIMEOUT,
    LOGIN_COOKIE,
    LOGIN_TIMEOUT,
    SESSION_COOKIE,
    ConsoleSession,
    open_login,
    seal,
    seal_session,
)
from keystead.web.pages import not_found
from keystead.web.sealed import LoginState
from keystead.web.sealed import clear_cookie as clear_console_cookie
from keystead.web.sealed import set_cookie as set_console_cookie
from keystead.wiring import Keystead

log = logging.getLogger("keystead.console")


class SignInFailed(Exception):
    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


def callback_uri(home: TenantContext) -> str:
    return f"{home.issuer.url}/console/callback"


def safe_next(value: str | None, base: str) -> str:
    """Only a path inside this console (no scheme, host, ``//`` or backslash) is followed."""
    if not value or not value.startswith(f"{base}/") or "//" in value or "\\" in value or len(value) > 512:
        return f"{base}/"
    return value


async def sign_in(request: Request) -> Response:
    return await run_in_threadpool(_sign_in, request)


def _sign_in(request: Request) -> Response:
    home = tenant_context(request)
    if home is None:
        return not_found(request)
    app = app_of(request)
    base = f"{home.base_path}/console"
    try:
        client = app.console.client(home.tenant.id, callback_uri(home))
    except KeysteadError as exc:
        log.warning("console client unavailable in %s: %s", home.tenant.name, exc)
        return _failed(home, SignInFailed("The console is unavailable", exc.description or str(exc), 503))
    if not client.active:
        return _failed(
            home, SignInFailed("The console is turned off", "Its client is disabled in this tenant.", 503)
        )
    login = LoginState(
        state=new_token(16),
        nonce=new_token(16),
        verifier=new_token(48),
        next=safe_next(request.query_params.get("next"), base),
        started_at=app.clock(),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CONSOLE_CLIENT_ID,
            "redirect_uri": callback_uri(home),
            "scope": " ".join(CONSOLE_SCOPES),
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": pkce.s256(login.verifier),
            "code_challenge_method": "S256",
            # an SSO sign-in older than the idle timeout asks for the password again
            "max_age": str(IDLE_TIMEOUT),
        }
    )
    response = RedirectResponse(f"{home.base_path}/authorize?{query}", status_code=303)
    sealed = seal(app.ring, "login", home.tenant.id, login.to_dict())
    set_console_cookie(request, response, LOGIN_COOKIE, sealed, path=base, max_age=LOGIN_TIMEOUT)
    return response


async def callback(request: Request) -> Response:
    return await run_in_threadpool(_callback, request)


def _callback(request: Request) -> Response:
    home = tenant_context(request)
    if home is None:
        return not_found(request)
    app = app_of(request)
    base = f"{home.base_path}/console"
    try:
        user, sid, next_path = _complete(request, app, home)
    except SignInFailed as failed:
        response = _failed(home, failed)
        clear_console_cookie(request, response, LOGIN_COOKIE, path=base)
        return response
    now = app.clock()
    session = ConsoleSession(user.id, sid, new_token(16), now, now)
    app.audit.record(
        home.tenant.id, Actor(user.id, CONSOLE_CLIENT_ID, client_ip(request)), "console.signin", user.id
    )
    response = RedirectResponse(next_path, status_code=303)
    set_console_cookie(
        request,
        response,
        SESSION_COOKIE,
        seal_session(app.ring, home.tenant.id, session),
        path=base,
        max_age=ABSOLUTE_TIMEOUT,
    )
    clear_console_cookie(request, response, LOGIN_COOKIE, path=base)
    return response


def _complete(request: Request, app: Keystead, home: TenantContext) -> tuple[User, str, str]:
    now = app.clock()
    login = open_login(app.ring, home.tenant.id, request.cookies.get(LOGIN_COOKIE), now)
    params = request.query_params
    expired = SignInFailed(
        "This sign-in has expired", "Start again: sign-in links work once, for ten minutes."
    )
    if login is None or not hmac.compare_digest(params.get("state", ""), login.state):
        raise expired
    if params.get("error"):
        raise SignInFailed(
            "Sign-in was not completed", params.get("error_description") or params["error"][:200]
        )
    code = params.get("code", "")
    if not code or len(code) > 512:
        raise expired
    grant = AuthorizationCodeGrant(code=code, redirect_uri=callback_uri(home), code_verifier=login.verifier)
    try:
        tokens = app.token_endpoint.token(
            home.issuer, ClientCredentials(CONSOLE_CLIENT_ID, None, NONE), grant
        )
        info = app.tokens.check_access_token(home.issuer, tokens.access_token)
    except (OAuth2Error, InvalidToken) as exc:
        log.info("console sign-in failed at the code exchange: %s", exc)
        raise expired from exc
    if info.grant is not None and info.grant.id:
        app.tokens.revoke_grant(home.tenant.id, info.grant.id)  # the console keeps no tokens
    claims = _id_token_claims(app, home, tokens.id_token, login.nonce, now)
    user = app.storage.user_by_id(home.tenant.id, str(claims.get("sub")))
    sid = str(claims.get("sid") or "")
    sso = app.sessions.find(home.tenant.id, sid) if sid else None
    if user is None or sso is None or sso.user_id != user.id:
        raise expired
    if not is_admin(user):
        raise SignInFailed(
            "This account cannot use the console",
            f"{user.username} is not an administrator of {home.tenant.display_name}. "
            "Ask an administrator to give you the admin role, or sign in with another account.",
            403,
        )
    return user, sid, login.next


def _id_token_claims(
    app: Keystead, home: TenantContext, id_token: str | None, nonce: str, now: float
) -> dict[str, object]:
    bad = SignInFailed("Sign-in failed", "The identity token could not be verified.")
    skew = app.settings.tokens.clock_skew
    keys = app.keys.verify_set(home.tenant.id)
    claims = AREA.id_token_claims(keys, home.issuer.url, CONSOLE_CLIENT_ID, id_token, nonce, now, skew)
    if claims is None:
        raise bad
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or now - auth_time > IDLE_TIMEOUT + skew:
        raise bad  # OIDC Core 3.1.2.1: with max_age, the client checks auth_time
    return claims


def _failed(home: TenantContext, failed: SignInFailed) -> Response:
    return render.bare(
        home.tenant,
        home.base_path,
        "console/signin_failed.html",
        title=failed.title,
        status=failed.status,
        message=failed.message,
        logout_url=f"{home.base_path}/logout",
    )
