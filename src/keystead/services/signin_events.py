"""Audit events for the outcomes of sign-in stages, recorded by the services that decide them.

Written to the same audit trail as admin writes (``services/audit.py``), so they appear in the
admin API's ``/audit-events`` and the console's audit page. The actor is the user (their id) once
known, ``anonymous`` before; the address is the client's. A failed password records the login
**as typed** (an administrator investigating an attack needs it) and why it failed; the reason
stays in the audit trail and never reaches a response (the page says the same for every
reason). No password, code or secret is ever recorded.

Actions:

========================================  ======================================================
``signin.password.succeeded``             the first factor passed (``after.login``)
``signin.password.failed``                ``after.login``, ``after.reason``: ``unknown_login``,
                                          ``wrong_password``, ``disabled``
``signin.lockout.started``                a failure locked the login (``after.retry_after``)
``signin.passwordless.succeeded``         a first factor without a password (``after.method``:
                                          ``passkey``, ``email_code``, ``email_link``)
``signin.passwordless.failed``            ``after.method``; the user when known
``signin.second_factor.accepted``         ``after.method``: ``totp``, ``recovery_code``, ...
``signin.second_factor.refused``          ``after.method``, ``after.locked``
``signin.factor.enrolled``                a factor set up during sign-in (``after.kind``)
``signin.breached_password.changed``      the required change of a breached password
``signin.expired_password.changed``       the required change of an expired password
                                          (``password_policy.max_age_days``)
``signin.bot_check.refused``              the bot check failed (``after.provider``)
``signin.password_reset.requested``       "Forgot your password?" sent (``after.login`` as
                                          typed; the user when known; never the link)
``signin.password_reset.completed``       a reset link set a new password (``after.revoked``:
                                          sessions ended, other grants revoked)
``consent.given`` / ``consent.denied``    ``target``: the client, ``after.scopes``
========================================  ======================================================

Throttled attempts (refused before any password is checked) are not recorded one by one: under
a credential-stuffing attack that would turn the throttle into a write amplifier; the lockout
that started them is.
"""

from __future__ import annotations

from typing import Any

from keystead.services.audit import Actor, Audit

ANONYMOUS = "anonymous"
PASSWORD_SUCCEEDED = "signin.password.succeeded"
PASSWORD_FAILED = "signin.password.failed"
LOCKOUT_STARTED = "signin.lockout.started"
PASSWORDLESS_SUCCEEDED = "signin.passwordless.succeeded"
PASSWORDLESS_FAILED = "signin.passwordless.failed"
SECOND_FACTOR_ACCEPTED = "signin.second_factor.accepted"
SECOND_FACTOR_REFUSED = "signin.second_factor.refused"
FACTOR_ENROLLED = "signin.factor.enrolled"
BREACHED_PASSWORD_CHANGED = "signin.breached_password.changed"
EXPIRED_PASSWORD_CHANGED = "signin.expired_password.changed"
BOT_CHECK_REFUSED = "signin.bot_check.refused"
PASSWORD_RESET_REQUESTED = "signin.password_reset.requested"
PASSWORD_RESET_COMPLETED = "signin.password_reset.completed"
CONSENT_GIVEN = "consent.given"
CONSENT_DENIED = "consent.denied"
ACTIONS = (
    PASSWORD_SUCCEEDED,
    PASSWORD_FAILED,
    LOCKOUT_STARTED,
    PASSWORDLESS_SUCCEEDED,
    PASSWORDLESS_FAILED,
    SECOND_FACTOR_ACCEPTED,
    SECOND_FACTOR_REFUSED,
    FACTOR_ENROLLED,
    BREACHED_PASSWORD_CHANGED,
    EXPIRED_PASSWORD_CHANGED,
    BOT_CHECK_REFUSED,
    PASSWORD_RESET_REQUESTED,
    PASSWORD_RESET_COMPLETED,
    CONSENT_GIVEN,
    CONSENT_DENIED,
)
#: The longest login recorded (the sign-in form accepts 320 characters).
MAX_LOGIN = 320


