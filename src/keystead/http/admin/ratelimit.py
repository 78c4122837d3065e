"""Per-client rate limits of the admin API: a token bucket per authenticated caller, in process.

Each caller (the issuing tenant and the token's ``client_id``) may spend ``admin.rate_limit_burst``
requests at once, refilled at ``admin.rate_limit_per_second``. An empty bucket answers ``429``
with ``Retry-After`` (whole seconds until a request is allowed again). Counters live in the
process: N server processes allow N times the rate (a shared store comes with Redis).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from keystead.types import Clock

#: Buckets kept at most; past it, full (idle) buckets are dropped, then the oldest.
MAX_BUCKETS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s bucket: ``0.0`` if allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(self._burst, now)
            else:
                elapsed = max(0.0, now - bucket.at)
                bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
                bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self._rate

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self._rate >= self._burst]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) >= MAX_BUCKETS:
            del self._buckets[next(iter(self._buckets))]


def retry_after(wait: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
