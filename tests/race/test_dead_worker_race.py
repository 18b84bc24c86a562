"""A dead worker's Redis reservations are recognised within seconds (issue #16, item 14).

On the scale-out shape (PostgreSQL + Redis, two workers) the server is SIGKILLed in the middle
of a burst, while reservations are pending in Redis whose orders were never written (the
database is made slow to commit at that moment, so that the crash always catches some). It restarts,
and every buyer of the burst retries with the same Idempotency-Key, as a buyer's app does. With
the 60 s lease alone, a retry whose first request died unwritten waited 10 s and was answered 503
while its unit stayed unsold for up to a minute. Now every retry is answered (201 or sold out)
well within that wait, the sale sells exactly its allocation, and the gate agrees with the
database within seconds, all with the production lease of 60 s.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.race.race_support import (
    Shape,
    burst,
    crash,
    ledger,
    new_key,
    seed_demo,
    session_item,
    tally,
    wait_for,
)

pytestmark = pytest.mark.slow

# Production's lease (60 s) stays; the liveness key expires 2 s after the last heartbeat.
LIVENESS = {"LIVEPLEDGE_GATE_LEASE_SECONDS": "60", "LIVEPLEDGE_GATE_WORKER_TTL_SECONDS": "2",
            "LIVEPLEDGE_GATE_HEARTBEAT_SECONDS": "0.5"}


async def pending_refs(redis_url: str, item_id: int) -> set[str]:
    client = redis.from_url(redis_url)
    try:
        return {k.decode() for k in await client.hkeys(f"lp:gate:{{{item_id}}}:pending")}
    finally:
        await client.aclose()


async def gate_remaining(redis_url: str, item_id: int) -> int | None:
    client = redis.from_url(redis_url)
    try:
        value = await client.get(f"lp:gate:{{{item_id}}}:remaining")
    finally:
        await client.aclose()
    return None if value is None else int(value)


async def test_retries_after_sigkill_resolve_within_seconds(pg_url, redis_url, server_factory):
    # Given the scale-out shape, 240 buyers and 100 units, 30 of them already sold
    shape = Shape("postgresql+redis", pg_url, redis_url, 2)
    allocated, buyers = 100, 240
    env = shape.env(**LIVENESS)
    scenario = seed_demo(env, buyers=buyers, stock=allocated)
    item_id = int(scenario["item_id"])  # type: ignore[call-overload]
    server = server_factory(env, workers=shape.workers)
    keys = {b: new_key() for b in range(buyers)}
    acked = await burst(server.base_url, scenario, [(b, keys[b]) for b in range(30)])
    assert tally(acked) == {201: 30}

    # And 40 more buyers whose reservations are pending while the database is slow to commit
    # (the item's row is locked by another transaction)
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as lock:
            await lock.execute(text("SELECT id FROM lineup_items WHERE id = :item FOR UPDATE"),
                               {"item": item_id})
            cut_off = asyncio.ensure_future(burst(server.base_url, scenario,
                                                  [(b, keys[b]) for b in range(30, 70)]))

            async def all_reserved() -> bool:
                return len(await pending_refs(redis_url, item_id)) == 40
            await wait_for(all_reserved, "40 reservations pending")

            # When the server and both workers are SIGKILLed, before those orders are written
            crash(server)
            await lock.rollback()
    finally:
        await engine.dispose()
    assert tally(await cut_off) == {0: 40}
    after_crash = await ledger(shape.database_url, item_id)
    assert len(after_crash.orders) == 30
    assert after_crash.stock_remaining == allocated - 30
    assert len(await pending_refs(redis_url, item_id)) == 40  # left behind by the dead workers

    # And the server restarts, and every buyer retries with the same key (the 70 above, and
    # 170 who had not pressed yet)
    restarted = server_factory(env, workers=shape.workers)
    retried = await burst(restarted.base_url, scenario, list(keys.items()), concurrency=48)

    # Then every retry is answered (an order, or sold out); none waits out the repeat wait
    # (a retry stuck behind a dead worker's reservation is answered 503 after REPEAT_WAIT_SECONDS)
    assert {a.status for a in retried} <= {201, 409}, sorted(
        (a.status, a.code) for a in retried if a.status not in (201, 409))
    assert {a.code for a in retried if a.status == 409} <= {"sold_out"}
    # an acknowledged order is answered again with the same order, never a second one
    by_key = {a.key: a for a in retried}
    for answer in acked:
        again = by_key[answer.key]
        assert (again.status, again.order_id, again.replayed) == (201, answer.order_id, True)

    # And the sale sold exactly its allocation: no unit stuck, none oversold, one order a buyer
    final = await ledger(shape.database_url, item_id)
    assert final.units() == len(final.orders) == allocated
    assert final.stock_remaining == 0
    assert set(final.orders_per_buyer().values()) == {1}
    assert {a.order_id for a in retried if a.status == 201} == set(final.orders)
    assert tally(retried) == {201: allocated, 409: buyers - allocated}
    assert (await session_item(restarted.base_url, scenario))["stock_remaining"] == 0

    # And the gate agrees with the database within seconds (the lease is 60 s)
    async def gate_settled() -> bool:
        return (not await pending_refs(redis_url, item_id)
                and await gate_remaining(redis_url, item_id) == 0)
    await wait_for(gate_settled, "the Redis gate to settle", deadline=10)
