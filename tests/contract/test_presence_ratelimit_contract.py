"""One contract each for the presence adapters (LocalPresence / RedisPresence) and the rate
limiters (LocalRateLimiter / RedisRateLimiter).

Both adapters of a pair read the real clock, so the tests that need time to pass use a short TTL
or interval and poll for the expected state with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from livepledge.infra.ratelimit import LocalRateLimiter, RedisRateLimiter
from livepledge.live.presence import LocalPresence, RedisPresence

DEADLINE = 10.0


@pytest.fixture(params=["local", "redis"])
async def redis_or_none(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "local":
        yield None
        return
    client = redis.from_url(request.getfixturevalue("redis_url"))
    yield client
    await client.aclose()


def presence_for(client: object, ttl: float):  # type: ignore[no-untyped-def]
    return LocalPresence(ttl) if client is None else RedisPresence(client, ttl)


def limiter_for(client: object):  # type: ignore[no-untyped-def]
    return LocalRateLimiter() if client is None else RedisRateLimiter(client)


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not await condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# --- presence -------------------------------------------------------------------------------

async def test_presence_counts_distinct_viewers(redis_or_none):
    presence = presence_for(redis_or_none, ttl=30)

    await presence.beat(1, "u:1")
    await presence.beat(1, "u:1")
    await presence.beat(1, "a:device")
    await presence.beat(2, "u:1")

    assert await presence.count(1) == 2
    assert await presence.count(2) == 1
    assert await presence.count(3) == 0


async def test_presence_drops_a_viewer_whose_heartbeat_stopped(redis_or_none):
    presence = presence_for(redis_or_none, ttl=0.5)
    await presence.beat(1, "u:1")
    await presence.beat(1, "u:2")
    assert await presence.count(1) == 2

    async def only_the_beating_viewer_left() -> bool:
        await presence.beat(1, "u:2")
        return await presence.count(1) == 1
    await eventually(only_the_beating_viewer_left, "u:1 to time out")


async def test_beat_many_keeps_each_viewer_as_its_own_beat_would(redis_or_none):
    # the room listener's heartbeats reach presence once per tick, all together
    presence = presence_for(redis_or_none, ttl=0.5)
    await presence.join(1, "u:1")
    await presence.join(1, "u:2")
    await presence.join(1, "a:x")
    await presence.beat_many(1, set())  # an empty tick changes nothing
    assert await presence.count(1) == 3

    async def only_the_beating_viewers_left() -> bool:
        await presence.beat_many(1, {"u:2", "a:x"})
        return await presence.count(1) == 2
    await eventually(only_the_beating_viewers_left, "u:1 to time out")
    await presence.beat_many(2, {"u:9"})
    assert await presence.count(2) == 1


async def test_presence_leave_drops_the_viewer_at_once(redis_or_none):
    # an honest count: a viewer who closed the room is not counted until a TTL runs out
    presence = presence_for(redis_or_none, ttl=30)
    await presence.beat(1, "u:1")
    await presence.beat(1, "u:2")

    await presence.leave(1, "u:1")

    assert await presence.count(1) == 1


async def test_presence_leave_of_an_unknown_viewer_changes_nothing(redis_or_none):
    presence = presence_for(redis_or_none, ttl=30)
    await presence.beat(1, "u:1")

    await presence.leave(1, "u:9")
    await presence.leave(7, "u:1")

    assert await presence.count(1) == 1


# --- rate limiter ---------------------------------------------------------------------------

async def test_rate_limiter_allows_once_per_interval(redis_or_none):
    limiter = limiter_for(redis_or_none)

    first = await limiter.allow("chat:1:7", 30)
    second = await limiter.allow("chat:1:7", 30)

    assert first == 0.0
    assert 29 < second <= 30


async def test_rate_limiter_keys_are_independent(redis_or_none):
    limiter = limiter_for(redis_or_none)

    assert await limiter.allow("chat:1:7", 30) == 0.0
    assert await limiter.allow("chat:1:8", 30) == 0.0
    assert await limiter.allow("chat:2:7", 30) == 0.0
    assert await limiter.allow("chat:1:7", 30) > 0


async def test_rate_limiter_with_no_interval_always_allows(redis_or_none):
    limiter = limiter_for(redis_or_none)

    assert [await limiter.allow("chat:1:7", 0) for _ in range(5)] == [0.0] * 5


async def test_rate_limiter_allows_again_after_the_interval(redis_or_none):
    limiter = limiter_for(redis_or_none)
    assert await limiter.allow("chat:1:7", 0.3) == 0.0
    assert await limiter.allow("chat:1:7", 0.3) > 0

    async def allowed_again() -> bool:
        return await limiter.allow("chat:1:7", 0.3) == 0.0
    await eventually(allowed_again, "the interval to pass")


async def test_rate_limiter_lets_one_of_many_concurrent_callers_through(redis_or_none):
    limiter = limiter_for(redis_or_none)

    waits = await asyncio.gather(*(limiter.allow("chat:1:7", 30) for _ in range(20)))

    assert sorted(w == 0.0 for w in waits) == [False] * 19 + [True]


async def test_redis_presence_keeps_a_viewer_another_worker_still_serves(request):
    # scale-out only: two workers each serve a tab of the same viewer
    client = redis.from_url(request.getfixturevalue("redis_url"))
    worker_a, worker_b = RedisPresence(client, 30), RedisPresence(client, 30)
    try:
        await worker_a.join(1, "u:1")
        await worker_b.join(1, "u:1")

        await worker_a.leave(1, "u:1")
        assert await worker_b.count(1) == 1

        await worker_b.leave(1, "u:1")
        assert await worker_a.count(1) == 0
    finally:
        await client.aclose()
