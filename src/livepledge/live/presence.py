"""Who is watching: distinct viewers with a heartbeat within the TTL. Never set by hand.

Local: a dict per room. Redis: a sorted set per room scored by last heartbeat time, plus a hash of
how many workers hold a connection of each viewer, so that a viewer who leaves stops counting at
once (not a TTL later) unless another worker still serves them."""

from __future__ import annotations

import time
from typing import Protocol


class Presence(Protocol):
    async def join(self, session_id: int, viewer_key: str) -> None: ...
    async def beat(self, session_id: int, viewer_key: str) -> None: ...
    async def beat_many(self, session_id: int, viewer_keys: set[str]) -> None: ...
    async def leave(self, session_id: int, viewer_key: str) -> None: ...
    async def count(self, session_id: int) -> int: ...


class LocalPresence:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._rooms: dict[int, dict[str, float]] = {}

    async def join(self, session_id: int, viewer_key: str) -> None:
        await self.beat(session_id, viewer_key)

    async def beat(self, session_id: int, viewer_key: str) -> None:
        self._rooms.setdefault(session_id, {})[viewer_key] = time.monotonic()

    async def beat_many(self, session_id: int, viewer_keys: set[str]) -> None:
        room = self._rooms.setdefault(session_id, {})
        room.update(dict.fromkeys(viewer_keys, time.monotonic()))

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


_LEAVE = """
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""
HOLDERS_TTL_SECONDS = 86_400  # a worker that died holding viewers leaks no keys for ever


class RedisPresence:
    def __init__(self, redis_client, ttl: float) -> None:  # type: ignore[no-untyped-def]
        self._redis = redis_client
        self.ttl = ttl
        self._leave = redis_client.register_script(_LEAVE)

    def _key(self, session_id: int) -> str:
        return f"lp:presence:{session_id}"

    def _holders(self, session_id: int) -> str:
        return f"lp:presence:{session_id}:holders"

    async def join(self, session_id: int, viewer_key: str) -> None:
        """A worker starts serving this viewer (its first connection in that worker)."""
        pipe = self._redis.pipeline()
        pipe.hincrby(self._holders(session_id), viewer_key, 1)
        pipe.expire(self._holders(session_id), HOLDERS_TTL_SECONDS)
        pipe.zadd(self._key(session_id), {viewer_key: time.time()})
        await pipe.execute()

    async def beat(self, session_id: int, viewer_key: str) -> None:
        await self._redis.zadd(self._key(session_id), {viewer_key: time.time()})

    async def beat_many(self, session_id: int, viewer_keys: set[str]) -> None:
        """A tick's heartbeats in one command (the room's listener, live/roomserver.py)."""
        if viewer_keys:
            await self._redis.zadd(self._key(session_id), dict.fromkeys(viewer_keys, time.time()))

    async def leave(self, session_id: int, viewer_key: str) -> None:
        # Another worker may still serve a second tab of the same viewer: only the last one
        # to leave removes the viewer.
        await self._leave(keys=[self._key(session_id), self._holders(session_id)],
                          args=[viewer_key])

    async def count(self, session_id: int) -> int:
        key = self._key(session_id)
        cutoff = time.time() - self.ttl
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", cutoff)
        pipe.zcard(key)
        _, count = await pipe.execute()
        return int(count)
