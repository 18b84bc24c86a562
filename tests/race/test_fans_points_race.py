"""Points never go below zero and daily affinity caps hold under concurrent writers, on SQLite
and PostgreSQL: first a deterministic interleaving on PostgreSQL (a second spend arrives while
the first one's transaction holds the fan's row), then bursts of real concurrent calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from livepledge.fans import service as fans
from livepledge.fans.models import affinity_entries, fan_members, point_entries
from livepledge.infra.problems import Problem
from tests.api.world import World, auth, build_world
from tests.conftest import make_app_client


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _fan_with_points(client: httpx.AsyncClient, points: int) -> tuple[World, int]:
    w = await build_world(client, buyers=1)
    joined = await client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                              headers=auth(w.buyers[0]))
    uid = joined.json()["me"]["user_id"]
    rt = _rt(client)
    async with rt.db.write() as uow:
        await fans.do_add_points(uow, w.shop_id, uid, points, reason="test", ref="grant",
                                 now=rt.now())
    return w, uid


async def _balance_and_history(client: httpx.AsyncClient, shop_id: int,
                               uid: int) -> tuple[int, int, int]:
    async with _rt(client).db.read() as conn:
        balance = (await conn.execute(select(fan_members.c.points).where(
            fan_members.c.shop_id == shop_id, fan_members.c.user_id == uid))).scalar_one()
        total, lowest = (await conn.execute(select(
            func.sum(point_entries.c.delta), func.min(point_entries.c.balance)).where(
            point_entries.c.shop_id == shop_id, point_entries.c.user_id == uid))).one()
    return int(balance), int(total), int(lowest)


async def test_a_second_spend_waits_for_the_first_and_then_finds_too_little(client):
    rt = _rt(client)
    if rt.db.is_sqlite:
        pytest.skip("SQLite has one writer: the interleaving cannot happen")
    w, uid = await _fan_with_points(client, 10)
    async with rt.db.write() as first:
        assert await fans.do_add_points(first, w.shop_id, uid, -8, reason="spend:coupon",
                                        ref="spend:a", now=rt.now()) == 2
        pid = (await first.conn.execute(text("select pg_backend_pid()"))).scalar_one()
        racing = asyncio.create_task(fans.spend(rt.db, w.shop_id, uid, 8, reason="coupon",
                                                ref="b", now=rt.now()))
        async with rt.db.read() as probe:  # the second is blocked on the fan's row
            while not (await probe.execute(text(
                    "select count(*) from pg_locks l join pg_stat_activity a using (pid) "
                    "where not l.granted and :pid = any(pg_blocking_pids(a.pid))"),
                    {"pid": pid})).scalar_one():
                await asyncio.sleep(0.01)
            await probe.rollback()
        assert not racing.done()
    with pytest.raises(Problem) as refused:
        await racing
    assert refused.value.code == "insufficient_points"
    assert await _balance_and_history(client, w.shop_id, uid) == (2, 2, 2)


async def test_a_burst_of_spends_never_overdraws(client):
    w, uid = await _fan_with_points(client, 100)
    rt = _rt(client)
    results = await asyncio.gather(*(
        fans.spend(rt.db, w.shop_id, uid, 7, reason="coupon", ref=f"r{n}", now=rt.now())
        for n in range(40)), return_exceptions=True)
    spent = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Problem)]
    assert (len(spent), len(refused)) == (14, 26)
    assert {r.code for r in refused} == {"insufficient_points"}
    assert await _balance_and_history(client, w.shop_id, uid) == (2, 2, 2)


async def test_concurrent_credits_hold_the_daily_cap(client):
    """Twenty chat batches credited at once (several chat writers) give at most the day's 20."""
    w, uid = await _fan_with_points(client, 0)
    rt = _rt(client)

    async def credit(n: int) -> None:
        async with rt.db.write() as uow:
            await fans.do_award(uow, w.shop_id, [fans.Award(uid, "chat", 1, f"chat:{n}")],
                                rt.now())

    await asyncio.gather(*(credit(n) for n in range(20)))
    async with rt.db.read() as conn:
        stored = (await conn.execute(select(fan_members.c.affinity).where(
            fan_members.c.shop_id == w.shop_id, fan_members.c.user_id == uid))).scalar_one()
        history = (await conn.execute(select(func.sum(affinity_entries.c.points)).where(
            affinity_entries.c.shop_id == w.shop_id,
            affinity_entries.c.user_id == uid))).scalar_one()
    assert (stored, history) == (20, 20)
