"""One contract for the attempt throttles (LocalThrottle / RedisThrottle): the same counts, the
same refusals, and a window that ends on its own. With Redis, two workers' throttles share the
counts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from livepledge.infra.throttle import LocalThrottle, RedisThrottle

DEADLINE = 10.0


@pytest.fixture(params=["local", "redis"])
async def throttles(request: pytest.FixtureRequest) -> AsyncIterator[tuple[object, object]]:
    """Two throttles as two workers see them: one shared object when embedded, two clients of
    the same Redis when scaled out."""
    if request.param == "local":
        local = LocalThrottle()
        yield local, local
        return
    url = request.getfixturevalue("redis_url")
    first, second = redis.from_url(url), redis.from_url(url)
    yield RedisThrottle(first), RedisThrottle(second)
    await first.aclose()
    await second.aclose()


async def test_attempts_within_the_budget_pass_and_the_next_are_refused(throttles):
    one, two = throttles
    waits = [await one.hit("acct:a", limit=3, window=60) for _ in range(2)]
    waits.append(await two.hit("acct:a", limit=3, window=60))
    assert waits == [0.0, 0.0, 0.0]
    assert await one.blocked("acct:a", limit=3) > 0  # budget used up, seen by both
    assert 0 < await two.blocked("acct:a", limit=3) <= 60
    assert 0 < await one.hit("acct:a", limit=3, window=60) <= 60
    assert await two.blocked("acct:b", limit=3) == 0.0  # other keys are untouched


async def test_a_window_ends_on_its_own(throttles):
    one, two = throttles
    for _ in range(2):
        await one.hit("acct:short", limit=1, window=0.2)
    assert await two.blocked("acct:short", limit=1) > 0
    end = time.monotonic() + DEADLINE
    while await two.blocked("acct:short", limit=1) > 0:  # polls the state, with a deadline
        assert time.monotonic() < end, "the throttle never let the key go"
        await asyncio.sleep(0.05)
    assert await one.hit("acct:short", limit=1, window=0.2) == 0.0
