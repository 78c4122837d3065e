"""Signals and a policy in, an explained decision out: pure, deterministic, no I/O.

Every signal gives one :class:`Contribution` (fired or not, with the observed value, the weight
it added and a reason in words), the score is the sum of the weights added, and the policy's
thresholds turn the score into ``allow`` / ``step_up`` / ``deny``. The mode then says what is
enforced: ``simulate`` enforces ``allow`` whatever was decided; ``always`` enforces at least
``step_up``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keystead.risk.policy import Mode, Outcome, RiskPolicy
from keystead.risk.signals import Signals

Observed = bool | int | float | None


@dataclass(frozen=True, slots=True)
class Contribution:
    signal: str
    observed: Observed
    weight: int  # the points added (0 when the signal did not fire or is unknown)
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "observed": self.observed,
            "weight": self.weight,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    mode: Mode
    score: int
    outcome: Outcome  # what the score and mode decide
    enforced: Outcome  # what the sign-in does (``allow`` in simulate mode)
    contributions: tuple[Contribution, ...]
    step_up_at: int
    deny_at: int

    @property
    def fired(self) -> tuple[Contribution, ...]:
        return tuple(c for c in self.contributions if c.weight)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "score": self.score,
            "outcome": self.outcome,
            "enforced": self.enforced,
            "thresholds": {"step_up": self.step_up_at, "deny": self.deny_at},
            "contributions": [c.to_dict() for c in self.contributions],
        }


Rule = Callable[[Signals, RiskPolicy], Contribution]


def _flag(name: str, yes: str, no: str, unknown: str) -> Rule:
    def rule(s: Signals, p: RiskPolicy) -> Contribution:
        value: bool | None = getattr(s, name)
        weight = getattr(p.weights, name)
        if value is None:
            return Contribution(name, None, 0, unknown)
        return Contribution(name, value, weight if value else 0, yes if value else no)

    return rule


def _count(name: str, threshold: str, what: str) -> Rule:
    def rule(s: Signals, p: RiskPolicy) -> Contribution:
        value: int = getattr(s, name)
        at: int = getattr(p, threshold)
        if value >= at:
            return Contribution(name, value, getattr(p.weights, name), f"{value} {what} (>= {at})")
        return Contribution(name, value, 0, f"{value} {what} (< {at})")

    return rule


def _stale_mfa(s: Signals, p: RiskPolicy) -> Contribution:
    days = s.days_since_mfa
    if days is None:
        return Contribution("stale_mfa", None, p.weights.stale_mfa, "no second factor on this device yet")
    if days >= p.mfa_stale_days:
        reason = f"last second factor on this device {days:.0f} days ago (>= {p.mfa_stale_days:g})"
        return Contribution("stale_mfa", round(days, 2), p.weights.stale_mfa, reason)
    reason = f"second factor on this device {days:.0f} days ago (< {p.mfa_stale_days:g})"
    return Contribution("stale_mfa", round(days, 2), 0, reason)


def _travel(s: Signals, p: RiskPolicy) -> Contribution:
    kmh = s.travel_kmh
    if kmh is None:
        return Contribution("impossible_travel", None, 0, "unknown (no GeoIP location to compare)")
    if kmh > p.travel_kmh:
        reason = f"{kmh:.0f} km/h from the last sign-in's place (> {p.travel_kmh:g})"
        return Contribution("impossible_travel", round(kmh), p.weights.impossible_travel, reason)
    return Contribution("impossible_travel", round(kmh), 0, f"{kmh:.0f} km/h (<= {p.travel_kmh:g})")


RULES: tuple[Rule, ...] = (
    _flag("new_device", "a device not seen before", "a known device", "unknown (no known device yet)"),
    _flag("new_network", "a network not seen before", "a known network", "unknown (no known network yet)"),
    _count("account_failures", "account_failures_at", "failed attempts on this login"),
    _count("ip_failures", "ip_failures_at", "failed attempts from this address"),
    _count("ip_accounts", "ip_accounts_at", "logins tried from this address"),
    _flag("breached_password", "the password is on the breached list", "not on the breached list", ""),
    _stale_mfa,
    _travel,
    _flag("sensitive_client", "the application is marked sensitive", "an ordinary application", ""),
)


def evaluate(signals: Signals, policy: RiskPolicy) -> Decision:
    """The decision for ``signals`` under ``policy`` (every rule explained, in a fixed order)."""
    contributions = tuple(rule(signals, policy) for rule in RULES)
    score = sum(c.weight for c in contributions)
    if score >= policy.deny_at:
        outcome: Outcome = "deny"
    elif score >= policy.step_up_at or policy.mode == "always":
        outcome = "step_up"
    else:
        outcome = "allow"
    if policy.mode == "never":
        outcome = "allow"
    enforced: Outcome = "allow" if policy.mode == "simulate" else outcome
    return Decision(policy.mode, score, outcome, enforced, contributions, policy.step_up_at, policy.deny_at)


def ip_is_risky(ip_failures: int, ip_accounts: int, policy: RiskPolicy | None = None) -> bool:
    """Before any password: whether the address alone looks risky (its failures or the logins it
    tried are at the policy's thresholds). For checks that run before the first factor, e.g. a
    bot check in ``when_risky`` mode; keystead.services.risk.RiskService.ip_is_risky reads the
    counters."""
    p = policy or RiskPolicy()
    return ip_failures >= p.ip_failures_at or ip_accounts >= p.ip_accounts_at
