"""Keep sign-ins working when Redis is down: counters fall back to this node's memory.

Keystead fails *open to local counters*, never open to no protection and never closed: when a
Redis call fails or times out, the call is answered by an in-process :class:`MemoryCounters`,
an ERROR is logged, and Redis is left alone for ``cooloff`` seconds (so a dead Redis costs one
timeout per cool-off, not one per sign-in). Protection then holds per node: an attacker
spreading attempts over N nodes gets up to N times the limits until Redis is back. Counts made
during the outage are not copied back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from redis.exceptions import RedisError

from keystead.ports.counters import Count, Counters

log = logging.getLogger(__name__)
T = TypeVar("T")


class FallbackCounters:
    def __init__(
        self,
        primary: Counters,
        local: Counters,
        *,
        cooloff: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._local = local
        self._cooloff = cooloff
        self._monotonic = monotonic
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """Whether calls currently go to the local counters."""
        return self._monotonic() < self._down_until

    def hit(self, key: str, window: float) -> Count:
        return self._call(lambda c: c.hit(key, window))

    def peek(self, key: str) -> Count:
        return self._call(lambda c: c.peek(key))

    def hold(self, key: str, value: int, seconds: float) -> None:
        self._call(lambda c: c.hold(key, value, seconds))

    def reset(self, *keys: str) -> None:
        self._local.reset(*keys)
        self._call(lambda c: c.reset(*keys))

    def close(self) -> None:
        self._primary.close()
        self._local.close()

    def _call(self, op: Callable[[Counters], T]) -> T:
        if self.degraded:
            return op(self._local)
        try:
            return op(self._primary)
        except (RedisError, OSError) as exc:
            with self._lock:
                self._down_until = self._monotonic() + self._cooloff
            log.error(
                "Redis is unavailable (%s): attack-protection counters fall back to this "
                "node's memory for %.0f s; limits now hold per node only",
                type(exc).__name__,
                self._cooloff,
            )
            return op(self._local)
