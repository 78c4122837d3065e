"""What every second factor shares: its errors, its attempt limit, and the compare-and-set
loop that consumes a code.

The attempt limit lives on the factor's own record (``data["failures"]``,
``data["locked_until"]``), not in the login throttle: ``max_failures`` wrong codes in a row
lock the factor for ``lockout_seconds``; while locked, codes are not even checked (a right code
then proves nothing to the guesser). A success resets the count. Every write is a
compare-and-set on the record's version, so concurrent attempts neither lose failures nor both
consume one code: the loser re-reads and judges again against the new state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from keystead.errors import Conflict, KeysteadError, NotFound
from keystead.ports.records import Tenant, User, UserFactor
from keystead.ports.stores import FactorStore
from keystead.services.secrets import KeyRing
from keystead.types import Clock

#: RFC 8176 ``amr`` values for a factor kind (see docs/mfa.md).
AMR: Mapping[str, tuple[str, ...]] = {"totp": ("otp",), "recovery_codes": ("otp",)}

#: Compare-and-set retries before an attempt gives up (only under a storm of concurrent writes).
MAX_RACES = 32


class FactorError(KeysteadError):
    """A second factor refused an attempt."""


class InvalidCode(FactorError):
    """The code is wrong, malformed, or already used; the failure was counted."""

    def __init__(self, description: str = "the code is not valid") -> None:
        super().__init__(description)


class FactorLocked(FactorError):
    """Too many wrong codes: the factor refuses every code for ``retry_after`` more seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many wrong codes; try again later")
        self.retry_after = max(0.0, retry_after)


@dataclass(frozen=True, slots=True)
class FactorLimits:
    max_failures: int = 5
    lockout_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class FactorUse:
    """A successful second-factor check: the factor as now stored, and its ``amr`` values."""

    factor: UserFactor
    amr: tuple[str, ...]


class Directory(Protocol):
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...
    def tenant_by_id(self, tenant_id: str) -> Tenant | None: ...


#: A judge looks at a factor at a time: ``None`` if the attempt fails, otherwise the fields to
#: write (``data`` replaces the whole ``data``).
Judge = Callable[[UserFactor, float], dict[str, Any] | None]


def locked_for(factor: UserFactor, now: float) -> float:
    """Seconds the factor stays locked (0 when it accepts attempts)."""
    until = factor.data.get("locked_until")
    return float(until) - now if isinstance(until, int | float) and until > now else 0.0


class Attempts:
    def __init__(self, store: FactorStore, clock: Clock, limits: FactorLimits) -> None:
        self._store = store
        self._clock = clock
        self._limits = limits

    def attempt(self, tenant_id: str, user_id: str, factor_id: str, judge: Judge) -> UserFactor:
        """Run ``judge`` on the stored factor and write its outcome (a success's fields, or one
        more failure) as a compare-and-set, judging again if the factor changed meanwhile."""
        for _ in range(MAX_RACES):
            factor = self._store.factor_by_id(tenant_id, user_id, factor_id)
            if factor is None:
                raise NotFound("no such factor")
            now = self._clock()
            wait = locked_for(factor, now)
            if wait > 0:
                raise FactorLocked(wait)
            changes = judge(factor, now)
            if changes is None:
                if self._store.update_factor(factor, data=self._failed(factor.data, now)) is None:
                    continue
                raise InvalidCode()
            data = {**changes.pop("data", factor.data), "failures": 0, "locked_until": None}
            updated = self._store.update_factor(factor, data=data, last_used_at=now, **changes)
            if updated is not None:
                return updated
        raise Conflict("the factor changed too often meanwhile; try again")

    def _failed(self, data: dict[str, Any], now: float) -> dict[str, Any]:
        failures = int(data.get("failures") or 0) + 1
        if failures >= self._limits.max_failures:
            return {**data, "failures": 0, "locked_until": now + self._limits.lockout_seconds}
        return {**data, "failures": failures}


class FactorService:
    """What every kind of factor needs: its store, the directory, the key ring, the clock and
    the per-factor attempt limit."""

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
        self._ring = ring
        self._clock = clock
        self._attempts = Attempts(store, clock, limits or FactorLimits())
