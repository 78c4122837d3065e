"""The explainable risk engine (sans-IO): typed signals of one sign-in attempt, a policy of
weights and thresholds, and a decision (``allow`` / ``step_up`` / ``deny``) whose every
contribution says which signal, what was observed, what it weighed and why. No I/O, no clock,
no randomness: the services gather the signals (keystead.services.risk) and enforce the outcome.
See docs/risk.md."""

from keystead.risk.engine import Contribution, Decision, evaluate, ip_is_risky
from keystead.risk.policy import DEFAULT_WEIGHTS, Mode, Outcome, RiskPolicy, Weights
from keystead.risk.signals import Signals

__all__ = [
    "DEFAULT_WEIGHTS",
    "Contribution",
    "Decision",
    "Mode",
    "Outcome",
    "RiskPolicy",
    "Signals",
    "Weights",
    "evaluate",
    "ip_is_risky",
]
