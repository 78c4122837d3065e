"""Expiring counters: the narrow port attack protection counts failures through.

Each key holds a count in a *fixed window* that starts at the key's first hit and lasts the
``window`` given then; when the window is over the key is gone (reads see zero) and the next hit
starts a new one. Times come from the caller's clock, so every node sharing a store must keep
its clock in sync (they must anyway: tokens carry times). Implementations: in process
(``adapters/memory/counters.py``) and Redis (``adapters/redis/counters.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Count:
    """A key's count and the seconds left in its window (both 0 when the key is absent)."""

    value: int = 0
    ttl: float = 0.0


class Counters(Protocol):
    def hit(self, key: str, window: float) -> Count:
        """Add one to ``key`` atomically; a new (or expired) key's window of ``window`` seconds
        starts now. Returns the count after the hit and the seconds left."""
        ...

    def peek(self, key: str) -> Count:
        """The key's count; reading an absent key creates nothing."""
        ...

    def hold(self, key: str, value: int, seconds: float) -> None:
        """Set ``key`` to ``value`` for ``seconds`` from now, replacing any count."""
        ...

    def reset(self, *keys: str) -> None:
        """Forget ``keys``."""
        ...

    def close(self) -> None:
        """Release connections (the app is shutting down)."""
        ...
