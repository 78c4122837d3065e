"""Users of a tenant: usernames and emails unique per tenant, case-insensitively."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from keystead.errors import InvalidInput, NotFound, Stale
from keystead.ports.records import User
from keystead.ports.stores import UserStore
from keystead.services import validation
from keystead.services.password_policy import PasswordPolicy, offline_policy
from keystead.services.passwords import Passwords
from keystead.services.tenant_settings import PasswordPolicy as PolicySettings
from keystead.services.tenant_settings import TenantSettings
from keystead.types import Clock

MIN_PASSWORD_LENGTH = 8
PROFILE_FIELDS = ("given_name", "family_name", "name", "phone_number", "locale", "address")
ROLE_PATTERN = re.compile(r"[a-z][a-z0-9:_-]{0,62}")
MAX_ROLES = 50


class Users:
    def __init__(
        self,
        store: UserStore,
        passwords: Passwords,
        clock: Clock,
        settings_for: Callable[[str], TenantSettings] | None = None,
        policy: PasswordPolicy | None = None,
    ) -> None:
        """``settings_for(tenant_id)``: the tenant's password policy and hashing parameters;
        ``policy`` checks passwords against it (default: the shipped list, no range queries)."""
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._settings_for = settings_for
        self._policy = policy or offline_policy()

    @property
    def policy(self) -> PasswordPolicy:
        """The password checker (``is_breached`` for the login flow and the risk engine)."""
        return self._policy

    def create(
        self,
        tenant_id: str,
        username: str,
        *,
        email: str | None = None,
        password: str | None = None,
        email_verified: bool = False,
        roles: Iterable[str] = (),
        **profile: Any,
    ) -> User:
        now = self._clock()
        username, email = validation.username(username), validation.email(email)
        user = User(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            username=username,
            email=email,
            email_verified=email_verified,
            password_hash=self._hash(tenant_id, password, username, email) if password is not None else None,
            password_changed_at=now if password is not None else None,
            created_at=now,
            updated_at=now,
            roles=_roles(roles),
            **_profile(profile),
        )
        self._store.add_user(user)
        return user

    def get(self, tenant_id: str, user_id: str) -> User:
        user = self._store.user_by_id(tenant_id, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    def find(self, tenant_id: str, login: str) -> User:
        user = self._store.user_by_login(tenant_id, login)
        if user is None:
            raise NotFound("no such user")
        return user

    def list(self, tenant_id: str, *, after: str | None = None, limit: int = 100) -> Sequence[User]:
        return self._store.list_users(tenant_id, after=after, limit=limit)

    def update(self, tenant_id: str, user_id: str, *, expected: User | None = None, **changes: Any) -> User:
        """Change profile fields, username or email. With ``expected`` (the version the caller
        read), the write only happens if nobody changed the user since: else :class:`Stale`."""
        user = expected or self.get(tenant_id, user_id)
        fields: dict[str, Any] = _profile({k: v for k, v in changes.items() if k in PROFILE_FIELDS})
        if "username" in changes:
            fields["username"] = validation.username(changes["username"])
        if "email" in changes:
            fields["email"] = validation.email(changes["email"])
            fields["email_verified"] = bool(changes.get("email_verified", False))
        if "roles" in changes:
            fields["roles"] = _roles(changes["roles"] or ())
        return self._write(user, fields, checked=expected is not None)

    def set_status(self, tenant_id: str, user_id: str, status: str, *, expected: User | None = None) -> User:
        if status not in ("active", "disabled"):
            raise InvalidInput("status", "status is active or disabled")
        user = expected or self.get(tenant_id, user_id)
        return self._write(user, {"status": status}, checked=expected is not None)

    def set_password(self, tenant_id: str, user_id: str, password: str) -> User:
        """After the tenant's password policy (:mod:`keystead.services.password_policy`)."""
        user = self.get(tenant_id, user_id)
        password_hash = self._hash(tenant_id, password, user.username, user.email)
        fields = {"password_hash": password_hash, "password_changed_at": self._clock()}
        return self._write(user, fields, checked=False)

    def delete(self, tenant_id: str, user_id: str) -> None:
        if not self._store.delete_user(tenant_id, user_id):
            raise NotFound("no such user")

    def _write(self, user: User, fields: dict[str, Any], *, checked: bool) -> User:
        # updated_at must change on every write for compare-and-set to see it
        fields["updated_at"] = max(self._clock(), user.updated_at + 1e-6)
        expected_updated_at = user.updated_at if checked else None
        if not self._store.update_user(
            user.tenant_id, user.id, expected_updated_at=expected_updated_at, **fields
        ):
            if checked and self._store.user_by_id(user.tenant_id, user.id) is not None:
                raise Stale("the user was changed since it was read")
            raise NotFound("no such user")
        return replace(user, **fields)

    def _hash(self, tenant_id: str, password: str, username: str, email: str | None) -> str:
        """argon2id with the tenant's parameters, after the tenant's password policy."""
        settings = self._settings_for(tenant_id) if self._settings_for else None
        rules = settings.password_policy if settings else PolicySettings()
        context = (settings.branding.display_name or "",) if settings else ()
        self._policy.check(password, rules, username=username, email=email, context=context)
        return self._passwords.hash(password, settings.hash_params if settings else None)


def _roles(values: Iterable[str]) -> tuple[str, ...]:
    """Role names, deduplicated in order: lowercase, 1-63 of ``a-z0-9:_-``, a letter first."""
    roles = tuple(dict.fromkeys(values))
    if len(roles) > MAX_ROLES or not all(isinstance(r, str) and ROLE_PATTERN.fullmatch(r) for r in roles):
        raise InvalidInput("roles", f"at most {MAX_ROLES} role names matching {ROLE_PATTERN.pattern}")
    return roles


def _profile(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown profile field")
    for name, value in values.items():
        if name == "address":
            if value is not None and not isinstance(value, dict):
                raise InvalidInput(name, "address is an object")
        elif value is not None and (not isinstance(value, str) or len(value) > 255):
            raise InvalidInput(name, "must be a string of at most 255 characters")
    return values
