"""Which counters attack protection uses: Redis when ``redis_url`` is set, else this process."""

from __future__ import annotations

from keystead.adapters.memory.counters import MemoryCounters
from keystead.config import Settings
from keystead.ports.counters import Counters
from keystead.types import Clock


def build_counters(settings: Settings, clock: Clock) -> Counters:
    local = MemoryCounters(clock)
    if settings.redis_url is None:
        return local
    from keystead.adapters.redis.counters import RedisCounters
    from keystead.adapters.redis.fallback import FallbackCounters

    shared = RedisCounters.from_url(
        settings.redis_url.get_secret_value(), settings.secret_key.get_secret_value(), clock
    )
    return FallbackCounters(shared, local)
