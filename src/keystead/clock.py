"""Injectable time source."""

from __future__ import annotations

import time


def system_clock() -> float:
    """Seconds since the epoch from the system clock."""
    return time.time()


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
