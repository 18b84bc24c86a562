"""Durability and stock return against a real server, on every deployment shape:

- every order acknowledged with 201 survives SIGKILL of the server (and its workers) mid-sale, stock
  is reconciled on restart, and the sale goes on to sell exactly the allocation;
- unpaid orders expire and give exactly their quantity back, once, even with two workers sweeping.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
import redis.asyncio as redis

from tests.race.race_support import (
    TLS,
    Answer,
    burst,
    crash,
    expected,
    fetch,
    ledger,
    new_key,
    seed_demo,
    session_item,
    tally,
    wait_for,
)

pytestmark = pytest.mark.slow

# The Redis gate settles reservations left pending by a dead worker once they are older than
# this lease; production keeps the 60 s default.
SHORT_LEASE = {"LIVEPLEDGE_GATE_LEASE_SECONDS": "1"}


async def gate_state(redis_url: str, item_id: int) -> tuple[int | None, int]:
    client = redis.from_url(redis_url)
    try:
        remaining = await client.get(f"lp:gate:{{{item_id}}}:remaining")
        pending = await client.hlen(f"lp:gate:{{{item_id}}}:pending")
    finally:
        await client.aclose()
    return (None if remaining is None else int(remaining)), int(pending)


async def test_acknowledged_orders_survive_sigkill_and_the_sale_resumes(shape, server_factory):
    # Given 600 buyers and 300 units, bought 24 requests at a time so the sale takes a while
    allocated, buyers = 300, 600
    env = shape.env(**SHORT_LEASE)
    scenario = seed_demo(env, buyers=buyers, stock=allocated)
    server = server_factory(env, workers=shape.workers)
    acked: list[Answer] = []
    crashed = asyncio.Event()

    def on_answer(answer: Answer) -> None:
        if answer.status == 201:
            acked.append(answer)
            if len(acked) == 60 and not crashed.is_set():
                # When the server (and every worker) is SIGKILLed in the middle of the sale
                crash(server)
                crashed.set()

    first = await burst(server.base_url, scenario, [(b, new_key()) for b in range(buyers)],
                        concurrency=24, on_answer=on_answer)
    assert crashed.is_set()
    assert server.process.poll() is not None

    # Then every acknowledged order is in the database, nothing is oversold, and the item's
    # stock agrees with its orders
    after_crash = await ledger(shape.database_url, scenario["item_id"])
    assert {a.order_id for a in acked} <= set(after_crash.orders)
    assert len(acked) >= 60
    assert after_crash.units() <= allocated
    assert after_crash.stock_remaining == allocated - after_crash.units()
    assert set(after_crash.orders_per_buyer().values()) <= {1}
    in_flight = [a for a in first if a.status == 0 and a.error != "ConnectError"]
    never_sent = [a for a in first if a.error == "ConnectError"]
    assert never_sent, "the crash came after the burst had ended"

    # When the server restarts on the same database
    restarted = server_factory(env, workers=shape.workers)
    if shape.redis_url:
        # the reservations the dead workers left pending are settled after the lease
        async def gate_reconciled() -> bool:
            remaining, pending = await gate_state(shape.redis_url, scenario["item_id"])
            return pending == 0 and remaining in (None, after_crash.stock_remaining)
        await wait_for(gate_reconciled, "the Redis gate to be reconciled with the database")

    # Then retrying a request cut off by the crash with its key returns the order if it was
    # committed
    retried = await burst(restarted.base_url, scenario, [(a.buyer, a.key) for a in in_flight])
    committed_keys = {o["idempotency_key"]: o["id"] for o in after_crash.orders.values()}
    for answer in retried:
        if answer.key in committed_keys:
            assert (answer.status, answer.replayed) == (201, True)
            assert answer.order_id == committed_keys[answer.key]
        else:
            assert answer.status in (201, 409)

    # And the buyers still without an order can buy exactly what is left, no more
    before_rest = await ledger(shape.database_url, scenario["item_id"])
    have_order = {o["buyer_id"] for o in before_rest.orders.values()}
    buyer_ids = await _buyer_ids(shape.database_url, scenario)
    rest = [b for b in range(buyers) if buyer_ids[b] not in have_order]
    answers = await burst(restarted.base_url, scenario, [(b, new_key()) for b in rest])
    final = await ledger(shape.database_url, scenario["item_id"])
    created = [a for a in answers if a.status == 201]
    assert before_rest.stock_remaining > 0
    assert tally(answers) == expected(s201=before_rest.stock_remaining,
                                      s409=len(rest) - before_rest.stock_remaining)
    assert {a.code for a in answers if a.status == 409} <= {"sold_out"}
    assert {a.order_id for a in acked + created} <= set(final.orders)
    assert final.units() == allocated == len(final.orders)
    assert final.stock_remaining == 0
    assert set(final.orders_per_buyer().values()) == {1}
    assert (await session_item(restarted.base_url, scenario))["stock_remaining"] == 0


async def _buyer_ids(database_url: str, scenario: dict[str, object]) -> list[int]:
    """Buyer user ids in the order of the seeded tokens (logins end in their 1-based index)."""
    rows = await fetch(database_url, "SELECT id, login FROM users WHERE role = 'buyer'")
    prefix = _login_prefix(rows, len(scenario["buyer_tokens"]))  # type: ignore[arg-type]
    by_login = {r["login"]: r["id"] for r in rows}
    return [by_login[f"{prefix}buyer{i}"] for i in range(1, len(scenario["buyer_tokens"]) + 1)]  # type: ignore[arg-type]


def _login_prefix(rows: list[dict[str, object]], count: int) -> str:
    prefixes = Counter(str(r["login"]).rsplit("buyer", 1)[0] for r in rows)
    matching = [p for p, n in prefixes.items() if n == count]
    assert len(matching) == 1
    return matching[0]


async def test_unpaid_orders_expire_and_return_their_units_exactly_once(shape, server_factory):
    # Given orders that expire 5 s after they are placed, swept every 0.2 s (by two workers on
    # the scale-out shape), and 100 units of which 40 buyers take one each
    allocated = 100
    env = shape.env(LIVEPLEDGE_ORDER_PAYMENT_TIMEOUT_SECONDS="5",
                    LIVEPLEDGE_EXPIRY_SWEEP_INTERVAL_SECONDS="0.2")
    scenario = seed_demo(env, buyers=120, stock=allocated)
    server = server_factory(env, workers=shape.workers)
    placed = await burst(server.base_url, scenario, [(b, new_key()) for b in range(40)])
    assert tally(placed) == {201: 40}

    # When 15 of them pay in time and the other 25 do not
    paid_ids = {a.order_id for a in placed[:15]}
    async with httpx.AsyncClient(base_url=server.base_url, verify=TLS) as http:
        for answer in placed[:15]:
            token = scenario["buyer_tokens"][answer.buyer]
            response = await http.post(f"/api/v1/orders/{answer.order_id}/pay",
                                       headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text

    unpaid_ids = {a.order_id for a in placed[15:]}

    async def all_unpaid_expired() -> bool:
        db = await ledger(shape.database_url, scenario["item_id"])
        return {i for i, o in db.orders.items() if o["status"] == "expired"} == unpaid_ids
    await wait_for(all_unpaid_expired, "the unpaid orders to expire", deadline=30)

    # Then each expired order gave back exactly its one unit, once
    db = await ledger(shape.database_url, scenario["item_id"])
    assert {i for i, o in db.orders.items() if o["status"] == "paid"} == paid_ids
    assert db.stock_remaining == allocated - 15
    paid_buyers = {db.orders[i]["buyer_id"] for i in paid_ids}
    assert db.buyer_counts == {**dict.fromkeys(paid_buyers, 1),
                               **{db.orders[i]["buyer_id"]: 0 for i in unpaid_ids}}
    expired_events = await fetch(
        shape.database_url, "SELECT order_id FROM events WHERE type = 'OrderExpired' AND "
        "session_id = :session", session=scenario["session_id"])
    assert sorted(e["order_id"] for e in expired_events) == sorted(unpaid_ids)
    assert (await session_item(server.base_url, scenario))["stock_remaining"] == allocated - 15

    # And the returned units sell again, to exactly the allocation: 25 buyers whose orders
    # expired buy again, and 80 new buyers compete for the other 60 units
    again = await burst(server.base_url, scenario,
                        [(a.buyer, new_key()) for a in placed[15:]]
                        + [(b, new_key()) for b in range(40, 120)])
    final = await ledger(shape.database_url, scenario["item_id"])
    assert tally(again) == {201: allocated - 15, 409: 25 + 80 - (allocated - 15)}
    assert final.stock_remaining == 0
    assert final.units("pending_payment", "paid") == allocated
    assert len(final.orders) == allocated + 25
    if shape.redis_url:  # confirmations of the last batch may trail its answers briefly
        async def gate_settled() -> bool:
            return await gate_state(shape.redis_url, scenario["item_id"]) == (0, 0)
        await wait_for(gate_settled, "the Redis gate to show 0 left and nothing pending")
