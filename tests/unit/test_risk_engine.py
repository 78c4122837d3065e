"""The risk engine (keystead.risk): every signal explained, scores and thresholds, modes, and
the engine's purity (no I/O imports, the same answer for the same input)."""

from __future__ import annotations

import ast
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from keystead.risk import RiskPolicy, Signals, Weights, evaluate, ip_is_risky

KNOWN = Signals(new_device=False, new_network=False, days_since_mfa=1.0)


def _by_signal(decision):
    return {c.signal: c for c in decision.contributions}


def test_a_known_device_and_network_is_allowed_with_every_signal_explained():
    decision = evaluate(KNOWN, RiskPolicy())
    assert decision.outcome == decision.enforced == "allow"
    assert decision.score == 0
    assert [c.signal for c in decision.contributions] == [
        "new_device",
        "new_network",
        "account_failures",
        "ip_failures",
        "ip_accounts",
        "breached_password",
        "stale_mfa",
        "impossible_travel",
        "sensitive_client",
    ]
    assert all(c.reason for c in decision.contributions)
    assert _by_signal(decision)["new_device"].reason == "a known device"


def test_a_breached_password_alone_steps_up():
    decision = evaluate(replace(KNOWN, breached_password=True), RiskPolicy())
    assert decision.outcome == "step_up"
    fired = {c.signal: c.weight for c in decision.fired}
    assert fired == {"breached_password": 45}
    assert decision.score == 45


def test_a_new_network_after_failures_steps_up_and_says_why():
    decision = evaluate(replace(KNOWN, new_network=True, account_failures=4), RiskPolicy())
    assert decision.outcome == "step_up"
    failures = _by_signal(decision)["account_failures"]
    assert (failures.observed, failures.weight) == (4, 25)
    assert failures.reason == "4 failed attempts on this login (>= 3)"
    assert decision.score == 45


def test_counts_below_their_thresholds_add_nothing():
    decision = evaluate(replace(KNOWN, account_failures=2, ip_failures=19, ip_accounts=4), RiskPolicy())
    assert decision.score == 0
    assert _by_signal(decision)["ip_accounts"].reason == "4 logins tried from this address (< 5)"


def test_unknown_signals_contribute_nothing():
    decision = evaluate(Signals(days_since_mfa=0.0), RiskPolicy())
    by = _by_signal(decision)
    assert by["new_device"].observed is None and by["new_device"].weight == 0
    assert by["impossible_travel"].observed is None and by["impossible_travel"].weight == 0
    assert by["impossible_travel"].reason.startswith("unknown")
    assert decision.outcome == "allow"


def test_impossible_travel_steps_up_and_with_a_breached_password_denies():
    travel = replace(KNOWN, travel_kmh=9000.0)
    assert evaluate(travel, RiskPolicy()).outcome == "step_up"
    assert _by_signal(evaluate(travel, RiskPolicy()))["impossible_travel"].observed == 9000
    both = evaluate(replace(travel, breached_password=True), RiskPolicy())
    assert both.outcome == both.enforced == "deny"
    assert both.score == 105
    assert evaluate(replace(KNOWN, travel_kmh=500.0), RiskPolicy()).outcome == "allow"


def test_stale_or_missing_mfa_adds_its_weight():
    assert _by_signal(evaluate(replace(KNOWN, days_since_mfa=45.0), RiskPolicy()))["stale_mfa"].weight == 10
    assert _by_signal(evaluate(replace(KNOWN, days_since_mfa=None), RiskPolicy()))["stale_mfa"].weight == 10
    assert _by_signal(evaluate(replace(KNOWN, days_since_mfa=29.0), RiskPolicy()))["stale_mfa"].weight == 0


def test_simulate_decides_like_adaptive_and_enforces_allow():
    decision = evaluate(replace(KNOWN, breached_password=True), RiskPolicy(mode="simulate"))
    assert (decision.outcome, decision.enforced) == ("step_up", "allow")


def test_always_steps_up_even_at_score_zero_and_never_allows():
    assert evaluate(KNOWN, RiskPolicy(mode="always")).enforced == "step_up"
    risky = replace(KNOWN, breached_password=True, travel_kmh=9000.0)
    assert evaluate(risky, RiskPolicy(mode="always")).enforced == "deny"
    assert evaluate(risky, RiskPolicy(mode="never")).enforced == "allow"


def test_weights_and_thresholds_come_from_the_policy():
    policy = RiskPolicy(weights=Weights(new_device=50), step_up_at=30)
    decision = evaluate(replace(KNOWN, new_device=True), policy)
    assert (decision.score, decision.outcome) == (50, "step_up")
    off = RiskPolicy(weights=Weights(breached_password=0))
    assert evaluate(replace(KNOWN, breached_password=True), off).outcome == "allow"


def test_client_overrides_replace_only_what_they_set():
    policy = RiskPolicy().with_overrides(mode="always", step_up_at=None)
    assert policy.mode == "always" and policy.step_up_at == 40


def test_the_decision_serialises_for_the_audit_trail():
    data = evaluate(replace(KNOWN, breached_password=True), RiskPolicy()).to_dict()
    assert data["thresholds"] == {"step_up": 40, "deny": 100}
    assert data["contributions"][5] == {
        "signal": "breached_password",
        "observed": True,
        "weight": 45,
        "reason": "the password is on the breached list",
    }


@pytest.mark.parametrize(
    ("failures", "accounts", "risky"), [(0, 0, False), (19, 4, False), (20, 0, True), (0, 5, True)]
)
def test_ip_is_risky_before_the_password(failures, accounts, risky):
    assert ip_is_risky(failures, accounts) is risky


def test_the_engine_imports_only_the_standard_library_and_itself():
    package = Path(__file__).resolve().parents[2] / "src" / "keystead" / "risk"
    allowed = set(sys.stdlib_module_names) | {"keystead"}
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, (module.name, name)
                if name.startswith("keystead"):
                    assert name.startswith("keystead.risk"), (module.name, name)


def test_the_same_input_gives_the_same_decision():
    signals = Signals(new_device=True, new_network=True, ip_accounts=7, days_since_mfa=None)
    assert evaluate(signals, RiskPolicy()) == evaluate(signals, RiskPolicy())
