"""Sealed, path-scoped cookies of a first-party area of the pages (the admin console, the account
page): AES-GCM under a key derived from the master secret and bound to the area, the cookie's
purpose and the tenant, so nothing in them is readable and a cookie tampered with or moved to
another tenant or area fails to open. HttpOnly, SameSite=Lax, Secure on https.

Each area keeps its own session record and timeouts (``web/console/session.py``,
``web/account/session.py``); this module is what they share: sealing, the sign-in-in-progress
cookie (state, nonce, PKCE verifier), the synchronizer CSRF token derived from a session seed, and
the check of the ID token their first-party sign-in receives.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import Response

from keystead.protocols import jose
from keystead.services.secrets import KeyRing, b64
from keystead.web.render import secure_cookies

log = logging.getLogger("keystead.web")
MAX_COOKIE = 4096
MAX_CSRF = 128


@dataclass(frozen=True, slots=True)
class LoginState:
    """A first-party sign-in in progress: the authorization request's state, nonce and PKCE
    verifier, and where to go after it."""

    state: str
    nonce: str
    verifier: str
    next: str
    started_at: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SealedArea:
    area: str  # "console", "account": part of every key context and CSRF label
    login_timeout: int

    def seal(self, ring: KeyRing, purpose: str, tenant_id: str, data: dict[str, Any]) -> str:
        return b64(ring.encrypt(orjson.dumps(data), context=f"{self.area}/{purpose}/{tenant_id}"))

    def unseal(self, ring: KeyRing, purpose: str, tenant_id: str, value: str | None) -> dict[str, Any] | None:
        if not value or len(value) > MAX_COOKIE:
            return None
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = orjson.loads(ring.decrypt(blob, context=f"{self.area}/{purpose}/{tenant_id}"))
        except (binascii.Error, ValueError, InvalidTag):
            return None
        return data if isinstance(data, dict) else None

    def open_login(self, ring: KeyRing, tenant_id: str, value: str | None, now: float) -> LoginState | None:
        data = self.unseal(ring, "login", tenant_id, value)
        if data is None:
            return None
        try:
            login = LoginState(**data)
        except TypeError:
            return None
        return login if 0 <= now - login.started_at <= self.login_timeout else None

    def id_token_claims(
        self,
        keys: KeySet,
        issuer: str,
        client_id: str,
        id_token: str | None,
        nonce: str,
        now: float,
        skew: int,
    ) -> dict[str, object] | None:
        """The claims of the ID token of this area's first-party sign-in, or ``None`` when its
        signature, issuer, audience, times, nonce or ``azp`` is wrong."""
        if not id_token:
            return None
        try:
            verified = jose.verify(id_token, keys, now=now, issuer=issuer, audience=client_id, skew=skew)
        except jose.JoseError as exc:
            log.warning("%s ID token refused: %s", self.area, exc)
            return None
        claims = verified.claims
        if claims.get("nonce") != nonce or claims.get("azp", client_id) != client_id:
            return None
        return claims

    def csrf_for(self, ring: KeyRing, tenant_id: str, user_id: str, seed: str) -> str:
        """The form token of a session (a synchronizer token derived from its seed)."""
        return ring.mac(f"{self.area}-csrf", f"{tenant_id}:{user_id}:{seed}")

    def csrf_matches(
        self, ring: KeyRing, tenant_id: str, user_id: str, seed: str, submitted: str | None
    ) -> bool:
        if not submitted or len(submitted) > MAX_CSRF:
            return False
        return hmac.compare_digest(self.csrf_for(ring, tenant_id, user_id, seed), submitted)


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, path: str, max_age: int
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, secure=secure_cookies(request), samesite="lax"
    )


def clear_cookie(request: Request, response: Response, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, secure=secure_cookies(request), samesite="lax")
