"""A user's second factors, in one small API for the flow engine, the admin API and (later)
the account page: enrol and activate TOTP, verify a TOTP code, generate and use recovery codes,
list (never secrets), remove one, reset all.

Errors: ``NotFound`` (no such user or factor), ``InvalidInput`` (a bad name, activating an
active factor), ``InvalidCode`` and ``FactorLocked`` (services.factor_checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from keystead.errors import NotFound
from keystead.ports.records import UserFactor
from keystead.ports.stores import FactorStore
from keystead.services import recovery_codes, totp
from keystead.services.factor_checks import (
    Directory,
    FactorError,
    FactorLimits,
    FactorLocked,
    FactorUse,
    InvalidCode,
    locked_for,
)
from keystead.services.recovery_codes import RecoveryCodes, RecoveryCodeService
from keystead.services.secrets import KeyRing
from keystead.services.totp import Totp, TotpEnrolment
from keystead.types import Clock


@dataclass(frozen=True, slots=True)
class FactorSummary:
    """What may be shown about a factor: no seed, no code, no HMAC."""

    id: str
    kind: str
    name: str
    status: str
    created_at: float
    last_used_at: float | None
    remaining_codes: int | None  # recovery codes only
    locked_until: float | None  # while too many wrong codes lock it


def summary(factor: UserFactor, now: float) -> FactorSummary:
    wait = locked_for(factor, now)
    return FactorSummary(
        id=factor.id,
        kind=factor.kind,
        name=factor.name,
        status=factor.status,
        created_at=factor.created_at,
        last_used_at=factor.last_used_at,
        remaining_codes=recovery_codes.remaining(factor) if factor.kind == recovery_codes.KIND else None,
        locked_until=now + wait if wait > 0 else None,
    )


class Factors:
    def __init__(
        self,
        store: FactorStore,
        directory: Directory,
        ring: KeyRing,
        clock: Clock,
        limits: FactorLimits | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock
        self.totp = Totp(store, directory, ring, clock, limits)
        self.recovery_codes = RecoveryCodeService(store, directory, ring, clock, limits)

    def enrol_totp(self, tenant_id: str, user_id: str, *, name: str | None = None) -> TotpEnrolment:
        return self.totp.enrol(tenant_id, user_id, name=name)

    def activate_totp(self, tenant_id: str, user_id: str, factor_id: str, code: str) -> FactorUse:
        return self.totp.activate(tenant_id, user_id, factor_id, code)

    def verify_totp(
        self, tenant_id: str, user_id: str, code: str, *, factor_id: str | None = None
    ) -> FactorUse:
        return self.totp.verify(tenant_id, user_id, code, factor_id=factor_id)

    def generate_recovery_codes(self, tenant_id: str, user_id: str) -> RecoveryCodes:
        return self.recovery_codes.generate(tenant_id, user_id)

    def use_recovery_code(self, tenant_id: str, user_id: str, code: str) -> FactorUse:
        return self.recovery_codes.use(tenant_id, user_id, code)

    def list_factors(self, tenant_id: str, user_id: str) -> list[FactorSummary]:
        """Every factor of the user, pending ones included, oldest first."""
        self._user(tenant_id, user_id)
        now = self._clock()
        return [summary(f, now) for f in self._store.factors_of_user(tenant_id, user_id)]

    def has_second_factor(self, tenant_id: str, user_id: str) -> bool:
        """Whether the user can answer a second-factor challenge (an active TOTP, or recovery
        codes left)."""
        return any(
            f.status == "active" and (f.kind != recovery_codes.KIND or recovery_codes.remaining(f) > 0)
            for f in self._store.factors_of_user(tenant_id, user_id)
        )

    def remove_factor(self, tenant_id: str, user_id: str, factor_id: str) -> FactorSummary:
        """Delete one factor; the summary of what was removed."""
        factor = self._store.factor_by_id(tenant_id, user_id, factor_id)
        if factor is None or not self._store.delete_factor(tenant_id, user_id, factor_id):
            raise NotFound("no such factor")
        return summary(factor, self._clock())

    def reset(self, tenant_id: str, user_id: str) -> int:
        """Delete every factor of the user (they sign in with their first factor and enrol
        again); how many were removed."""
        self._user(tenant_id, user_id)
        return self._store.delete_factors_of_user(tenant_id, user_id)

    def _user(self, tenant_id: str, user_id: str) -> None:
        if self._directory.user_by_id(tenant_id, user_id) is None:
            raise NotFound("no such user")


__all__ = [
    "FactorError",
    "FactorLimits",
    "FactorLocked",
    "FactorSummary",
    "FactorUse",
    "Factors",
    "InvalidCode",
    "RecoveryCodes",
    "TotpEnrolment",
    "summary",
    "totp",
]
