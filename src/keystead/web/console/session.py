"""The console's cookies: sealed (AES-GCM under a key derived from the master secret, bound to
the tenant and the cookie's purpose), path-scoped to the console, HttpOnly, SameSite=Lax, Secure
on https. Nothing secret is readable in them; tampering or a cookie moved to another tenant
fails to open.

- ``ks_console``: the signed-in administrator (user id, SSO session id, a CSRF seed, when it
  started and when it was last used). Idle and absolute timeouts are enforced when it is opened;
  the SSO session it names is checked on every request, so signing out anywhere ends it.
- ``ks_console_login``: the state, nonce and PKCE verifier of a sign-in in progress.
- ``ks_console_flash``: a one-time message for the next page (a new client secret: shown once).
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

SESSION_COOKIE = "ks_console"
LOGIN_COOKIE = "ks_console_login"
FLASH_COOKIE = "ks_console_flash"
IDLE_TIMEOUT = 30 * 60
ABSOLUTE_TIMEOUT = 12 * 3600
LOGIN_TIMEOUT = 10 * 60
FLASH_TIMEOUT = 120
MAX_COOKIE = 4096


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    user_id: str
    sso_session_id: str
    csrf_seed: str
    started_at: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class LoginState:
    state: str
    nonce: str
    verifier: str
    next: str
    started_at: float


def seal(ring: KeyRing, purpose: str, tenant_id: str, data: dict[str, Any]) -> str:
    blob = ring.encrypt(orjson.dumps(data), context=f"console/{purpose}/{tenant_id}")
    return b64(blob)


def unseal(ring: KeyRing, purpose: str, tenant_id: str, value: str | None) -> dict[str, Any] | None:
    if not value or len(value) > MAX_COOKIE:
        return None
    try:
        blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = orjson.loads(ring.decrypt(blob, context=f"console/{purpose}/{tenant_id}"))
    except (binascii.Error, ValueError, InvalidTag):
        return None
    return data if isinstance(data, dict) else None


def open_session(ring: KeyRing, tenant_id: str, value: str | None, now: float) -> ConsoleSession | None:
    """The session a cookie carries, if it opens and neither timeout has passed."""
    data = unseal(ring, "session", tenant_id, value)
    if data is None:
        return None
    try:
        session = ConsoleSession(**data)
    except TypeError:
        return None
    if now - session.last_seen > IDLE_TIMEOUT or now - session.started_at > ABSOLUTE_TIMEOUT:
        return None
    if session.started_at > now + 60:  # sealed by a node whose clock is far ahead: refuse
        return None
    return session


def seal_session(ring: KeyRing, tenant_id: str, session: ConsoleSession) -> str:
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


def csrf_for(ring: KeyRing, tenant_id: str, session: ConsoleSession) -> str:
    """The form token of a console session (a synchronizer token derived from its seed)."""
    return ring.mac("console-csrf", f"{tenant_id}:{session.user_id}:{session.csrf_seed}")


def csrf_matches(ring: KeyRing, tenant_id: str, session: ConsoleSession, submitted: str | None) -> bool:
    if not submitted or len(submitted) > 128:
        return False
    return hmac.compare_digest(csrf_for(ring, tenant_id, session), submitted)


def set_console_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",
    )


def clear_console_cookie(request: Request, response: Response, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, secure=secure_cookies(request), samesite="lax")
