"""Per-key minimum intervals (chat rate limit, slow mode). Local dict or Redis SET NX PX."""

from __future__ import annotations

import time
from typing import Protocol


class RateLimiter(Protocol):
    async def allow(self, key: str, interval: float) -> float:
        """0 if allowed now (and the slot is taken), else seconds to wait."""
        ...


class LocalRateLimiter:
    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    async def allow(self, key: str, interval: float) -> float:
        now = time.monotonic()
        ready = self._next.get(key, 0.0)
        if now < ready:
            return ready - now
        if len(self._next) > 200_000:
            self._next = {k: v for k, v in self._next.items() if v > now}
        self._next[key] = now + interval
        return 0.0


class RedisRateLimiter:
    def __init__(self, redis_client) -> None:  # type: ignore[no-untyped-def]
        self._redis = redis_client

    async def allow(self, key: str, interval: float) -> float:
        if interval <= 0:
            return 0.0
        millis = max(1, int(interval * 1000))
        if await self._redis.set(f"lp:rl:{key}", b"1", nx=True, px=millis):
            return 0.0
        ttl = await self._redis.pttl(f"lp:rl:{key}")
        return max(ttl, 1) / 1000
