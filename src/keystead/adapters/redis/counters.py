"""Expiring counters in Redis, shared by the nodes of a deployment (``KEYSTEAD_REDIS_URL``).

A key is a hash ``{n: count, e: window end in ms}``; a hit is one Lua script, so concurrent
nodes never lose a count. Window ends come from the caller's clock (the nodes' clocks must be in
sync); Redis's own expiry only collects keys a little after their window ends. Key names are
``ks:<deployment>:<keyed BLAKE2b of the key>``: the deployment tag and the hash are keyed by the
deployment's secret, so two deployments sharing a Redis never mix counts and no login name or
address is stored in clear. Calls time out after ``timeout`` seconds and are not retried: a slow
Redis must not hold sign-ins up (see :class:`FallbackCounters`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from keystead.ports.counters import Count
from keystead.types import Clock

_HIT = """
local now = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'n', 'e')
local n, e = 1, now + tonumber(ARGV[2])
if v[1] and v[2] and tonumber(v[2]) > now then
  n, e = tonumber(v[1]) + 1, tonumber(v[2])
end
redis.call('HSET', KEYS[1], 'n', n, 'e', e)
redis.call('PEXPIRE', KEYS[1], e - now + 1000)
return {n, e - now}
"""

_HOLD = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'n', ARGV[2], 'e', tonumber(ARGV[1]) + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return 1
"""


class RedisCounters:
    def __init__(self, client: redis.Redis, secret: str, clock: Clock) -> None:
        self._redis = client
        self._clock = clock
        self._secret = hashlib.blake2b(secret.encode(), person=b"ks-counters").digest()
        tag = hashlib.blake2b(b"deployment", key=self._secret, digest_size=6).hexdigest()
        self._prefix = f"ks:{tag}:"
        self._hit = client.register_script(_HIT)
        self._hold = client.register_script(_HOLD)

    @classmethod
    def from_url(cls, url: str, secret: str, clock: Clock, *, timeout: float = 0.25) -> RedisCounters:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        return cls(client, secret, clock)

    def name(self, key: str) -> str:
        """The Redis key that holds ``key``'s count."""
        digest = hashlib.blake2b(key.encode(), key=self._secret, digest_size=16).hexdigest()
        return self._prefix + digest

    def hit(self, key: str, window: float) -> Count:
        now = self._now_ms()
        value, left = cast(list[int], self._hit(keys=[self.name(key)], args=[now, _ms(window)]))
        return Count(int(value), int(left) / 1000)

    def peek(self, key: str) -> Count:
        now = self._now_ms()
        raw = cast(list[Any], self._redis.hmget(self.name(key), ["n", "e"]))
        if raw[0] is None or raw[1] is None or int(raw[1]) <= now:
            return Count()
        return Count(int(raw[0]), (int(raw[1]) - now) / 1000)

    def hold(self, key: str, value: int, seconds: float) -> None:
        self._hold(keys=[self.name(key)], args=[self._now_ms(), value, _ms(seconds)])

    def reset(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*(self.name(k) for k in keys))

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()

    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
