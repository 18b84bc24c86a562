"""Flash-sale invariants against a real `livepledge serve` process over HTTP, on every deployment
shape (SQLite embedded; PostgreSQL embedded; PostgreSQL + Redis with two workers):

- units sold never exceed units allocated and per-buyer limits hold, with 500 concurrent buyers;
- the same Idempotency-Key never creates a second order, even fired concurrently."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests.race.race_support import (
    Answer,
    Ledger,
    burst,
    ledger,
    lp_env,
    new_key,
    seed_demo,
    session_item,
)

pytestmark = pytest.mark.slow

BUYERS = 500
ALLOCATED = 100


def assert_acknowledged_orders_match_the_database(answers: list[Answer], db: Ledger,
                                                  scenario: dict[str, object]) -> None:
    created = [a for a in answers if a.status == 201 and not a.replayed]
    assert len(created) == ALLOCATED
    assert {a.order_id for a in created} == set(db.orders)
    for answer in created:
        order = db.orders[answer.order_id]  # type: ignore[index]
        assert order["idempotency_key"] == answer.key
        assert order["buyer_id"] == answer.body["buyer_id"]
        assert order["quantity"] == 1
        assert order["status"] == "pending_payment"
    assert db.units() == ALLOCATED
    assert db.stock_allocated == ALLOCATED
    assert db.stock_remaining == 0
    assert set(db.orders_per_buyer().values()) == {1}
    assert db.buyer_counts == dict.fromkeys(db.orders_per_buyer(), 1)


async def test_500_concurrent_buyers_buy_exactly_the_allocation(shape, server_factory):
    # Given 500 buyers, each with one request, and 100 units at a limit of 1 per buyer
    env = shape.env()
    scenario = seed_demo(env, buyers=BUYERS, stock=ALLOCATED)
    server = server_factory(env, workers=shape.workers)

    # When they all press buy at once
    answers = await burst(server.base_url, scenario, [(b, new_key()) for b in range(BUYERS)])
    item = await session_item(server.base_url, scenario)

    # Then exactly 100 are acknowledged, each is one order in the database, the rest sold out
    db = await ledger(shape.database_url, scenario["item_id"])
    assert Counter(a.status for a in answers) == {201: ALLOCATED, 409: BUYERS - ALLOCATED}
    assert {a.code for a in answers if a.status == 409} == {"sold_out"}
    assert_acknowledged_orders_match_the_database(answers, db, scenario)
    assert item["stock_remaining"] == 0


async def test_buyers_firing_three_keys_each_never_exceed_the_limit(shape, server_factory):
    # Given 500 buyers who each fire 3 parallel requests with different keys (limit 1 each)
    env = shape.env()
    scenario = seed_demo(env, buyers=BUYERS, stock=ALLOCATED)
    server = server_factory(env, workers=shape.workers)
    requests = [(b, new_key()) for _ in range(3) for b in range(BUYERS)]

    # When all 1,500 requests arrive together
    answers = await burst(server.base_url, scenario, requests)
    item = await session_item(server.base_url, scenario)

    # Then 100 buyers have exactly one order each and every other request was refused
    db = await ledger(shape.database_url, scenario["item_id"])
    assert Counter(a.status for a in answers) == {201: ALLOCATED, 409: 3 * BUYERS - ALLOCATED}
    assert {a.code for a in answers if a.status == 409} <= {"sold_out", "over_limit"}
    winners = Counter(a.buyer for a in answers if a.status == 201)
    assert len(winners) == ALLOCATED and set(winners.values()) == {1}
    assert_acknowledged_orders_match_the_database(answers, db, scenario)
    assert item["stock_remaining"] == 0


async def test_same_idempotency_key_fired_concurrently_creates_one_order(shape, server_factory):
    # Given 10 buyers and plenty of stock, the per-buyer limit being 1
    env = shape.env()
    scenario = seed_demo(env, buyers=10, stock=ALLOCATED)
    server = server_factory(env, workers=shape.workers)
    keys = {b: new_key() for b in range(10)}

    # When each buyer fires the same request (same key) 20 times in parallel
    answers = await burst(server.base_url, scenario, [(b, keys[b]) for _ in range(20)
                                                      for b in keys])
    # and once more after the first answers are in
    repeats = await burst(server.base_url, scenario, [(b, keys[b]) for b in keys])
    item = await session_item(server.base_url, scenario)

    # Then each buyer has exactly one order, and every success names that order
    db = await ledger(shape.database_url, scenario["item_id"])
    by_key = {o["idempotency_key"]: o for o in db.orders.values()}
    assert len(db.orders) == 10
    assert set(by_key) == set(keys.values())
    for answer in answers + repeats:
        # a duplicate that arrives while the first is still being written waits for its order
        assert answer.status == 201, answer
        assert answer.order_id == by_key[answer.key]["id"]
    assert sum(1 for a in answers if not a.replayed) == 10
    assert all(a.status == 201 and a.replayed for a in repeats)
    assert item["stock_remaining"] == ALLOCATED - 10
    assert db.stock_remaining == ALLOCATED - 10


async def test_same_idempotency_key_on_an_embedded_server_and_its_sqlite_file(tmp_path,
                                                                               server_factory):
    """A cheap extra: the replay also works for a buyer whose order has been paid since."""
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    scenario = seed_demo(env, buyers=1, stock=5)
    server = server_factory(env)
    token = scenario["buyer_tokens"][0]
    key = new_key()
    first = (await burst(server.base_url, scenario, [(0, key)]))[0]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        paid = await http.post(f"/api/v1/orders/{first.order_id}/pay",
                               headers={"Authorization": f"Bearer {token}"})
    again = (await burst(server.base_url, scenario, [(0, key)]))[0]
    assert first.status == 201 and not first.replayed
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert again.status == 201 and again.replayed
    assert again.order_id == first.order_id
    assert again.body["status"] == "paid"
    db = await ledger(env["LIVEPLEDGE_DATABASE_URL"], scenario["item_id"])
    assert list(db.orders) == [first.order_id]
    assert db.stock_remaining == 4
