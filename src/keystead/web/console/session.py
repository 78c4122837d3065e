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

from dataclasses import asdict, dataclass

from keystead.services.secrets import KeyRing
from keystead.web.sealed import SealedArea

SESSION_COOKIE = "ks_console"
LOGIN_COOKIE = "ks_console_login"
FLASH_COOKIE = "ks_console_flash"
IDLE_TIMEOUT = 30 * 60
ABSOLUTE_TIMEOUT = 12 * 3600
LOGIN_TIMEOUT = 10 * 60
FLASH_TIMEOUT = 120

AREA = SealedArea("console", login_timeout=LOGIN_TIMEOUT)
seal, unseal, open_login = AREA.seal, AREA.unseal, AREA.open_login


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    user_id: str
    sso_session_id: str
    csrf_seed: str
    started_at: float
    last_seen: float


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


def csrf_for(ring: KeyRing, tenant_id: str, session: ConsoleSession) -> str:
    """The form token of a session (a synchronizer token derived from its seed)."""
    return AREA.csrf_for(ring, tenant_id, session.user_id, session.csrf_seed)


def csrf_matches(ring: KeyRing, tenant_id: str, session: ConsoleSession, submitted: str | None) -> bool:
    return AREA.csrf_matches(ring, tenant_id, session.user_id, session.csrf_seed, submitted)
