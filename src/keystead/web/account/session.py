"""The account page's cookies, sealed like the console's (AES-GCM under a key derived from the
master secret, bound to the tenant and the cookie's purpose), path-scoped to ``…/account``,
HttpOnly, SameSite=Lax, Secure on https.

- ``ks_account``: the signed-in user (user id, SSO session id, a CSRF seed, when the cookie was
  made and when the user last authenticated). It lasts at most an hour, and only while the SSO
  session it names is live (checked on every request), so signing out anywhere ends it.
- ``ks_account_login``: the state, nonce and PKCE verifier of a sign-in in progress.

Adding or removing a factor needs a *recent* authentication (``RECENT_AUTH``): an older one is
sent through the tenant's login again (``prompt=login``) before the change.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from starlette.requests import Request
from starlette.responses import Response

from keystead.services.secrets import KeyRing, b64
from keystead.web.render import secure_cookies

SESSION_COOKIE = "ks_account"
LOGIN_COOKIE = "ks_account_login"
SESSION_TIMEOUT = 3600
LOGIN_TIMEOUT = 10 * 60
RECENT_AUTH = 10 * 60
MAX_COOKIE = 4096


@dataclass(frozen=True, slots=True)
class AccountSession:
    user_id: str
    sso_session_id: str
    csrf_seed: str
    started_at: float
    auth_time: float

    def recent(self, now: float) -> bool:
        return now - self.auth_time <= RECENT_AUTH


@dataclass(frozen=True, slots=True)
class LoginState:
    state: str
    nonce: str
    verifier: str
    next: str
    started_at: float


def seal(ring: KeyRing, purpose: str, tenant_id: str, data: dict[str, Any]) -> str:
    return b64(ring.encrypt(orjson.dumps(data), context=f"account/{purpose}/{tenant_id}"))


def unseal(ring: KeyRing, purpose: str, tenant_id: str, value: str | None) -> dict[str, Any] | None:
    if not value or len(value) > MAX_COOKIE:
        return None
    try:
        blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = orjson.loads(ring.decrypt(blob, context=f"account/{purpose}/{tenant_id}"))
    except (binascii.Error, ValueError, InvalidTag):
        return None
    return data if isinstance(data, dict) else None


def open_session(ring: KeyRing, tenant_id: str, value: str | None, now: float) -> AccountSession | None:
    data = unseal(ring, "session", tenant_id, value)
    if data is None:
        return None
    try:
        session = AccountSession(**data)
    except TypeError:
        return None
    if session.started_at > now + 60 or now - session.started_at > SESSION_TIMEOUT:
        return None
    return session


def seal_session(ring: KeyRing, tenant_id: str, session: AccountSession) -> str:
    return seal(ring, "session", tenant_id, asdict(session))


def open_login(ring: KeyRing, tenant_id: str, value: str | None, now: float) -> LoginState | None:
    data = unseal(ring, "login", tenant_id, value)
    if data is None:
        return None
    try:
        login = LoginState(**data)
    except TypeError:
        return None
    return login if 0 <= now - login.started_at <= LOGIN_TIMEOUT else None


def csrf_for(ring: KeyRing, tenant_id: str, session: AccountSession) -> str:
    return ring.mac("account-csrf", f"{tenant_id}:{session.user_id}:{session.csrf_seed}")


def csrf_matches(ring: KeyRing, tenant_id: str, session: AccountSession, submitted: str | None) -> bool:
    if not submitted or len(submitted) > 128:
        return False
    return hmac.compare_digest(csrf_for(ring, tenant_id, session), submitted)


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str, max_age: int
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, secure=secure_cookies(request), samesite="lax"
    )


def clear_cookie(request: Request, response: Response, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, secure=secure_cookies(request), samesite="lax")
