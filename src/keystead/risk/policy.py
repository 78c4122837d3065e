"""A risk policy: the mode, the score thresholds, each signal's weight and the thresholds that
make a count or a speed count as a signal. Plain data with sane defaults (docs/risk.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

#: ``never``: no evaluation; ``always``: a second factor at every sign-in (a score past ``deny_at``
#: still denies); ``adaptive``: the score decides; ``simulate``: decide as ``adaptive``, record it,
#: enforce nothing.
Mode = Literal["never", "always", "adaptive", "simulate"]
Outcome = Literal["allow", "step_up", "deny"]
MODES: tuple[Mode, ...] = ("never", "always", "adaptive", "simulate")


@dataclass(frozen=True, slots=True)
class Weights:
    """Points each signal adds to the score when it fires (0 turns a signal off)."""

    new_device: int = 25
    new_network: int = 20
    account_failures: int = 25
    ip_failures: int = 20
    ip_accounts: int = 30
    breached_password: int = 45
    stale_mfa: int = 10
    impossible_travel: int = 60
    sensitive_client: int = 20


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    mode: Mode = "adaptive"
    #: a score at or above ``step_up_at`` asks for a second factor; at or above ``deny_at``, refuses
    step_up_at: int = 40
    deny_at: int = 100
    weights: Weights = field(default_factory=Weights)
    #: failed attempts on the login (before this success) that make ``account_failures`` fire
    account_failures_at: int = 3
    #: failed attempts from the address that make ``ip_failures`` fire
    ip_failures_at: int = 20
    #: distinct logins from the address that make ``ip_accounts`` fire
    ip_accounts_at: int = 5
    #: days without a second factor on the device that make ``stale_mfa`` fire
    mfa_stale_days: float = 30.0
    #: a speed above this (km/h, a airliner's is ~900) is impossible travel
    travel_kmh: float = 1000.0
    #: the user has no second factor: a ``step_up`` makes them enrol one (else it is recorded
    #: and the sign-in goes on with the password alone; docs/risk.md says why the default is off)
    enrol_on_step_up: bool = False

    def with_overrides(self, **changes: object) -> RiskPolicy:
        """This policy with a client's overrides (``None`` values ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
