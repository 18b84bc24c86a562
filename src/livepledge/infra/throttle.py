"""Attempt counters over fixed windows (login and registration throttling).

`RateLimiter` (ratelimit.py) spaces single actions apart (one chat message per second); a
`Throttle` instead counts attempts per key within a window and says how long to wait once a key
has used up its budget. The window starts with the key's first attempt and ends on its own, so
a throttled key is free again after at most one window: nobody is locked out for ever.

Local: a dict in this process (embedded shape). Redis: one INCR + PEXPIRE script, shared by every
worker (scale-out shape)."""

from __future__ import annotations

import time
from typing import Any, Protocol


class Throttle(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        """Count one attempt against `key`. 0 if it is within the budget, else the seconds until
        the window ends (the attempt is still counted)."""
        ...

    async def blocked(self, key: str, *, limit: int) -> float:
        """Seconds until `key` may try again (0: it may now), without counting an attempt."""
        ...


class LocalThrottle:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, attempts)

    def _current(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._windows.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = self._clock()
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        end, count = self._current(key, now) or (now + window, 0)
        self._windows[key] = (end, count + 1)
        return end - now if count + 1 > limit else 0.0

    async def blocked(self, key: str, *, limit: int) -> float:
        now = self._clock()
        entry = self._current(key, now)
        if entry is None or entry[1] < limit:
            return 0.0
        return entry[0] - now


# KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms left in the window}.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisThrottle:
    def __init__(self, redis_client: Any) -> None:
        self._redis = redis_client
        self._hit = redis_client.register_script(_HIT)

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        count, ttl = await self._hit(keys=[f"lp:th:{key}"], args=[max(1, int(window * 1000))])
        return max(int(ttl), 1) / 1000 if int(count) > limit else 0.0

    async def blocked(self, key: str, *, limit: int) -> float:
        count = await self._redis.get(f"lp:th:{key}")
        if count is None or int(count) < limit:
            return 0.0
        ttl = await self._redis.pttl(f"lp:th:{key}")
        return max(int(ttl), 1) / 1000
