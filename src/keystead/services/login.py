"""Password sign-in: one generic failure for every reason, throttled per account and per IP.

An unknown account costs a dummy hash so that timing does not tell accounts apart; a hash made
with other parameters (``hash_params``: the tenant's, or the server's when ``None``) or another
scheme (imported bcrypt or PBKDF2) is replaced by an argon2id hash on a successful login.
"""

from __future__ import annotations

from dataclasses import dataclass

from keystead.ports.records import User
from keystead.ports.stores import UserStore
from keystead.services.passwords import HashParams, Passwords
from keystead.services.throttle import AttemptLimiter


@dataclass(frozen=True, slots=True)
class LoginFailed(Exception):
    retry_after: int = 0

    def __str__(self) -> str:
        return "sign-in failed"


class PasswordLogin:
    def __init__(self, users: UserStore, passwords: Passwords, limiter: AttemptLimiter) -> None:
        self._users = users
        self._passwords = passwords
        self._limiter = limiter

    def authenticate(
        self, tenant_id: str, login: str, password: str, ip: str, hash_params: HashParams | None = None
    ) -> User:
        login = login.strip()[:320]
        account_key = f"{tenant_id}:{login.casefold()}"
        verdict = self._limiter.check(account_key, ip)
        if not verdict.allowed:
            raise LoginFailed(verdict.retry_after)
        user = self._users.user_by_login(tenant_id, login) if login else None
        result = self._passwords.verify(user.password_hash if user else None, password, hash_params)
        if user is None or not result.ok or not user.active:
            self._limiter.failed(account_key, ip)
            raise LoginFailed()
        self._limiter.succeeded(account_key)
        if result.new_hash is not None:
            self._users.update_user(tenant_id, user.id, password_hash=result.new_hash)
        return user
