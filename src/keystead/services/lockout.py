"""Account lockouts as an administrator sees them: read a user's lock state, unlock them, and
the hook that unlock-by-email-link will use.

A user can be throttled under every login they may type (their username and their email), so
their state is the worst of those keys, and unlocking clears them all.

**Email-link hook.** :meth:`Lockouts.on_lock` registers a listener called with a
:class:`LockoutEvent` each time a failure locks an *existing* account (an unknown login has no
one to tell). The future email sender subscribes there, mails the user a signed single-use link,
and when the link is followed calls :meth:`Lockouts.unlock`. Listeners run in the sign-in
request after the failure is counted; they must be quick and must not raise (an exception is
logged and swallowed: a broken mailer must not change what the sign-in answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from keystead.ports.records import User
from keystead.services.throttle import AccountState, AttemptLimiter, account_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LockoutEvent:
    tenant_id: str
    user_id: str
    #: Seconds until the lockout ends by itself.
    retry_after: int


class Lockouts:
    def __init__(self, limiter: AttemptLimiter) -> None:
        self._limiter = limiter
        self._listeners: list[Callable[[LockoutEvent], None]] = []

    def on_lock(self, listener: Callable[[LockoutEvent], None]) -> None:
        self._listeners.append(listener)

    def state(self, user: User) -> AccountState:
        states = [self._limiter.state(key) for key in _keys(user)]
        return AccountState(
            failures=max(s.failures for s in states),
            locked=any(s.locked for s in states),
            delayed=any(s.delayed for s in states) and not any(s.locked for s in states),
            retry_after=max(s.retry_after for s in states),
        )

    def unlock(self, user: User) -> None:
        for key in _keys(user):
            self._limiter.unlock(key)

    def locked(self, user: User) -> None:
        """Called by the sign-in when a failure has just locked ``user``."""
        event = LockoutEvent(user.tenant_id, user.id, self.state(user).retry_after)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("a lockout listener failed for user %s", user.id)


def _keys(user: User) -> list[str]:
    logins = [user.username] + ([user.email] if user.email else [])
    return list(dict.fromkeys(account_key(user.tenant_id, login) for login in logins))
