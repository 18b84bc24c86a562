"""The money ledger through the API: escrow until receipt and the return window, commission,
refunds before and after release, compensation from the deposit, payouts, statements — and the
ledger rebuilt from the events equal to the live one after every scenario (docs/money.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from livepledge.infra.consumers import lag
from livepledge.infra.models import deadlines
from livepledge.settlement.verify import verify
from tests.api.world import ADDRESS, World, assert_problem, auth, build_world
from tests.conftest import make_app_client

SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}
PAID = 9900  # the world's live price
COMMISSION = 495  # 5 % of 9900


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(sqlite_url, platform_commission_bp=500) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def settle(client: httpx.AsyncClient, at: datetime | None = None) -> None:
    """Consumers caught up; with `at`, the deadlines due by then fired (and their events
    consumed)."""
    rt = _rt(client)
    await caught_up(rt)
    if at is not None:
        await rt.deadlines.run_once(now=at)
        await caught_up(rt)


async def caught_up(rt: Any) -> None:
    """The ledger has read every event. On PostgreSQL a consumer does not read past a write
    transaction still running anywhere in the cluster, so one drain may stop short."""
    deadline = time.monotonic() + 30
    await rt.consumers.drain_all()
    while await lag(rt.db, "ledger"):
        assert time.monotonic() < deadline, "the ledger did not catch up"
        await asyncio.sleep(0.01)
        await rt.consumers.drain_all()


async def assert_verified(client: httpx.AsyncClient) -> None:
    report = await verify(_rt(client).db)
    assert report.agrees, report.summary()


async def money(w: World) -> dict[str, int]:
    response = await w.client.get(f"/api/v1/shops/{w.shop_id}/balances", headers=auth(w.merchant))
    assert response.status_code == 200, response.text
    body = response.json()
    return {k: body[k] for k in ("held", "available", "payable", "deposit", "payouts_pending")}


async def paid_order(w: World, token: str, *, ship: bool = False,
                     receive: bool = False) -> int:
    order = (await w.buy(token)).json()
    url = f"/api/v1/orders/{order['id']}"
    assert (await w.client.post(url + "/pay", headers=auth(token))).status_code == 200
    if ship:
        assert (await w.client.post(url + "/ship", headers=auth(w.merchant),
                                    json=SHIP)).status_code == 200
    if receive:
        assert (await w.client.post(url + "/receive", headers=auth(token))).status_code == 200
    return int(order["id"])


async def release_due(client: httpx.AsyncClient, order_id: int) -> datetime:
    async with _rt(client).db.read() as conn:
        row = (await conn.execute(select(deadlines).where(
            deadlines.c.kind == "escrow_release", deadlines.c.ref_id == order_id))).one()
    return row.due_at.replace(tzinfo=UTC) if row.due_at.tzinfo is None else row.due_at


async def deadline_row(client: httpx.AsyncClient, order_id: int) -> Any:
    async with _rt(client).db.read() as conn:
        return (await conn.execute(select(deadlines).where(
            deadlines.c.kind == "escrow_release", deadlines.c.ref_id == order_id))).one()


async def test_paid_money_is_held_until_receipt_and_the_return_window_then_released_net(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0])
    await settle(client)
    assert await money(w) == {"held": PAID, "available": 0, "payable": 0, "deposit": 0,
                              "payouts_pending": 0}
    await assert_verified(client)

    url = f"/api/v1/orders/{order_id}"
    assert (await client.post(url + "/ship", headers=auth(w.merchant), json=SHIP)).status_code \
        == 200
    await settle(client)
    shipped_due = await release_due(client, order_id)
    received = await client.post(url + "/receive", headers=auth(w.buyers[0]))
    assert received.status_code == 200
    await settle(client)
    due = await release_due(client, order_id)
    received_at = datetime.fromisoformat(received.json()["received_at"])
    assert due == received_at + timedelta(days=7)  # the law's no-reason window after receipt
    assert shipped_due > due  # deemed receipt (10 days) + 7 days was later

    await settle(client, at=due - timedelta(seconds=1))  # one second early: still held
    assert (await money(w))["held"] == PAID
    await settle(client, at=due)
    assert await money(w) == {"held": 0, "available": PAID - COMMISSION,
                              "payable": PAID - COMMISSION, "deposit": 0, "payouts_pending": 0}
    await settle(client, at=due + timedelta(days=30))  # fired once: nothing more
    assert (await money(w))["available"] == PAID - COMMISSION
    await assert_verified(client)


async def test_receipt_is_deemed_after_the_auto_receive_period(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0], ship=True)
    await settle(client)
    row = await deadline_row(client, order_id)
    order = (await client.get(f"/api/v1/orders/{order_id}", headers=auth(w.buyers[0]))).json()
    shipped_at = datetime.fromisoformat(order["shipped_at"])
    due = await release_due(client, order_id)
    assert due == shipped_at + timedelta(days=10 + 7)
    await settle(client, at=due)
    assert (await money(w))["available"] == PAID - COMMISSION
    assert (await deadline_row(client, order_id)).outcome == "released"
    assert row.payload == {"deemed": True}
    await assert_verified(client)


async def test_a_refund_while_held_comes_out_of_escrow_once(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0])
    refunded = await client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(w.buyers[0]),
                                 json={"type": "refund_only", "reason": "not_shipped"})
    assert refunded.status_code == 201, refunded.text
    await settle(client)
    # CaseRefunded took it out of escrow; the closing OrderCancelled posts nothing again
    assert await money(w) == {"held": 0, "available": 0, "payable": 0, "deposit": 0,
                              "payouts_pending": 0}
    await assert_verified(client)


async def _return(w: World, order_id: int, token: str, reason: str = "quality") -> dict:  # type: ignore[type-arg]
    case = (await w.client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(token), json={
        "type": "return_refund", "reason": reason})).json()
    url = f"/api/v1/cases/{case['id']}"
    assert (await w.client.post(url + "/merchant", headers=auth(w.merchant), json={
        "action": "approve", "return_address": ADDRESS})).status_code == 200
    assert (await w.client.post(url + "/buyer", headers=auth(token), json={
        "action": "ship_return", "carrier": "中通快递", "tracking_number": "ZT998877"})
    ).status_code == 200
    closed = await w.client.post(url + "/return-received", headers=auth(w.merchant))
    assert closed.status_code == 200, closed.text
    return closed.json()  # type: ignore[no-any-return]


async def test_a_return_after_release_comes_out_of_available_and_reverses_the_commission(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    kept = await paid_order(w, w.buyers[0], ship=True, receive=True)
    returned = await paid_order(w, w.buyers[1], ship=True, receive=True)
    await settle(client)
    await settle(client, at=await release_due(client, returned))
    assert (await money(w))["available"] == 2 * (PAID - COMMISSION)
    assert kept != returned

    case = await _return(w, returned, w.buyers[1])
    assert case["refunded"] == PAID
    await settle(client)
    assert await money(w) == {"held": 0, "available": PAID - COMMISSION,
                              "payable": PAID - COMMISSION, "deposit": 0, "payouts_pending": 0}
    statement = (await client.get(f"/api/v1/shops/{w.shop_id}/statement", params={
        "start": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "end": (datetime.now(UTC) + timedelta(days=60)).isoformat()},  # the clock was moved on
        headers=auth(w.merchant))).json()
    lines = [(ln["account"], ln["event"], ln["amount"], ln["order_id"])
             for ln in statement["lines"]]
    assert lines == [
        ("escrow", "OrderPaid", PAID, kept), ("escrow", "OrderPaid", PAID, returned),
        ("escrow", "EscrowReleased", -PAID, kept),
        ("available", "EscrowReleased", PAID - COMMISSION, kept),
        ("escrow", "EscrowReleased", -PAID, returned),
        ("available", "EscrowReleased", PAID - COMMISSION, returned),
        ("available", "CaseRefunded", -(PAID - COMMISSION), returned)]
    assert statement["accounts"]["available"]["closing"] == PAID - COMMISSION
    assert statement["accounts"]["escrow"] == {
        "opening": 0, "closing": 0, "by_event": {"OrderPaid": 2 * PAID,
                                                 "EscrowReleased": -2 * PAID}}
    await assert_verified(client)


async def test_release_waits_for_an_open_case_and_goes_when_it_closes(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0], ship=True, receive=True)
    await settle(client)
    due = await release_due(client, order_id)
    case = (await client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(w.buyers[0]),
                              json={"type": "return_refund", "reason": "no_reason"})).json()
    approved = await client.post(f"/api/v1/cases/{case['id']}/merchant",
                                 headers=auth(w.merchant),
                                 json={"action": "approve", "return_address": ADDRESS})
    assert approved.status_code == 200  # the buyer has 7 days to ship it: past the release's due
    await settle(client, at=due)
    assert (await deadline_row(client, order_id)).outcome.startswith("waiting")
    assert (await money(w))["held"] == PAID

    withdrawn = await client.post(f"/api/v1/cases/{case['id']}/buyer", headers=auth(w.buyers[0]),
                                  json={"action": "withdraw"})
    assert withdrawn.status_code == 200, withdrawn.text
    await settle(client)  # CaseClosed re-arms the release
    await settle(client, at=due + timedelta(minutes=1))
    assert (await money(w))["held"] == 0
    assert (await money(w))["available"] == PAID - COMMISSION
    await assert_verified(client)


async def _top_up(w: World, amount: int, key: str = "dep-1") -> httpx.Response:
    return await w.client.post(f"/api/v1/shops/{w.shop_id}/deposit/top-ups", json={
        "amount": amount}, headers={**auth(w.merchant), "Idempotency-Key": key})


async def test_compensation_is_taken_from_the_deposit_and_the_owner_is_told(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    assert (await _top_up(w, 5000)).status_code == 201
    first = await paid_order(w, w.buyers[0])
    second = await paid_order(w, w.buyers[1])
    for order_id in (first, second):  # the shop cancels: 30 % of 9900 = 2970 compensation
        cancelled = await client.post(f"/api/v1/orders/{order_id}/cancel",
                                      headers=auth(w.merchant),
                                      json={"reason_code": "out_of_stock"})
        assert cancelled.status_code == 200, cancelled.text
    await settle(client)
    # 2970 from the deposit; then 2030 left in it and 940 more owed from the available balance
    assert await money(w) == {"held": 0, "available": -940, "payable": 0, "deposit": 0,
                              "payouts_pending": 0}
    notices = (await client.get("/api/v1/me/notices", headers=auth(w.merchant))).json()
    deducted = [n["params"] for n in notices["notices"] if n["kind"] == "deposit_deducted"]
    assert sorted((p["order_id"], p["from_deposit"], p["deposit_left"]) for p in deducted) == [
        (first, 2970, 2030), (second, 2030, 0)]
    await assert_verified(client)


async def test_payouts_never_exceed_the_balance_and_are_idempotent(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    order_id = await paid_order(w, w.buyers[0], ship=True, receive=True)
    await settle(client)
    await settle(client, at=await release_due(client, order_id))
    url = f"/api/v1/shops/{w.shop_id}/payouts"
    before = await money(w)

    too_much = await client.post(url, json={"amount": PAID - COMMISSION + 1},
                                 headers={**auth(w.merchant), "Idempotency-Key": "p-1"})
    body = assert_problem(too_much, 409, "insufficient_balance")
    assert body["payable"] == PAID - COMMISSION
    for bad in (0, -5, 10**15):
        assert_problem(await client.post(url, json={"amount": bad}, headers={
            **auth(w.merchant), "Idempotency-Key": "p-2"}), 422, "validation_failed")
    assert_problem(await client.post(url, json={"amount": 100}, headers=auth(w.merchant)),
                   422, "validation_failed")  # no key
    assert await money(w) == before
    assert (await client.get(url, headers=auth(w.merchant))).json() == []

    paid = await client.post(url, json={"amount": 9000},
                             headers={**auth(w.merchant), "Idempotency-Key": "p-3"})
    assert paid.status_code == 201, paid.text
    again = await client.post(url, json={"amount": 9000},
                              headers={**auth(w.merchant), "Idempotency-Key": "p-3"})
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == paid.json()
    assert (await money(w))["payable"] == PAID - COMMISSION - 9000  # reserved at once
    reused = await client.post(url, json={"amount": 1},
                               headers={**auth(w.merchant), "Idempotency-Key": "p-3"})
    assert_problem(reused, 422, "idempotency_key_reused")
    await settle(client)
    assert await money(w) == {"held": 0, "available": PAID - COMMISSION - 9000,
                              "payable": PAID - COMMISSION - 9000, "deposit": 0,
                              "payouts_pending": 0}
    assert _rt(client).payments.payout_calls == 1
    statement = (await client.get(f"/api/v1/shops/{w.shop_id}/statement", params={
        "start": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "end": (datetime.now(UTC) + timedelta(days=60)).isoformat()},
        headers=auth(w.merchant))).json()
    [line] = [ln for ln in statement["lines"] if ln["event"] == "PayoutPaid"]
    assert (line["account"], line["amount"], line["payout_id"], line["order_id"]) == (
        "available", -9000, paid.json()["id"], None)
    await assert_verified(client)


async def test_money_of_another_shop_is_not_yours(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    other = await build_world(client, buyers=0, prefix="o-")
    await paid_order(w, w.buyers[0])
    await settle(client)
    for path in ("balances", "statement", "payouts"):
        assert_problem(await client.get(f"/api/v1/shops/{w.shop_id}/{path}",
                                        headers=auth(other.merchant)), 403, "forbidden")
    for path, body in (("payouts", {"amount": 100}), ("deposit/top-ups", {"amount": 100})):
        assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/{path}", json=body, headers={
            **auth(other.merchant), "Idempotency-Key": "x"}), 403, "forbidden")
    assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/payouts", json={"amount": 1},
                                     headers={**auth(w.anchor), "Idempotency-Key": "x"}),
                   403, "forbidden")
    bad_period = await client.get(f"/api/v1/shops/{w.shop_id}/statement", params={
        "start": "2026-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        headers=auth(w.merchant))
    assert_problem(bad_period, 422, "validation_failed")
    assert (await money(w))["held"] == PAID
    await assert_verified(client)


async def test_a_declined_top_up_changes_nothing(client: httpx.AsyncClient):
    w = await build_world(client, buyers=0)
    declined = await client.post(f"/api/v1/shops/{w.shop_id}/deposit/top-ups", json={
        "amount": 5000, "sandbox_outcome": "decline"},
        headers={**auth(w.merchant), "Idempotency-Key": "d-1"})
    assert_problem(declined, 402, "payment_failed")
    await settle(client)
    assert (await money(w))["deposit"] == 0
    await assert_verified(client)


async def test_a_shop_below_the_minimum_deposit_cannot_go_live(sqlite_url: str):
    async with make_app_client(sqlite_url, min_deposit_fen=100_00) as client:
        w = await build_world(client, buyers=0, live=False)
        start = f"/api/v1/sessions/{w.session_id}/start"
        blocked = await client.post(start, headers=auth(w.anchor))
        body = assert_problem(blocked, 409, "deposit_required")
        assert (body["deposit"], body["minimum"]) == (0, 100_00)
        session = (await client.get(f"/api/v1/sessions/{w.session_id}")).json()
        assert session["status"] == "scheduled"
        assert (await _top_up(w, 100_00)).status_code == 201
        await settle(client)
        assert (await client.post(start, headers=auth(w.anchor))).status_code == 200
        await assert_verified(client)


def test_verify_command_exits_0_on_agreement_and_1_on_a_tampered_ledger(tmp_path: Path):
    import asyncio

    from tests.conftest import lp_env, run_cli

    url = f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"

    async def scenario() -> None:
        async with make_app_client(url, platform_commission_bp=500) as client:
            w = await build_world(client, buyers=1)
            order_id = await paid_order(w, w.buyers[0], ship=True, receive=True)
            await settle(client)
            await settle(client, at=await release_due(client, order_id))

    asyncio.run(scenario())
    env = lp_env(url)
    agreed = run_cli(["ledger", "verify"], env, check=False)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "OK" in agreed.stdout and "sum of all balances: 0" in agreed.stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "lp.db") as conn:  # a balance edited behind the ledger
        conn.execute("UPDATE ledger_accounts SET balance = balance - 1 "
                     "WHERE code LIKE 'shop:%:available'")
    tampered = run_cli(["ledger", "verify"], env, check=False)
    assert tampered.returncode == 1
    assert "MISMATCH" in tampered.stdout and "available" in tampered.stdout
