"""Password sign-in: one generic failure for every reason, throttled per account and per IP.

An unknown account costs a dummy hash so that timing does not tell accounts apart; a hash made
with other parameters (``hash_params``: the tenant's, or the server's when ``None``) or another
scheme (imported bcrypt or PBKDF2) is replaced by an argon2id hash on a successful login.

Throttling (services/throttle.py) keys on the login as typed, so an unknown login is delayed and
locked exactly like a real one; a refused attempt checks no password, whether it is right or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from keystead.ports.records import User
from keystead.ports.stores import UserStore
from keystead.services.lockout import Lockouts
from keystead.services.password_policy import offline_policy
from keystead.services.passwords import HashParams, Passwords
from keystead.services.signin_events import SignInEvents
from keystead.services.throttle import AttemptLimiter, account_key


@dataclass(frozen=True, slots=True)
class LoginFailed(Exception):
    retry_after: int = 0

    def __str__(self) -> str:
        return "sign-in failed"


class PasswordLogin:
    def __init__(
        self,
        users: UserStore,
        passwords: Passwords,
        limiter: AttemptLimiter,
        lockouts: Lockouts | None = None,
        events: SignInEvents | None = None,
    ) -> None:
        self._events = events  # stage outcome audit events (services/signin_events.py)
        self._users = users
        self._passwords = passwords
        self._limiter = limiter
        self._lockouts = lockouts or Lockouts(limiter)

    @property
    def limiter(self) -> AttemptLimiter:
        return self._limiter

    def authenticate(
        self, tenant_id: str, login: str, password: str, ip: str, hash_params: HashParams | None = None
    ) -> User:
        return self._authenticate(tenant_id, login, password, ip, hash_params)[0]

    def _authenticate(
        self, tenant_id: str, login: str, password: str, ip: str, hash_params: HashParams | None
    ) -> tuple[User, AttemptCounts]:
        login = login.strip()[:320]
        key = account_key(tenant_id, login)
        verdict = self._limiter.check(key, ip)
        if not verdict.allowed:
            raise LoginFailed(verdict.retry_after)
        accounts = self._limiter.attempted(key, ip)
        user = self._users.user_by_login(tenant_id, login) if login else None
        result = self._passwords.verify(user.password_hash if user else None, password, hash_params)
        if user is None or not result.ok or not user.active:
            locked = self._limiter.failed(key, ip)
            if locked and user is not None:
                self._lockouts.locked(user)
            self._failed(tenant_id, login, ip, user, result.ok, locked)
            raise LoginFailed()
        counts = AttemptCounts(self._limiter.failures(key), verdict.ip_failures, accounts)
        self._limiter.succeeded(key)
        if self._events is not None:
            self._events.password_succeeded(tenant_id, user.id, login, ip)
        if result.new_hash is not None:
            self._users.update_user(tenant_id, user.id, password_hash=result.new_hash)
        return user, counts

    def _failed(
        self, tenant_id: str, login: str, ip: str, user: User | None, password_ok: bool, locked: bool
    ) -> None:
        if self._events is None:
            return
        user_id = user.id if user is not None else None
        reason = "unknown_login" if user is None else "disabled" if password_ok else "wrong_password"
        self._events.password_failed(tenant_id, login, ip, user_id=user_id, reason=reason)
        if locked:
            retry_after = self._limiter.state(account_key(tenant_id, login)).retry_after
            self._events.lockout_started(tenant_id, login, ip, user_id=user_id, retry_after=retry_after)

    def sign_in(
        self, tenant_id: str, login: str, password: str, ip: str, hash_params: HashParams | None = None
    ) -> PasswordSignIn:
        """:meth:`authenticate`, and whether the password is on the shipped breached list
        (offline, O(k)): the flow asks for a change, the risk engine weighs it."""
        user, counts = self._authenticate(tenant_id, login, password, ip, hash_params)
        return PasswordSignIn(user, breached=offline_policy().is_breached(password), attempts=counts)


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    """The throttle counters as they stood at a successful attempt (risk signals, read on the
    way: no extra round trip but the account's failures, which the success then clears)."""

    account_failures: int = 0  # failures on this login before this success
    ip_failures: int = 0
    ip_accounts: int = 0  # distinct logins this address tried in the window


@dataclass(frozen=True, slots=True)
class PasswordSignIn:
    user: User
    breached: bool  # services/password_policy.py: PasswordPolicy.is_breached
    attempts: AttemptCounts = AttemptCounts()
