"""Expiring counters in this process's memory: thread-safe and bounded.

Reads never create keys. When ``max_keys`` keys are held, expired ones are swept; if more than
nine tenths remain, the oldest keys are evicted down to nine tenths (their counts are lost, which weakens protection a
little but keeps a flood of distinct addresses or logins from exhausting memory) and a warning
is logged.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from keystead.ports.counters import Count
from keystead.types import Clock

log = logging.getLogger(__name__)


class MemoryCounters:
    def __init__(self, clock: Clock, *, max_keys: int = 200_000) -> None:
        if max_keys < 10:
            raise ValueError("max_keys must be at least 10")
        self._clock = clock
        self._max = max_keys
        self._keys: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (count, expires)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def hit(self, key: str, window: float) -> Count:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                self._make_room(now)
                entry = (0, now + window)
            value, expires = entry[0] + 1, entry[1]
            self._keys[key] = (value, expires)
            return Count(value, expires - now)

    def peek(self, key: str) -> Count:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            return Count() if entry is None else Count(entry[0], entry[1] - now)

    def hold(self, key: str, value: int, seconds: float) -> None:
        now = self._clock()
        with self._lock:
            if key not in self._keys:
                self._make_room(now)
            self._keys.pop(key, None)
            self._keys[key] = (value, now + seconds)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)

    def close(self) -> None:
        """Nothing to release."""

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._keys.get(key)
        if entry is not None and entry[1] <= now:
            del self._keys[key]
            return None
        return entry

    def _make_room(self, now: float) -> None:
        if len(self._keys) < self._max:
            return
        for key in [k for k, (_, expires) in self._keys.items() if expires <= now]:
            del self._keys[key]
        # leave at least a tenth free, so that a full table costs one sweep per tenth of its
        # size in new keys, not one per key
        target = self._max * 9 // 10
        if len(self._keys) > target:
            evicted = len(self._keys) - target
            while len(self._keys) > target:
                self._keys.popitem(last=False)
            log.warning("attack-protection counters full: evicted the %d oldest live keys", evicted)
