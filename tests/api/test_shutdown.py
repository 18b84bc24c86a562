"""Shutting down finishes the work in progress instead of cutting it in half
(infra/stopping.py): an order batch being written is written and answered, a room's last likes
are stored even when whoever closes the room is cancelled, and a buy arriving afterwards is a
clean 503 that leaves nothing behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from livepledge.accounts.models import users
from livepledge.accounts.principal import Principal
from livepledge.config import Settings
from livepledge.demo import seed
from livepledge.deps import build_runtime, close_runtime
from livepledge.infra.db import Database
from livepledge.infra.problems import Problem
from livepledge.infra.stopping import Stop
from livepledge.live.models import likes, lineup_items
from livepledge.orders import service
from livepledge.orders.models import orders
from tests.conftest import _migrated


@pytest.fixture
def url(sqlite_url: str) -> str:
    _migrated(sqlite_url)
    return sqlite_url


async def _world(url: str) -> tuple[Any, Any, list[Principal]]:
    db = Database(url)
    try:
        scenario = await seed(db, buyers=2, stock=5)
    finally:
        await db.dispose()
    runtime = await build_runtime(Settings(database_url=url, password_time_cost=1,
                                           password_memory_kib=8192))
    async with runtime.db.read() as conn:

        rows = (await conn.execute(select(users.c.id, users.c.login).where(
            users.c.login.in_(scenario.buyer_logins)).order_by(users.c.id))).all()
    buyers = [Principal(user_id=row.id, login=row.login, display_name=row.login, role="buyer")
              for row in rows]
    return runtime, scenario, buyers


async def _count(url: str, query: Any) -> Any:
    db = Database(url)
    try:
        async with db.read() as conn:
            return (await conn.execute(query)).scalar_one()
    finally:
        await db.dispose()


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


async def test_an_order_batch_in_flight_at_shutdown_is_written_and_answered(
        url: str) -> None:
    runtime, scenario, buyers = await _world(url)
    entered, proceed = asyncio.Event(), asyncio.Event()
    real_commit = runtime.writer._commit

    async def held_commit(batch: list[Any]) -> Any:
        entered.set()
        await proceed.wait()
        return await real_commit(batch)

    runtime.writer._commit = held_commit

    def buy(buyer: Principal, key: str) -> Any:
        return service.buy(runtime.buy, buyer, scenario.session_id, scenario.item_id,
                           quantity=1, key=key, now=runtime.now())

    in_flight = asyncio.create_task(buy(buyers[0], "before-shutdown"))
    await entered.wait()
    closing = asyncio.create_task(close_runtime(runtime))
    await _until(lambda: runtime.writer._closed)
    with pytest.raises(Problem) as refused:  # arrives while the batch is still being written
        await buy(buyers[1], "during-shutdown")
    proceed.set()
    order, created = await in_flight
    await closing

    assert refused.value.code == "service_unavailable"
    assert (created, order["status"], order["quantity"]) == (True, "pending_payment", 1)
    assert await _count(url, select(func.count()).select_from(orders)) == 1
    assert await _count(url, select(orders.c.buyer_id)) == buyers[0].user_id
    assert await _count(url, select(lineup_items.c.stock_remaining).where(
        lineup_items.c.id == scenario.item_id)) == 4


async def test_a_room_closed_by_a_cancelled_leave_still_stores_its_likes(
        url: str) -> None:
    runtime, scenario, buyers = await _world(url)
    room, client = await runtime.rooms.join(scenario.session_id, "u:1", buyers[0].user_id)
    runtime.rooms.like(room, buyers[0].user_id, 7)
    entered, proceed = asyncio.Event(), asyncio.Event()
    real_flush = room._flush

    async def held_flush() -> None:
        entered.set()
        await proceed.wait()
        await real_flush()

    room._flush = held_flush
    leaving = asyncio.create_task(runtime.rooms.leave(room, client))
    await entered.wait()
    leaving.cancel()  # twice, as a cancel scope does, while the likes are being stored
    await asyncio.sleep(0)
    leaving.cancel()
    proceed.set()
    assert isinstance((await asyncio.gather(leaving, return_exceptions=True))[0],
                      asyncio.CancelledError)
    await close_runtime(runtime)  # waits for the room that was still storing

    assert room.closed
    assert await _count(url, select(func.coalesce(func.sum(likes.c.count), 0)).where(
        likes.c.session_id == scenario.session_id)) == 7


async def test_stop_ends_a_rest_at_once_and_every_later_one() -> None:
    stop = Stop()
    assert await stop.rest(0) is True  # time is up: go on
    resting = asyncio.create_task(stop.rest(3600))
    await asyncio.sleep(0)
    stop.set()
    done, _ = await asyncio.wait([resting], timeout=10)  # a bound on failure only
    assert [task.result() for task in done] == [False]
    assert await stop.rest(3600) is False
