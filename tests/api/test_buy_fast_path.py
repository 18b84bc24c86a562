"""The order writer's fast path (orders/writer.py) against its careful path, on SQLite and
PostgreSQL: both write the same rows and give the same answers, every answer is what is on disk,
and whenever the database refuses something the fast path took for granted (a key used before on
another item, stock or a buyer's count changed behind the gate) the batch is decided by the
careful path and nothing of the refused press is written."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, update

from livepledge.accounts.models import users
from livepledge.accounts.principal import Principal
from livepledge.config import Settings
from livepledge.demo import seed
from livepledge.deps import build_runtime, close_runtime
from livepledge.infra.db import Database, row_dict
from livepledge.infra.models import events
from livepledge.infra.problems import Problem
from livepledge.live.models import lineup_items
from livepledge.orders import service
from livepledge.orders.models import buyer_item_counts, orders
from tests.conftest import _migrated


@pytest.fixture
async def world(database_url: str) -> Any:
    await asyncio.to_thread(_migrated, database_url)
    db = Database(database_url)
    try:
        scenario = await seed(db, buyers=4, stock=1000, per_buyer_limit=50)
    finally:
        await db.dispose()
    runtime = await build_runtime(Settings(database_url=database_url, password_time_cost=1,
                                           password_memory_kib=8192))
    async with runtime.db.read() as conn:
        rows = (await conn.execute(select(users.c.id, users.c.login).where(
            users.c.login.in_(scenario.buyer_logins)).order_by(users.c.id))).all()
        other_item = (await conn.execute(select(lineup_items.c.id).where(
            lineup_items.c.session_id == scenario.session_id,
            lineup_items.c.id != scenario.item_id))).scalar_one()
    buyers = [Principal(user_id=row.id, login=row.login, display_name=row.login, role="buyer")
              for row in rows]
    yield runtime, scenario, buyers, other_item
    await close_runtime(runtime)


def _buy(runtime: Any, scenario: Any, buyer: Principal, key: str, quantity: int = 1,
         item_id: int | None = None) -> Any:
    return service.buy(runtime.buy, buyer, scenario.session_id, item_id or scenario.item_id,
                       quantity=quantity, key=key, now=runtime.now())


async def _read(runtime: Any, query: Any) -> list[dict[str, Any]]:
    async with runtime.db.read() as conn:
        return [row_dict(r) for r in await conn.execute(query)]


async def _state(runtime: Any, item_id: int) -> tuple[Any, ...]:
    async with runtime.db.read() as conn:
        return (
            (await conn.execute(select(lineup_items.c.stock_remaining).where(
                lineup_items.c.id == item_id))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(orders))).scalar_one(),
            (await conn.execute(select(func.count()).select_from(events))).scalar_one(),
            sorted((await conn.execute(select(buyer_item_counts.c.buyer_id,
                                              buyer_item_counts.c.quantity))).all()),
        )


async def _burst(runtime: Any, scenario: Any, buyers: list[Principal], tag: str
                 ) -> list[dict[str, Any]]:
    """12 presses at once (one or two batches): every buyer several times, quantities 1–3."""
    presses = [(buyers[n % len(buyers)], f"{tag}-{n}", 1 + n % 3) for n in range(12)]
    answers = await asyncio.gather(*(_buy(runtime, scenario, b, k, q) for b, k, q in presses))
    assert [created for _, created in answers] == [True] * 12
    for (buyer, key, quantity), (order, _) in zip(presses, answers, strict=True):
        assert (order["buyer_id"], order["idempotency_key"], order["quantity"]) == (
            buyer.user_id, key, quantity)
    return [order for order, _ in answers]


async def _check_on_disk(runtime: Any, answers: list[dict[str, Any]]) -> None:
    """Each answer is exactly its row (the fields it shows), and its OrderPlaced event."""
    ids = [a["id"] for a in answers]
    rows = {r["id"]: r for r in await _read(runtime, select(orders).where(orders.c.id.in_(ids)))}
    placed = {e["order_id"]: e for e in await _read(runtime, select(events).where(
        events.c.order_id.in_(ids), events.c.type == "OrderPlaced"))}
    for answer in answers:
        row = rows[answer["id"]]
        assert {k: row[k] for k in answer} == answer
        assert row["returned_quantity"] == 0 and row["paid_at"] is None
        event = placed[answer["id"]]
        assert event["payload"] == {
            "item_id": answer["lineup_item_id"], "sku_id": answer["sku_id"],
            "buyer_id": answer["buyer_id"], "quantity": answer["quantity"],
            "unit_price": answer["unit_price"], "amount": answer["amount"]}
        assert (event["shop_id"], event["session_id"], event["occurred_at"]) == (
            answer["shop_id"], answer["session_id"], answer["created_at"])
        if runtime.db.is_sqlite:
            assert event["tx"] is None
        else:
            assert event["tx"] is not None


async def test_fast_and_careful_paths_write_the_same_rows_and_answers(world: Any) -> None:
    runtime, scenario, buyers, _ = world
    writer = runtime.writer
    before = await _state(runtime, scenario.item_id)

    fast = await _burst(runtime, scenario, buyers, "fast")
    assert writer.fast_misses == 0
    writer.fast = False
    careful = await _burst(runtime, scenario, buyers, "careful")

    await _check_on_disk(runtime, fast + careful)
    strip = {"id", "idempotency_key", "created_at", "expires_at"}
    assert [{k: v for k, v in a.items() if k not in strip} for a in fast] == [
        {k: v for k, v in a.items() if k not in strip} for a in careful]
    assert [list(a) for a in fast] == [list(a) for a in careful]  # same keys, same order
    units = sum(a["quantity"] for a in fast + careful)
    stock, count, _, bought = await _state(runtime, scenario.item_id)
    assert (stock, count) == (before[0] - units, before[1] + 24)
    expected: dict[int, int] = {}
    for answer in fast + careful:
        expected[answer["buyer_id"]] = expected.get(answer["buyer_id"], 0) + answer["quantity"]
    assert dict(bought) == expected
    # a repeat answers the same order, from the database
    again, created = await _buy(runtime, scenario, buyers[0], "fast-0", 1)
    assert (created, again["id"], again["amount"]) == (False, fast[0]["id"], fast[0]["amount"])


async def test_a_key_used_on_another_item_is_refused_and_changes_nothing(world: Any) -> None:
    runtime, scenario, buyers, other_item = world
    first, _ = await _buy(runtime, scenario, buyers[0], "shared-key", 1)
    before = await _state(runtime, other_item)

    # the other item's gate has never seen the key: the fast path writes, the database's unique
    # (buyer, key) refuses, and the careful path finds the earlier order
    with pytest.raises(Problem) as refused:
        await _buy(runtime, scenario, buyers[0], "shared-key", 1, item_id=other_item)

    assert refused.value.code == "idempotency_key_reused"
    assert runtime.writer.fast_misses == 1
    assert await _state(runtime, other_item) == before
    assert (await runtime.gate.remaining(other_item)) == before[0]  # the reservation given back
    assert first["lineup_item_id"] == scenario.item_id


async def test_stock_taken_behind_the_gate_is_refused_and_changes_nothing(world: Any) -> None:
    runtime, scenario, buyers, _ = world
    await _buy(runtime, scenario, buyers[0], "warm", 1)  # the gate has loaded the item
    async with runtime.db.write() as uow:
        await uow.conn.execute(update(lineup_items).where(lineup_items.c.id == scenario.item_id)
                               .values(stock_remaining=1))
    before = await _state(runtime, scenario.item_id)

    with pytest.raises(Problem) as refused:
        await _buy(runtime, scenario, buyers[1], "too-many", 2)

    assert refused.value.code == "sold_out"
    assert runtime.writer.fast_misses == 1
    assert await _state(runtime, scenario.item_id) == before


async def test_a_buyer_count_raised_behind_the_gate_is_refused_and_changes_nothing(
        world: Any) -> None:
    runtime, scenario, buyers, _ = world
    await _buy(runtime, scenario, buyers[0], "warm", 1)
    async with runtime.db.write() as uow:
        await uow.conn.execute(update(buyer_item_counts).where(
            buyer_item_counts.c.buyer_id == buyers[0].user_id).values(quantity=50))
    before = await _state(runtime, scenario.item_id)

    with pytest.raises(Problem) as refused:
        await _buy(runtime, scenario, buyers[0], "over", 1)

    assert refused.value.code == "over_limit"
    assert runtime.writer.fast_misses == 1
    assert await _state(runtime, scenario.item_id) == before


async def test_a_batch_of_two_items_is_written_in_one_transaction(world: Any) -> None:
    runtime, scenario, buyers, other_item = world
    before = [await _state(runtime, i) for i in (scenario.item_id, other_item)]
    presses = [(buyers[n % 4], f"two-{n}", [scenario.item_id, other_item][n % 2])
               for n in range(8)]
    answers = await asyncio.gather(*(_buy(runtime, scenario, b, k, 1, item_id=i)
                                     for b, k, i in presses))

    assert [created for _, created in answers] == [True] * 8
    assert runtime.writer.fast_misses == 0
    await _check_on_disk(runtime, [order for order, _ in answers])
    assert (await _state(runtime, scenario.item_id))[0] == before[0][0] - 4
    assert (await _state(runtime, other_item))[0] == before[1][0] - 4
