"""The two-tier token cache: what one worker validated, every worker knows (through Redis);
a revocation retires shared entries at once; nothing outlives its lifetime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from livepledge.accounts.principal import TOKENS_CHANNEL, Principal, Stamp, TokenCache
from livepledge.infra.broker import RedisBroker
from livepledge.infra.resp import RespClient

BUYER = Principal(user_id=7, login="buyer7", display_name="小七", role="buyer")
STAFF = Principal(user_id=8, login="staff8", display_name="店员", role="merchant",
                  shop_roles={3: "staff", 5: "owner"})


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[tuple[TokenCache, TokenCache]]:
    """Two caches sharing one Redis, as two workers would."""
    first = TokenCache(30, RespClient(redis_url))
    second = TokenCache(30, RespClient(redis_url))
    yield first, second
    await first.close()
    await second.close()


async def validate(cache: TokenCache, digest: str, principal: Principal) -> None:
    """What `authenticate` does on a miss: look up, read the database, put."""
    found, stamp = await cache.lookup(digest)
    assert found is None
    await cache.put(digest, principal, stamp)


async def test_a_token_validated_on_one_worker_is_known_to_another(workers):
    first, second = workers
    await validate(first, "d-staff", STAFF)

    assert first.get("d-staff") == STAFF
    assert second.get("d-staff") is None  # not in the other worker's own tier yet
    found, _ = await second.lookup("d-staff")
    assert found == STAFF
    assert found.can_manage(3) and found.can_manage(5) and not found.can_manage(4)
    assert second.get("d-staff") == STAFF  # now cached locally too


async def test_forget_retires_every_shared_entry(workers):
    first, second = workers
    await validate(first, "d-buyer", BUYER)
    await validate(first, "d-staff", STAFF)

    await first.forget()

    assert first.get("d-buyer") is None
    assert (await second.lookup("d-buyer"))[0] is None
    assert (await second.lookup("d-staff"))[0] is None
    await validate(second, "d-buyer", BUYER)  # re-validated under the new generation
    assert (await first.lookup("d-buyer"))[0] == BUYER


async def test_a_read_that_raced_a_revocation_is_not_cached(workers):
    first, second = workers
    _, stamp = await first.lookup("d-buyer")  # before the database read ...
    await second.forget()  # ... a revocation elsewhere ...
    await first.put("d-buyer", BUYER, stamp)  # ... then the (possibly stale) read lands

    assert first.get("d-buyer") == BUYER  # this worker's tier did not see the other's forget
    assert (await second.lookup("d-buyer"))[0] is None  # but it is not shared
    await first.forget()
    _, stamp = await first.lookup("d-buyer")
    await first.forget()  # a revocation in this very worker between lookup and put
    await first.put("d-buyer", BUYER, stamp)
    assert first.get("d-buyer") is None


async def test_an_expired_shared_entry_is_not_used(workers, redis_url: str):
    first, second = workers
    await validate(first, "d-buyer", BUYER)
    client = RespClient(redis_url)
    raw = await client.call("GET", "lp:tok:d-buyer")
    entry = orjson.loads(raw)
    entry["exp"] = time.time() - 1
    await client.call("SET", "lp:tok:d-buyer", orjson.dumps(entry))
    await client.close()

    assert (await second.lookup("d-buyer"))[0] is None


async def test_zero_lifetime_caches_nothing(redis_url: str):
    cache = TokenCache(0, RespClient(redis_url))
    found, stamp = await cache.lookup("d-buyer")
    await cache.put("d-buyer", BUYER, stamp)
    assert (found, cache.get("d-buyer")) == (None, None)
    await cache.close()


async def test_without_redis_only_the_local_tier_exists():
    cache = TokenCache(30)
    found, stamp = await cache.lookup("d-buyer")
    assert (found, stamp) == (None, Stamp(0, 0))
    await cache.put("d-buyer", BUYER, stamp)
    assert cache.get("d-buyer") == BUYER
    await cache.forget()
    assert cache.get("d-buyer") is None


async def test_a_revocation_reaches_the_other_workers_own_tier_at_once(redis_url: str):
    """Without the broadcast the second worker would honour the revoked token for `ttl`."""
    brokers = [RedisBroker(redis_url), RedisBroker(redis_url)]
    for broker in brokers:
        await broker.start()
    first = TokenCache(30, RespClient(redis_url), brokers[0])
    second = TokenCache(30, RespClient(redis_url), brokers[1])
    for cache in (first, second):
        await cache.start()
    told = asyncio.Event()
    await brokers[1].subscribe(TOKENS_CHANNEL, lambda _c, _d: told.set())
    try:
        await validate(second, "d-staff", STAFF)
        assert second.get("d-staff") == STAFF

        await first.forget()
        await asyncio.wait_for(told.wait(), 10)  # a bound on failure; it comes in milliseconds

        assert second.get("d-staff") is None
        assert (await second.lookup("d-staff"))[0] is None
    finally:
        for cache in (first, second):
            await cache.close()
        for broker in brokers:
            await broker.close()
