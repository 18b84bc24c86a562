"""Kill the server (SIGKILL) after a lottery's seed is revealed and its winners drawn, before
their prize orders are placed; restart it: every winner ends with exactly one prize order (and
one notice), and nobody else with any.

The draw (`lottery_draw`) and the prizes (`lottery_prizes`) are two durable deadlines, each one
transaction with its `fired_at`; the deadline poll is set long (4 s) so that the kill lands
between them, which the test checks before restarting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.race.race_support import crash, fetch, lp_env, seed_demo, wait_for

BUYERS, WINNERS = 20, 10


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


async def _lottery(url: str, lottery_id: int) -> dict[str, Any]:
    return (await fetch(url, "SELECT status, revealed_seed, prizes_placed_at FROM lotteries "
                        "WHERE id = :id", id=lottery_id))[0]


async def _prize_orders(url: str, lottery_id: int) -> list[dict[str, Any]]:
    return await fetch(url, "SELECT id, buyer_id, amount, status FROM orders "
                       "WHERE idempotency_key = :key ORDER BY id",
                       key=f"lottery prize {lottery_id}")


async def test_a_kill_between_reveal_and_prize_orders_leaves_one_prize_order_per_winner(
        url, server_factory) -> None:  # type: ignore[no-untyped-def]
    env = lp_env(url, "", LIVEPLEDGE_DEADLINE_POLL_SECONDS="4",
                 LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.05")
    demo = seed_demo(env, buyers=BUYERS, stock=1)
    server = server_factory(env)
    base = server.base_url
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    session = httpx.get(f"{base}/api/v1/sessions/{demo['session_id']}").json()
    closes = datetime.now(UTC) + timedelta(seconds=12)
    created = httpx.post(f"{base}/api/v1/sessions/{demo['session_id']}/lotteries",
                         headers=merchant, json={
                             "title": "整点福袋", "sku_id": session["lineup"][0]["sku_id"],
                             "winners": WINNERS, "closes_at": closes.isoformat()})
    assert created.status_code == 201, created.text
    lottery_id = created.json()["id"]
    for token in demo["buyer_tokens"]:  # type: ignore[union-attr]
        entered = httpx.post(f"{base}/api/v1/lotteries/{lottery_id}/entries",
                             headers={"Authorization": f"Bearer {token}"})
        assert entered.status_code == 201, entered.text

    async def drawn() -> bool:
        return (await _lottery(url, lottery_id))["status"] == "drawn"
    await wait_for(drawn, "the draw", deadline=60, every=0.02)
    crash(server)

    # Then the seed is revealed and the winners stored, but no prize order exists yet
    state = await _lottery(url, lottery_id)
    assert state["revealed_seed"] is not None and state["prizes_placed_at"] is None
    assert await _prize_orders(url, lottery_id) == []
    winners = await fetch(url, "SELECT buyer_id FROM lottery_winners WHERE lottery_id = :id",
                          id=lottery_id)
    assert len(winners) == WINNERS

    # And once restarted, each winner has exactly one zero-price prize order
    server = server_factory(env)

    async def placed() -> bool:
        return (await _lottery(url, lottery_id))["prizes_placed_at"] is not None
    await wait_for(placed, "the prize orders", deadline=60)
    orders = await _prize_orders(url, lottery_id)
    assert sorted(o["buyer_id"] for o in orders) == sorted(w["buyer_id"] for w in winners)
    assert {(o["amount"], o["status"]) for o in orders} == {(0, "paid")}
    linked = await fetch(url, "SELECT order_id FROM lottery_winners WHERE lottery_id = :id",
                         id=lottery_id)
    assert sorted(r["order_id"] for r in linked) == [o["id"] for o in orders]

    async def told() -> bool:
        rows = await fetch(url, "SELECT count(*) AS n FROM notices WHERE kind = 'lottery_won'")
        return int(rows[0]["n"]) >= WINNERS
    await wait_for(told, "the winners' notices")
    rows = await fetch(url, "SELECT count(*) AS n FROM notices WHERE kind = 'lottery_won'")
    assert rows[0]["n"] == WINNERS
    document = httpx.get(f"{server.base_url}/api/v1/lotteries/{lottery_id}/verification").json()
    assert document["report"]["verified"] is True
