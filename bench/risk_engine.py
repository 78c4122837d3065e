"""What the risk engine costs: one evaluation of the sans-IO engine, and the time it adds to a
sign-in through the hosted pages, side by side in one run against the raw argon2id verify.

    .venv/bin/python bench/risk_engine.py                  # 5 s of CPU per row, about 25 s in all
    .venv/bin/python bench/risk_engine.py --duration 0.2   # smoke test

Rows, each measured for about ``--duration`` seconds of process CPU, in process, one after the
other (the method of bench/login_factors.py):

1. ``argon2id verify``: the OWASP parameters (``PasswordSettings`` defaults).
2. ``risk engine evaluate``: ``keystead.risk.evaluate`` of a full set of signals under the
   default policy (pure: no store, no clock).
3. ``password sign-in, risk never``: the hosted flow and code exchange in a tenant whose risk
   mode is ``never`` (nothing read, evaluated or written).
4. ``password sign-in, risk adaptive``: the same in a tenant in ``adaptive`` mode, from a
   returning browser (its device cookie kept): the baseline read, the GeoIP lookup (none
   configured), the evaluation, the ``risk.decision`` audit event and the baseline update.
5. ``risk assess + remember (service)``: those calls alone (``RiskService.assess`` and
   ``remember`` for a returning device), without the pages: the added time without the page
   rows' run-to-run noise.

Printed as operations per CPU second, the ratio to the argon2id verify rate, the CPU per
operation, and the CPU the risk engine adds per sign-in (row 4 minus row 3), also as a fraction
of one argon2id verify. SQLite file in a temporary directory. Results: docs/benchmarks.md,
"Risk engine".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

from login_factors import PASSWORD, REDIRECT_URI, Row, SignIn, argon2_verify, measure, ratio

from keystead.clock import FrozenClock
from keystead.config import load_settings
from keystead.config.settings import PasswordSettings
from keystead.risk import RiskPolicy, Signals, evaluate
from keystead.services.login import AttemptCounts
from keystead.services.risk import Attempt
from keystead.services.risk_devices import DEVICE_COOKIE
from keystead.wiring import Keystead, build

T0 = 1_900_000_020.0


def engine_evaluate() -> Callable[[], Any]:
    signals = Signals(
        new_device=True,
        new_network=False,
        account_failures=2,
        ip_failures=4,
        ip_accounts=1,
        breached_password=False,
        days_since_mfa=12.5,
        travel_kmh=480.0,
        sensitive_client=True,
    )
    policy = RiskPolicy()
    return lambda: evaluate(signals, policy)


def seed(k: Keystead, name: str, mode: str) -> tuple[str, str, str]:
    tenant = k.tenants.create(name, name.title())
    k.tenant_settings.update(tenant.id, {"risk": {"mode": mode}}, expected_version=0)
    k.users.create(tenant.id, "alice", password=PASSWORD, email="alice@example.com")
    created = k.clients.create(
        tenant.id,
        "Bench App",
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email"],
        grant_types=["authorization_code", "refresh_token"],
        first_party=True,
    )
    assert created.secret is not None
    return tenant.name, created.client.client_id, created.secret


def service_calls(k: Keystead, clock: FrozenClock) -> Callable[[], Any]:
    """What the risk engine adds to a sign-in, without the pages around it: the assessment (the
    baseline read, the evaluation, the audit event) and the baseline update of a returning
    device, as the hooks in web/risk_pages.py call them."""
    tenant = k.tenants.get("risky")
    user_id = k.users.find(tenant.id, "alice").id
    client = k.clients.list(tenant.id)[0]
    cookie = k.risk.remember(tenant.id, user_id, "198.51.100.7", None, mfa=False)
    attempt = Attempt(tenant.id, user_id, "198.51.100.7", cookie, False, AttemptCounts())

    def call() -> None:
        clock.advance(1)
        assessed = k.risk.assess(attempt, client)
        assert assessed is not None and assessed.decision.outcome == "allow"
        k.risk.remember(tenant.id, user_id, "198.51.100.7", cookie, mfa=False)

    return call


def run(seconds: float) -> list[Row]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from keystead.http.app import create_app

    rows = [
        measure("argon2id verify (raw)", argon2_verify(), seconds),
        measure("risk engine evaluate (pure)", engine_evaluate(), seconds),
    ]
    clock = FrozenClock(T0)
    with tempfile.TemporaryDirectory(prefix="keystead-risk.") as tmp:
        settings = load_settings(
            database={"url": f"sqlite:///{tmp}/bench.db"}, server={"base_url": "http://bench"}
        )
        k = build(settings, clock=clock, migrate=True)
        try:
            plain = seed(k, "plain", "never")
            risky = seed(k, "risky", "adaptive")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with TestClient(create_app(k), base_url="http://bench", follow_redirects=False) as http:
                    without = SignIn(http, *plain)
                    with_risk = SignIn(http, *risky, keep=(DEVICE_COOKIE,))

                    def never() -> None:
                        clock.advance(1)  # settings stay in their 5 s cache, as under load
                        without("alice")

                    def adaptive() -> None:
                        clock.advance(1)  # settings stay in their 5 s cache, as under load
                        with_risk("alice")

                    rows.append(measure("password sign-in, risk never", never, seconds))
                    rows.append(measure("password sign-in, risk adaptive", adaptive, seconds))
                    rows.append(measure("risk assess + remember (service)", service_calls(k, clock), seconds))
                    decisions = k.audit.page(k.tenants.get("risky").id, action="risk.decision", limit=2)
                    if (
                        not decisions
                        or decisions[0].after is None
                        or decisions[0].after["outcome"] != "allow"
                    ):
                        raise AssertionError("the adaptive sign-ins were not assessed as allowed")
        finally:
            k.close()
    return rows


def report(rows: list[Row]) -> str:
    argon = rows[0].per_cpu_s
    lines = [
        "| row | calls | /s per core (CPU) | ratio to argon2id verify | CPU per op |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        per_op_ms = 1e3 * row.cpu_s / row.calls
        lines.append(
            f"| {row.name} | {row.calls} | {row.per_cpu_s:,.1f} | {ratio(row.per_cpu_s / argon)} "
            f"| {per_op_ms:.3f} ms |"
        )
    never, adaptive, service = (1e3 * r.cpu_s / r.calls for r in rows[2:5])
    verify_ms = 1e3 / argon
    lines.append("")
    lines.append(
        f"risk adds {adaptive - never:.2f} ms of CPU per sign-in through the pages "
        f"({(adaptive - never) / verify_ms:.2f} of one argon2id verify); the service calls alone: "
        f"{service:.2f} ms ({service / verify_ms:.2f}); one evaluation: {1e6 * rows[1].cpu_s / rows[1].calls:.1f} µs"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="CPU seconds per row (default 5)")
    args = parser.parse_args()
    cfg = PasswordSettings()
    print(
        f"argon2id m={cfg.memory_kib} KiB t={cfg.time_cost} p={cfg.parallelism}; "
        f"{args.duration:g} s of CPU per row; SQLite in a temp dir; in process (TestClient)",
        flush=True,
    )
    print(report(run(args.duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
