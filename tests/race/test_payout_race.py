"""Concurrent payouts on PostgreSQL never overdraw the available balance (docs/money.md,
"Payouts"): first a deterministic interleaving (the second payout's reservation arrives while
the first one's transaction is still open), then a burst of real concurrent requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from livepledge.infra.problems import Problem
from livepledge.settlement.service import do_reserve
from tests.api.test_ledger import (
    COMMISSION,
    PAID,
    assert_verified,
    money,
    paid_order,
    release_due,
    settle,
)
from tests.api.world import World, auth, build_world
from tests.conftest import make_app_client

AVAILABLE = PAID - COMMISSION


@pytest.fixture
async def client(pg_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(pg_url, platform_commission_bp=500) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _released_sale(client: httpx.AsyncClient) -> World:
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0], ship=True, receive=True)
    await settle(client)
    await settle(client, at=await release_due(client, order_id))
    assert (await money(w))["payable"] == AVAILABLE
    return w


async def test_a_second_reservation_waits_for_the_first_and_then_finds_nothing_left(
        client: httpx.AsyncClient):
    w = await _released_sale(client)
    db = _rt(client).db
    async with db.write() as first:
        await do_reserve(first.conn, w.shop_id, AVAILABLE)
        pid = (await first.conn.execute(text("select pg_backend_pid()"))).scalar_one()

        async def second() -> None:
            async with db.write() as uow:
                await do_reserve(uow.conn, w.shop_id, AVAILABLE)

        racing = asyncio.create_task(second())
        async with db.read() as probe:  # the second is blocked on the first's row lock
            while not (await probe.execute(text(
                    "select count(*) from pg_locks l join pg_stat_activity a using (pid) "
                    "where not l.granted and :pid = any(pg_blocking_pids(a.pid))"),
                    {"pid": pid})).scalar_one():
                await asyncio.sleep(0.01)
            await probe.rollback()
        assert not racing.done()
    with pytest.raises(Problem) as refused:  # the first committed: nothing left for it
        await racing
    assert refused.value.code == "insufficient_balance"
    assert (await money(w))["payable"] == 0


async def test_a_burst_of_payouts_pays_out_at_most_the_balance(client: httpx.AsyncClient):
    w = await _released_sale(client)
    url = f"/api/v1/shops/{w.shop_id}/payouts"

    async def pay(key: str, amount: int) -> httpx.Response:
        return await client.post(url, json={"amount": amount},
                                 headers={**auth(w.merchant), "Idempotency-Key": key})

    answers = await asyncio.gather(*(pay(f"k{n}", 1000) for n in range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 9 + [409] * 11  # 9 × 1000 ≤ 9405 < 10 × 1000
    same = await asyncio.gather(*(pay("same", 400) for _ in range(8)))
    assert {a.json()["id"] for a in same} == {same[0].json()["id"]}
    assert sorted(a.status_code for a in same) == [200] * 7 + [201]
    await settle(client)
    assert await money(w) == {"held": 0, "available": AVAILABLE - 9400, "payable": 5,
                              "deposit": 0, "payouts_pending": 0}
    assert _rt(client).payments.payout_calls == 10
    await assert_verified(client)


async def test_a_burst_of_anchor_payouts_and_deposit_withdrawals_never_overdraws(
        client: httpx.AsyncClient):
    from tests.api.test_agreements import agree, earnings
    from tests.api.test_ledger import _top_up

    w = await build_world(client, buyers=0, live=False)
    assert (await agree(w, "agr", party_id=w.anchor_id, session_id=w.session_id,
                        commission_bp=0, slot_fee=5000)).status_code == 201
    assert (await _top_up(w, 3000)).status_code == 201
    await settle(client)

    async def pay(key: str, amount: int) -> httpx.Response:
        return await client.post("/api/v1/me/payouts", json={"amount": amount},
                                 headers={**auth(w.anchor), "Idempotency-Key": key})

    async def withdraw(key: str, amount: int) -> httpx.Response:
        return await client.post(f"/api/v1/shops/{w.shop_id}/deposit/withdrawals",
                                 json={"amount": amount},
                                 headers={**auth(w.merchant), "Idempotency-Key": key})

    answers = await asyncio.gather(*(pay(f"a{n}", 700) for n in range(12)),
                                   *(withdraw(f"d{n}", 700) for n in range(8)),
                                   *(pay("same", 100) for _ in range(4)))
    anchor = sorted(a.status_code for a in answers[:12])
    shop = sorted(a.status_code for a in answers[12:20])
    same = answers[20:]
    # 7 × 700 = 4900 ≤ 5000 − 100 (the repeated key's one payout) < 8 × 700; 4 × 700 ≤ 3000
    assert anchor == [201] * 7 + [409] * 5
    assert shop == [201] * 4 + [409] * 4
    assert sorted(a.status_code for a in same) == [200] * 3 + [201]
    assert {a.json()["id"] for a in same} == {same[0].json()["id"]}
    await settle(client)
    mine = await earnings(client, w.anchor)
    assert (mine["owed"], mine["payouts_pending"]) == (5000 - 4900 - 100, 0)
    assert (await money(w))["deposit"] == 3000 - 2800
    await assert_verified(client)
