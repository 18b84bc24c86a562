"""Who is watching: distinct viewers with a heartbeat within the TTL. Never set by hand.

Local: a dict per room. Redis: a sorted set per room scored by last heartbeat time."""

from __future__ import annotations

import time
from typing import Protocol


class Presence(Protocol):
    async def beat(self, session_id: int, viewer_key: str) -> None: ...
    async def leave(self, session_id: int, viewer_key: str) -> None: ...
    async def count(self, session_id: int) -> int: ...


class LocalPresence:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._rooms: dict[int, dict[str, float]] = {}

    async def beat(self, session_id: int, viewer_key: str) -> None:
        self._rooms.setdefault(session_id, {})[viewer_key] = time.monotonic()

    async def leave(self, session_id: int, viewer_key: str) -> None:
        self._rooms.get(session_id, {}).pop(viewer_key, None)

    async def count(self, session_id: int) -> int:
        room = self._rooms.get(session_id)
        if not room:
            return 0
        cutoff = time.monotonic() - self.ttl
        stale = [key for key, seen in room.items() if seen < cutoff]
        for key in stale:
            del room[key]
        return len(room)


class RedisPresence:
    def __init__(self, redis_client, ttl: float) -> None:  # type: ignore[no-untyped-def]
        self._redis = redis_client
        self.ttl = ttl

    def _key(self, session_id: int) -> str:
        return f"lp:presence:{session_id}"

    async def beat(self, session_id: int, viewer_key: str) -> None:
        await self._redis.zadd(self._key(session_id), {viewer_key: time.time()})

    async def leave(self, session_id: int, viewer_key: str) -> None:
        # Another worker may hold a second tab of the same viewer: let the TTL decide.
        return None

    async def count(self, session_id: int) -> int:
        key = self._key(session_id)
        cutoff = time.time() - self.ttl
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", cutoff)
        pipe.zcard(key)
        _, count = await pipe.execute()
        return int(count)
