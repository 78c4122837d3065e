"""Unlock by email: when a failure locks an existing account (services/lockout.py's
``on_lock`` hook), mail its verified address a single-use link that ends the lockout now.

The sign-in answers the same whether or not the account exists (the hook runs only for existing
accounts, after the answer is decided, and its mail is queued, not sent, in the request). One
link per user per send window at most (the send limit), so a flood of lockouts is not a flood of
mail. ``unlock`` spends the link and clears every login key of the user; a wrong, used or
expired link changes nothing, and the page says the same for each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from keystead.errors import KeysteadError
from keystead.ports.records import User
from keystead.services.email_sender import EmailSender, TooManyCodes
from keystead.services.lockout import LockoutEvent, Lockouts
from keystead.services.one_time_codes import UNLOCK, CodeRefused, OneTimeCodes

log = logging.getLogger(__name__)


class UserDirectory(Protocol):
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...


class UnlockLinks:
    def __init__(
        self,
        codes: OneTimeCodes,
        sender: EmailSender,
        directory: UserDirectory,
        lockouts: Lockouts,
        issuer_of: Callable[[str], str | None],
    ) -> None:
        self._codes = codes
        self._sender = sender
        self._directory = directory
        self._lockouts = lockouts
        self._issuer_of = issuer_of

    def on_lock(self, event: LockoutEvent) -> None:
        """The lockout hook: mail an unlock link to a verified address (nothing otherwise)."""
        user = self._directory.user_by_id(event.tenant_id, event.user_id)
        issuer = self._issuer_of(event.tenant_id)
        if user is None or not user.email or not user.email_verified or issuer is None:
            return
        try:
            self._sender.allow(f"{UNLOCK}:{user.tenant_id}:{user.id}")
        except TooManyCodes:
            log.info("unlock link for user %s not sent: send limit reached", user.id)
            return
        ttl = self._codes.settings.unlock_ttl
        issued = self._codes.issue(
            user.tenant_id, user.id, UNLOCK, code=False, link=True, address=user.email, ttl=ttl
        )
        link = f"{issuer}/unlock?token={issued.link_token}"
        self._sender.send(user.tenant_id, "unlock", user.email, {"link": link, "minutes": max(1, ttl // 60)})

    def unlock(self, tenant_id: str, token: str) -> bool:
        """Spend the link and end the user's lockout; ``False`` for any link that is not valid."""
        try:
            used = self._codes.use_link(tenant_id, token[:256], purpose=UNLOCK)
        except (CodeRefused, KeysteadError):
            return False
        user = self._directory.user_by_id(tenant_id, used.user_id) if used.user_id else None
        if (
            user is None
            or not user.email
            or used.address_mac != self._codes.address_mac(tenant_id, user.email)
        ):
            return False
        self._lockouts.unlock(user)
        return True
