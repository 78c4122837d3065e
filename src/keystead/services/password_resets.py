"""Account recovery: "Forgot your password?" (docs/account-recovery.md).

``request`` answers the same whatever was typed. It counts the send against the login as typed
and the client's address, records ``signin.password_reset.requested`` (the login as typed), looks
the login up and issues a ``password_reset`` link challenge (one_time_codes, stored as HMACs) —
for an unknown login, a disabled account or one without a verified email too, with no user in
it, and the message is composed but not sent. So the answer and the work done are the same, and
no such link can ever set a password.

``check`` tells whether a link is live without spending it (the "choose a new password" page).
``complete`` sets the password under the tenant's policy (a refusal leaves the link usable),
then spends the link, ends the user's lockout, revokes every SSO session (and the grants made in
them) and every other live grant (refresh tokens, and the access tokens bound to them), records
``signin.password_reset.completed`` and mails a "your password was changed" notice. Second
factors are untouched: the next sign-in still asks for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.ports.one_time_codes import OneTimeCode
from keystead.ports.records import Grant, User
from keystead.services.email_sender import EmailSender
from keystead.services.lockout import Lockouts
from keystead.services.one_time_codes import PASSWORD_RESET, CodeRefused, OneTimeCodes
from keystead.services.signin_events import SignInEvents
from keystead.services.throttle import account_key
from keystead.types import Clock

MAX_LOGIN = 320


class Directory(Protocol):
    def user_by_login(self, tenant_id: str, login: str) -> User | None: ...
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...


class GrantStore(Protocol):
    def grants_of_user(
        self, tenant_id: str, user_id: str, *, after: tuple[float, str] | None, limit: int
    ) -> Sequence[Grant]: ...
    def revoke_grant(self, tenant_id: str, grant_id: str, *, now: float) -> None: ...


class PasswordSetter(Protocol):
    def set_password(self, tenant_id: str, user_id: str, password: str) -> User: ...


class SessionEnder(Protocol):
    def end_all_of_user(self, tenant_id: str, user_id: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Completed:
    user: User
    sessions: int
    grants: int


class PasswordResets:
    def __init__(
        self,
        codes: OneTimeCodes,
        sender: EmailSender,
        directory: Directory,
        users: PasswordSetter,
        sessions: SessionEnder,
        grants: GrantStore,
        lockouts: Lockouts,
        events: SignInEvents,
        clock: Clock,
    ) -> None:
        self._codes = codes
        self._sender = sender
        self._directory = directory
        self._users = users
        self._sessions = sessions
        self._grants = grants
        self._lockouts = lockouts
        self._events = events
        self._clock = clock

    @property
    def minutes(self) -> int:
        return max(1, self._codes.settings.reset_ttl // 60)

    def request(self, tenant_id: str, login: str, ip: str, *, link: str) -> None:
        """Send (or only compose) the reset mail; ``TooManyCodes`` past a send limit.

        ``link`` is the page's address with ``{token}`` where the link token goes."""
        login = login.strip()[:MAX_LOGIN]
        self._sender.allow(
            f"{PASSWORD_RESET}:ip:{tenant_id}:{ip}", limit=self._codes.settings.reset_sends_per_ip
        )
        self._sender.allow(f"{PASSWORD_RESET}:{account_key(tenant_id, login)}")
        user = self._directory.user_by_login(tenant_id, login) if login else None
        self._events.password_reset_requested(tenant_id, login, ip, user_id=user.id if user else None)
        eligible = user is not None and user.active and bool(user.email) and user.email_verified
        address = user.email if eligible and user is not None and user.email else login or "-"
        issued = self._codes.issue(
            tenant_id,
            user.id if eligible and user is not None else None,
            PASSWORD_RESET,
            code=False,
            link=True,
            address=address,
            ttl=self._codes.settings.reset_ttl,
        )
        values = {"link": link.replace("{token}", issued.link_token or ""), "minutes": self.minutes}
        if eligible:
            self._sender.send(tenant_id, "password_reset", address, values)
        else:
            self._sender.compose(tenant_id, "password_reset", address, values)

    def check(self, tenant_id: str, token: str) -> User:
        """The user a live link belongs to; ``CodeRefused`` for any link that does not work."""
        return self._user(self._codes.peek_link(tenant_id, token[:256], purpose=PASSWORD_RESET))

    def complete(self, tenant_id: str, token: str, password: str, ip: str | None) -> Completed:
        """Set the new password and spend the link (see the module docstring).

        ``InvalidInput`` (field ``password``) when the policy refuses it: nothing is spent.
        The password is set before the link is spent (so a refusal leaves it usable); of two
        posts of one link at the same moment, both may set a password (the last one stays) but
        only one completes (revocations, event, notice), the other gets ``CodeRefused``."""
        user = self.check(tenant_id, token)
        user = self._users.set_password(tenant_id, user.id, password)
        self._user(self._codes.use_link(tenant_id, token[:256], purpose=PASSWORD_RESET))
        self._lockouts.unlock(user)
        sessions = len(self._sessions.end_all_of_user(tenant_id, user.id))
        grants = self._revoke_grants(tenant_id, user.id)
        self._events.password_reset_completed(tenant_id, user.id, ip, sessions=sessions, grants=grants)
        if user.email:
            self._sender.send(tenant_id, "password_changed", user.email, {})
        return Completed(user, sessions, grants)

    def _revoke_grants(self, tenant_id: str, user_id: str) -> int:
        """Every live grant of the user left after the sessions ended (refresh tokens)."""
        revoked = 0
        now = self._clock()
        while batch := self._grants.grants_of_user(tenant_id, user_id, after=None, limit=100):
            for grant in batch:
                self._grants.revoke_grant(tenant_id, grant.id, now=now)
                revoked += 1
        return revoked

    def _user(self, row: OneTimeCode) -> User:
        user = self._directory.user_by_id(row.tenant_id, row.user_id) if row.user_id else None
        if user is None or not user.active or not user.email:
            raise CodeRefused()
        if row.address_mac != self._codes.address_mac(row.tenant_id, user.email):
            raise CodeRefused()  # the address changed since the link was sent
        return user
