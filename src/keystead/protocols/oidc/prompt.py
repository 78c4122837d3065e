"""What an authorization request needs from the user before a code can be issued
(OIDC Core section 3.1.2.1: ``prompt``, ``max_age``, ``id_token_hint``; section 3.1.2.6 errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from keystead.protocols.oauth2.authorization import AuthorizationRequest
from keystead.protocols.oauth2.errors import ConsentRequired, LoginRequired

LOGIN = "login"
CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class Authentication:
    """The end-user's current authentication, from an SSO session or a finished login step."""

    subject: str
    auth_time: float
    fresh: bool = False  # authenticated during this very request


def steps_needed(
    request: AuthorizationRequest,
    authn: Authentication | None,
    *,
    now: float,
    hinted_subject: str | None,
    consent_on_record: bool,
    first_party: bool,
) -> tuple[str, ...]:
    """The interaction steps still needed, or a ``prompt=none`` error when one would be."""
    steps: list[str] = []
    if _needs_login(request, authn, now=now, hinted_subject=hinted_subject):
        steps.append(LOGIN)
    if _needs_consent(request, consent_on_record=consent_on_record, first_party=first_party):
        steps.append(CONSENT)
    if "none" in request.prompt and steps:
        if LOGIN in steps:
            raise LoginRequired("the end-user is not signed in")
        raise ConsentRequired("the end-user has not consented to this client")
    return tuple(steps)


def _needs_login(
    request: AuthorizationRequest,
    authn: Authentication | None,
    *,
    now: float,
    hinted_subject: str | None,
) -> bool:
    if authn is None:
        return True
    if authn.fresh:
        return False
    if "login" in request.prompt or "select_account" in request.prompt:
        return True
    if request.max_age is not None and now - authn.auth_time > request.max_age:
        return True
    return hinted_subject is not None and hinted_subject != authn.subject


def _needs_consent(request: AuthorizationRequest, *, consent_on_record: bool, first_party: bool) -> bool:
    if first_party:
        return False
    return "consent" in request.prompt or not consent_on_record
