"""Login attempt throttling per account and per client IP, on expiring counters.

Counters (``ports/counters.py``) live in process or in Redis; this module only decides.

* **Per account** (the login as typed, case-folded, within a tenant; an unknown login is
  counted exactly like a real one): failures are counted in a window of ``window_seconds``
  that starts at the first failure. From the ``account_failures_before_delay``-th failure on,
  each failure makes the account wait a delay that doubles (1 s, 2 s, 4 s, ... at most 60 s);
  at the ``account_failures_before_lockout``-th it is locked for ``lockout_seconds``. While an
  account waits, attempts are refused without checking the password. A success clears it.
* **Per IP** (credential stuffing): past ``ip_failures_per_window`` failures from one address in
  a window, every attempt from it is refused until the window ends.
* **Distinct accounts per IP**: how many different logins an address tried in the window; a
  risk signal, not enforced here.

Every refusal carries a true ``retry_after`` (seconds, at least 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from keystead.config import ThrottleSettings
from keystead.ports.counters import Counters

MAX_DELAY = 60.0
#: The value held on an account's wait key: a progressive delay, or a lockout.
DELAYED, LOCKED = 1, 2


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    ip_failures: int = 0  # the address's failures in its window (read anyway: a risk signal)


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the counters say of one account key."""

    failures: int
    locked: bool
    delayed: bool
    retry_after: int


class AttemptLimiter:
    def __init__(self, settings: ThrottleSettings, counters: Counters) -> None:
        self._s = settings
        self._counters = counters

    def close(self) -> None:
        self._counters.close()

    def check(self, account_key: str, ip: str) -> Verdict:
        """Whether an attempt on ``account_key`` from ``ip`` may check a password now."""
        ip_fails = self._counters.peek(f"ip:{ip}")
        if ip_fails.value >= self._s.ip_failures_per_window:
            return Verdict(False, _seconds(ip_fails.ttl))
        wait = self._counters.peek(f"wait:{account_key}")
        if wait.value:
            return Verdict(False, _seconds(wait.ttl))
        return Verdict(True, ip_failures=ip_fails.value)

    def attempted(self, account_key: str, ip: str) -> int:
        """Note that ``ip`` tried ``account_key``; returns how many distinct accounts the
        address tried in the current window."""
        window = self._s.window_seconds
        if self._counters.hit(f"ipacct:{ip}:{account_key}", window).value == 1:
            return self._counters.hit(f"ipaccts:{ip}", window).value
        return self._counters.peek(f"ipaccts:{ip}").value

    def ip_failures(self, ip: str) -> int:
        """Failures from ``ip`` in the current window (a risk signal, e.g. for the bot check)."""
        return self._counters.peek(f"ip:{ip}").value

    def distinct_accounts(self, ip: str) -> int:
        return self._counters.peek(f"ipaccts:{ip}").value

    def failed(self, account_key: str, ip: str) -> bool:
        """Count a failure; returns whether it locked the account."""
        self._counters.hit(f"ip:{ip}", self._s.window_seconds)
        count = self._counters.hit(f"acct:{account_key}", self._s.window_seconds).value
        if count >= self._s.account_failures_before_lockout:
            self._counters.hold(f"wait:{account_key}", LOCKED, self._s.lockout_seconds)
            return True
        if count >= self._s.account_failures_before_delay:
            delay = min(2.0 ** (count - self._s.account_failures_before_delay), MAX_DELAY)
            self._counters.hold(f"wait:{account_key}", DELAYED, delay)
        return False

    def failures(self, account_key: str) -> int:
        """The account's failures in its window (a risk signal, read before ``succeeded``)."""
        return self._counters.peek(f"acct:{account_key}").value

    def succeeded(self, account_key: str) -> None:
        self._counters.reset(f"acct:{account_key}", f"wait:{account_key}")

    def state(self, account_key: str) -> AccountState:
        failures = self._counters.peek(f"acct:{account_key}").value
        wait = self._counters.peek(f"wait:{account_key}")
        return AccountState(
            failures=failures,
            locked=wait.value == LOCKED,
            delayed=wait.value == DELAYED,
            retry_after=_seconds(wait.ttl) if wait.value else 0,
        )

    def unlock(self, account_key: str) -> None:
        """Clear the account's failures and any delay or lockout (not its addresses' limits)."""
        self._counters.reset(f"acct:{account_key}", f"wait:{account_key}")


def account_key(tenant_id: str, login: str) -> str:
    """The throttling key of a login as typed: per tenant, trimmed, case-folded."""
    return f"{tenant_id}:{login.strip()[:320].casefold()}"


def _seconds(ttl: float) -> int:
    return max(1, math.ceil(ttl))