class SignInEvents:
    def __init__(self, audit: Audit) -> None:
        self._audit = audit

    def password_succeeded(self, tenant_id: str, user_id: str, login: str, ip: str | None) -> None:
        self._record(tenant_id, user_id, ip, PASSWORD_SUCCEEDED, user_id, login=login[:MAX_LOGIN])

    def password_failed(
        self, tenant_id: str, login: str, ip: str | None, *, user_id: str | None, reason: str
    ) -> None:
        self._record(tenant_id, None, ip, PASSWORD_FAILED, user_id, login=login[:MAX_LOGIN], reason=reason)

    def lockout_started(
        self, tenant_id: str, login: str, ip: str | None, *, user_id: str | None, retry_after: int
    ) -> None:
        self._record(
            tenant_id, None, ip, LOCKOUT_STARTED, user_id, login=login[:MAX_LOGIN], retry_after=retry_after
        )

    def passwordless(
        self, tenant_id: str, user_id: str | None, ip: str | None, *, method: str, accepted: bool
    ) -> None:
        """A passkey or an emailed code/link as the first factor (``user_id`` is None when a
        refused answer names no known user)."""
        if accepted:
            self._record(tenant_id, user_id, ip, PASSWORDLESS_SUCCEEDED, user_id, method=method)
        else:
            self._record(tenant_id, None, ip, PASSWORDLESS_FAILED, user_id, method=method)

    def second_factor(
        self,
        tenant_id: str,
        user_id: str,
        ip: str | None,
        *,
        method: str,
        accepted: bool,
        locked: bool = False,
    ) -> None:
        if accepted:
            self._record(tenant_id, user_id, ip, SECOND_FACTOR_ACCEPTED, user_id, method=method)
        else:
            self._record(tenant_id, user_id, ip, SECOND_FACTOR_REFUSED, user_id, method=method, locked=locked)

    def factor_enrolled(
        self, tenant_id: str, user_id: str, ip: str | None, *, kind: str, factor_id: str
    ) -> None:
        self._record(tenant_id, user_id, ip, FACTOR_ENROLLED, user_id, kind=kind, factor_id=factor_id)

    def breached_password_changed(self, tenant_id: str, user_id: str, ip: str | None) -> None:
        self._record(tenant_id, user_id, ip, BREACHED_PASSWORD_CHANGED, user_id)

    def password_reset_requested(
        self, tenant_id: str, login: str, ip: str | None, *, user_id: str | None
    ) -> None:
        self._record(tenant_id, None, ip, PASSWORD_RESET_REQUESTED, user_id, login=login[:MAX_LOGIN])

    def password_reset_completed(
        self, tenant_id: str, user_id: str, ip: str | None, *, sessions: int, grants: int
    ) -> None:
        revoked = {"sessions": sessions, "grants": grants}
        self._record(tenant_id, user_id, ip, PASSWORD_RESET_COMPLETED, user_id, revoked=revoked)

    def expired_password_changed(self, tenant_id: str, user_id: str, ip: str | None) -> None:
        self._record(tenant_id, user_id, ip, EXPIRED_PASSWORD_CHANGED, user_id)

    def bot_check_refused(self, tenant_id: str, ip: str | None, *, provider: str, reason: str) -> None:
        self._record(tenant_id, None, ip, BOT_CHECK_REFUSED, None, provider=provider, reason=reason)

    def consent(
        self,
        tenant_id: str,
        user_id: str,
        ip: str | None,
        *,
        client_id: str,
        scopes: tuple[str, ...],
        given: bool,
    ) -> None:
        action = CONSENT_GIVEN if given else CONSENT_DENIED
        self._record(tenant_id, user_id, ip, action, client_id, user_id=user_id, scopes=list(scopes))

    def _record(
        self,
        tenant_id: str,
        actor: str | None,
        ip: str | None,
        action: str,
        target: str | None,
        **after: Any,
    ) -> None:
        self._audit.record(tenant_id, Actor(actor or ANONYMOUS, ip=ip), action, target, after=after or None)
