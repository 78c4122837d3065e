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

from dataclasses import asdict, dataclass

from keystead.services.secrets import KeyRing
from keystead.web.sealed import SealedArea

SESSION_COOKIE = "ks_account"
LOGIN_COOKIE = "ks_account_login"
SESSION_TIMEOUT = 3600
LOGIN_TIMEOUT = 10 * 60
RECENT_AUTH = 10 * 60

AREA = SealedArea("account", login_timeout=LOGIN_TIMEOUT)
seal, unseal, open_login = AREA.seal, AREA.unseal, AREA.open_login


@dataclass(frozen=True, slots=True)
class AccountSession:
    user_id: str
    sso_session_id: str
    csrf_seed: str
    started_at: float
    auth_time: float

    def recent(self, now: float) -> bool:
        return now - self.auth_time <= RECENT_AUTH


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


def csrf_for(ring: KeyRing, tenant_id: str, session: AccountSession) -> str:
    """The form token of a session (a synchronizer token derived from its seed)."""
    return AREA.csrf_for(ring, tenant_id, session.user_id, session.csrf_seed)


def csrf_matches(ring: KeyRing, tenant_id: str, session: AccountSession, submitted: str | None) -> bool:
    return AREA.csrf_matches(ring, tenant_id, session.user_id, session.csrf_seed, submitted)
