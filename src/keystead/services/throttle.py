"""Basic login attempt throttling, per account and per client IP, in process.

Failures are counted in a sliding window. Past ``account_failures_before_delay`` an account must
wait an exponentially growing delay between attempts; past ``account_failures_before_lockout``
it is locked for ``lockout_seconds``. An IP with too many failures in the window is refused.
A successful login clears the account's counter.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

from keystead.config import ThrottleSettings
from keystead.types import Clock


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class AttemptLimiter:
    def __init__(self, settings: ThrottleSettings, clock: Clock) -> None:
        self._s = settings
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, account_key: str, ip: str) -> Verdict:
        now = self._clock()
        with self._lock:
            # _window keeps max(window, lockout) of history; an IP is judged on window_seconds only,
            # so that Retry-After is true and never 0 (a 0 would look like a wrong password).
            horizon = now - self._s.window_seconds
            ip_fails = [t for t in self._recent(f"ip:{ip}", now) if t > horizon]
            limit = self._s.ip_failures_per_window
            if len(ip_fails) >= limit:
                return Verdict(False, int(ip_fails[-limit] + self._s.window_seconds - now) + 1)
            return self._account_verdict(self._recent(f"acct:{account_key}", now), now)

    def failed(self, account_key: str, ip: str) -> None:
        now = self._clock()
        with self._lock:
            self._window(f"acct:{account_key}", now).append(now)
            self._window(f"ip:{ip}", now).append(now)

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._failures.pop(f"acct:{account_key}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        """Failures of ``key`` still in the window; an idle key leaves no entry behind, so
        checking unknown accounts and addresses does not grow memory."""
        if key not in self._failures:
            return deque()
        window = self._window(key, now)
        if not window:
            del self._failures[key]
        return window

    def _account_verdict(self, fails: deque[float], now: float) -> Verdict:
        count = len(fails)
        if count >= self._s.account_failures_before_lockout:
            wait = fails[-1] + self._s.lockout_seconds - now
        elif count >= self._s.account_failures_before_delay:
            extra = count - self._s.account_failures_before_delay
            wait = fails[-1] + min(2.0**extra, 60.0) - now
        else:
            return Verdict(True)
        return Verdict(wait <= 0, max(0, int(wait) + 1))

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._failures[key]
        horizon = now - max(self._s.window_seconds, self._s.lockout_seconds)
        while window and window[0] < horizon:
            window.popleft()
        return window
