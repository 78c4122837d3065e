"""The counters port (ports/counters.py) on both adapters: in process and Redis, plus the
fallback to local counters when Redis is down."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from keystead.adapters.memory.counters import MemoryCounters
from keystead.adapters.redis.counters import RedisCounters
from keystead.adapters.redis.fallback import FallbackCounters
from keystead.clock import FrozenClock
from keystead.ports.counters import Count, Counters
from keystead.wiring import build
from tests.support.live_server import free_port
from tests.support.redis_counters import BACKENDS, redis_url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(1_800_000_000.0)


def _redis(clock: FrozenClock, secret: str | None = None) -> RedisCounters:
    return RedisCounters.from_url(redis_url(), secret or f"secret-{uuid.uuid4().hex}", clock)


@pytest.fixture(params=BACKENDS)
def counters(request: pytest.FixtureRequest, clock: FrozenClock) -> Iterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters(clock)
        return
    store = _redis(clock)
    yield store
    store.close()


def test_hit_counts_in_a_window_that_starts_at_the_first_hit(counters, clock):
    assert counters.hit("k", 60) == Count(1, 60)
    clock.advance(20)
    assert counters.hit("k", 60) == Count(2, 40)
    assert counters.peek("k") == Count(2, 40)
    clock.advance(40)
    assert counters.peek("k") == Count()
    assert counters.hit("k", 30) == Count(1, 30)


def test_peek_of_an_absent_key_is_zero(counters):
    assert counters.peek("never") == Count(0, 0)


def test_hold_replaces_the_count_and_the_window(counters, clock):
    for _ in range(3):
        counters.hit("k", 60)
    counters.hold("k", 7, 5)
    assert counters.peek("k") == Count(7, 5)
    clock.advance(5)
    assert counters.peek("k").value == 0


def test_reset_forgets_keys(counters):
    counters.hit("a", 60)
    counters.hit("b", 60)
    counters.hit("c", 60)
    counters.reset("a", "b")
    assert counters.peek("a").value == counters.peek("b").value == 0
    assert counters.peek("c").value == 1
    counters.reset()  # no keys: nothing happens


def test_fractional_seconds_survive(counters, clock):
    counters.hit("k", 0.5)
    clock.advance(0.25)
    assert counters.peek("k") == Count(1, 0.25)


def test_concurrent_hits_are_all_counted(counters):
    def hammer() -> None:
        for _ in range(100):
            counters.hit("shared", 60)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.peek("shared").value == 800


def test_memory_counters_keep_no_state_for_reads_and_expired_keys(clock):
    store = MemoryCounters(clock)
    for i in range(1000):
        assert store.peek(f"k{i}").value == 0
    assert len(store) == 0
    store.hit("victim", 10)
    clock.advance(11)
    assert store.peek("victim").value == 0
    assert len(store) == 0


def test_memory_counters_are_bounded(clock, caplog):
    store = MemoryCounters(clock, max_keys=100)
    for i in range(50):
        store.hit(f"old{i}", 10)
    clock.advance(11)  # the first 50 expire: room is made by sweeping them, not evicting
    for i in range(100):
        store.hit(f"live{i}", 60)
    assert len(store) == 100
    assert store.peek("live0").value == 1
    with caplog.at_level(logging.WARNING):
        store.hit("one-too-many", 60)
    assert len(store) == 91  # the ten oldest evicted: a tenth is free again, then one added
    assert store.peek("one-too-many").value == 1
    assert store.peek("live0").value == store.peek("live9").value == 0
    assert store.peek("live10").value == 1
    assert "evicted the 10 oldest" in caplog.text
    with pytest.raises(ValueError):
        MemoryCounters(clock, max_keys=1)


def test_redis_keys_are_hashed_and_prefixed_per_deployment(clock):
    one, two = _redis(clock, "deployment one secret"), _redis(clock, "deployment two secret")
    try:
        one.hit("acct:tenant:alice@example.com", 60)
        assert two.peek("acct:tenant:alice@example.com").value == 0  # other deployment
        name = one.name("acct:tenant:alice@example.com")
        assert "alice" not in name and name.startswith("ks:")
        assert name.split(":")[1] != two.name("x").split(":")[1]
        assert one.ping()
    finally:
        one.close()
        two.close()


def test_redis_peek_creates_no_key(clock):
    store = _redis(clock)
    try:
        store.peek("ghost")
        assert store._redis.exists(store.name("ghost")) == 0
        store.hit("real", 60)
        ttl_ms = store._redis.pttl(store.name("real"))
        assert 60_000 < ttl_ms <= 61_000  # Redis collects the key a second after its window
    finally:
        store.close()


class _Steps:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fallback_uses_local_counters_while_redis_is_down_and_says_so(clock, caplog):
    dead = RedisCounters.from_url(f"redis://:hunter2@127.0.0.1:{free_port()}/0", "s", clock, timeout=0.2)
    local = MemoryCounters(clock)
    monotonic = _Steps()
    store = FallbackCounters(dead, local, cooloff=5, monotonic=monotonic)
    with caplog.at_level(logging.ERROR):
        assert store.hit("k", 60) == Count(1, 60)
    assert store.degraded
    assert "Redis is unavailable" in caplog.text and "hunter2" not in caplog.text
    caplog.clear()
    assert store.hit("k", 60).value == 2  # within the cool-off: straight to local, no new error
    assert caplog.text == ""
    assert local.peek("k").value == 2
    monotonic.now = 6  # cool-off over: Redis is tried again (still down: local again, logged)
    with caplog.at_level(logging.ERROR):
        assert store.peek("k").value == 2
    assert "Redis is unavailable" in caplog.text
    store.reset("k")
    assert local.peek("k").value == 0


def test_fallback_prefers_redis_when_it_is_up(clock):
    shared = _redis(clock)
    local = MemoryCounters(clock)
    store = FallbackCounters(shared, local)
    try:
        store.hit("k", 60)
        store.hold("w", 2, 10)
        assert shared.peek("k").value == 1 and shared.peek("w").value == 2
        assert local.peek("k").value == 0
        assert not store.degraded
    finally:
        shared.close()


def test_closing_the_app_closes_the_shared_counters(settings, clock, monkeypatch):
    closed: list[str] = []
    monkeypatch.setattr(RedisCounters, "close", lambda self: closed.append("redis"))
    with_redis = settings.model_copy(update={"redis_url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")})
    app = build(with_redis, clock=clock)
    app.close()
    assert closed == ["redis"]


# the decisions of services/throttle.py on these counters
def _limiter(counters: Counters):  # type: ignore[no-untyped-def]
    from keystead.config import ThrottleSettings
    from keystead.services.throttle import AttemptLimiter

    settings = ThrottleSettings(
        window_seconds=3600,
        account_failures_before_delay=2,
        account_failures_before_lockout=10,
        lockout_seconds=300,
        ip_failures_per_window=1000,
    )
    return AttemptLimiter(settings, counters)


def test_delays_double_up_to_a_minute_then_the_account_locks(counters, clock):
    limiter = _limiter(counters)
    waits = []
    for n in range(10):
        ip = f"192.0.2.{n}"
        verdict = limiter.check("t:victim", ip)
        if not verdict.allowed:
            waits.append(verdict.retry_after)
            clock.advance(verdict.retry_after)
            assert limiter.check("t:victim", ip).allowed  # Retry-After is the truth
        locked = limiter.failed("t:victim", ip)
        assert locked == (n == 9)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    state = limiter.state("t:victim")
    assert state.locked and not state.delayed and state.failures == 10
    assert limiter.check("t:victim", "198.51.100.1").retry_after == 300


def test_a_failure_after_a_lockout_in_the_same_window_locks_again(counters, clock):
    limiter = _limiter(counters)
    for _ in range(10):
        limiter.failed("t:victim", "192.0.2.1")
    clock.advance(300)
    assert limiter.check("t:victim", "192.0.2.1").allowed
    assert limiter.failed("t:victim", "192.0.2.1")  # locked again, and the hook would hear it
    assert limiter.check("t:victim", "192.0.2.1").retry_after == 300


def test_success_and_unlock_clear_the_account_not_the_address(counters, clock):
    limiter = _limiter(counters)
    for _ in range(3):
        limiter.failed("t:a", "192.0.2.1")
    assert limiter.state("t:a").delayed
    limiter.succeeded("t:a")
    assert limiter.state("t:a").failures == 0 and limiter.check("t:a", "192.0.2.1").allowed
    for _ in range(10):
        limiter.failed("t:b", "192.0.2.1")
    limiter.unlock("t:b")
    assert limiter.check("t:b", "192.0.2.2").allowed
    assert counters.peek("ip:192.0.2.1").value == 13  # the address keeps its failures


def test_the_redis_url_setting_is_a_secret_and_selects_redis(monkeypatch, clock):
    from keystead.adapters.counters import build_counters
    from keystead.config import load_settings

    monkeypatch.setenv("KEYSTEAD_REDIS_URL", "redis://:hunter2@127.0.0.1:6390/0")
    settings = load_settings()
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value().startswith("redis://")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert isinstance(build_counters(settings, clock), FallbackCounters)
    assert isinstance(build_counters(load_settings(redis_url=None), clock), MemoryCounters)
