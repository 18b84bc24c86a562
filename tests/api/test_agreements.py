"""Anchors' and MCN agencies' money through the API (docs/money.md, "Anchors and agencies"):
slot fees collected and owed at once, commissions on net sales accrued at release and reversed
by a return, agreements scoped to a session or to an anchor's period, MCN contracts with an ROI
guarantee settled exactly once on net sales without brushed orders — and the ledger rebuilt from
the events equal to the live one after every scenario."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.infra.models import deadlines
from livepledge.settlement.models import agreements, mcn_contracts
from tests.api.test_ledger import (
    COMMISSION,
    PAID,
    _return,
    _rt,
    assert_verified,
    money,
    paid_order,
    release_due,
    settle,
)
from tests.api.world import World, assert_problem, auth, build_world, register
from tests.conftest import make_app_client

ANCHOR_CUT = 990  # 10 % of 9900


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(sqlite_url, platform_commission_bp=500) as c:
        yield c


async def agree(w: World, key: str, **body: Any) -> httpx.Response:
    return await w.client.post(f"/api/v1/shops/{w.shop_id}/agreements", headers={
        **auth(w.merchant), "Idempotency-Key": key}, json=body)


async def earnings(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/me/earnings", headers=auth(token))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_a_session_agreement_pays_the_slot_fee_and_a_commission_reversed_by_a_return(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    made = await agree(w, "agr-1", party_id=w.anchor_id, session_id=w.session_id,
                       commission_bp=1000, slot_fee=500)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["party_kind"], body["commission_bp"], body["slot_fee"], body["session_id"]) == (
        "anchor", 1000, 500, w.session_id)
    again = await agree(w, "agr-1", party_id=w.anchor_id, session_id=w.session_id,
                        commission_bp=1000, slot_fee=500)
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        200, body["id"], "true")
    await settle(client)
    assert (await earnings(client, w.anchor))["payable"] == 500  # the slot fee, owed at once

    kept = await paid_order(w, w.buyers[0], ship=True, receive=True)
    returned = await paid_order(w, w.buyers[1], ship=True, receive=True)
    await settle(client)
    await settle(client, at=await release_due(client, returned))
    each = PAID - COMMISSION - ANCHOR_CUT
    assert (await money(w))["available"] == 2 * each
    mine = await earnings(client, w.anchor)
    assert mine["payable"] == 500 + 2 * ANCHOR_CUT
    assert sorted((ln["event"], ln["amount"], ln["order_id"]) for ln in mine["lines"]) == sorted([
        ("SlotFeePaid", 500, None), ("EscrowReleased", ANCHOR_CUT, kept),
        ("EscrowReleased", ANCHOR_CUT, returned)])

    await _return(w, returned, w.buyers[1])
    await settle(client)
    assert (await money(w))["available"] == each  # the shop gave back only what it had
    assert (await earnings(client, w.anchor))["payable"] == 500 + ANCHOR_CUT  # reversed
    await assert_verified(client)


async def test_a_period_agreement_earns_on_the_anchors_orders_placed_while_in_force(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    agency_id, agency = await register(client, "mcn.star", "agency")
    before = await paid_order(w, w.buyers[0], ship=True, receive=True)  # before the agreement
    now = datetime.now(UTC)
    made = await agree(w, "agr-2", party_id=agency_id, anchor_id=w.anchor_id,
                       starts_at=(now - timedelta(days=1)).isoformat(),
                       ends_at=(now + timedelta(days=30)).isoformat(), commission_bp=300)
    assert made.status_code == 201, made.text
    assert made.json()["party_kind"] == "agency"
    after = await paid_order(w, w.buyers[1], ship=True, receive=True)
    await settle(client)
    await settle(client, at=await release_due(client, after))
    lines = (await earnings(client, agency))["lines"]
    assert [(ln["event"], ln["amount"], ln["order_id"]) for ln in lines] == [
        ("EscrowReleased", 297, after)]  # 3 % of 9900; nothing on the earlier order
    assert before != after
    listed = (await client.get("/api/v1/me/agreements", headers=auth(agency))).json()
    assert [a["id"] for a in listed] == [made.json()["id"]]

    ended = await client.post(f"/api/v1/agreements/{made.json()['id']}/end",
                              headers=auth(w.merchant))
    assert ended.status_code == 200 and ended.json()["ended_at"], ended.text
    assert_problem(await client.post(f"/api/v1/agreements/{made.json()['id']}/end",
                                     headers=auth(w.merchant)), 409, "invalid_transition")
    await assert_verified(client)


async def _count(client: httpx.AsyncClient, table: Any) -> int:
    async with _rt(client).db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_bad_agreements_and_contracts_are_refused_and_nothing_is_stored(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    other = await build_world(client, buyers=0, prefix="o-")
    agency_id, _ = await register(client, "mcn.moon", "agency")
    buyer_id = (await client.get("/api/v1/me", headers=auth(w.buyers[0]))).json()["id"]
    now = datetime.now(UTC)
    period = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=7)).isoformat()}
    cases = [
        ({"party_id": w.anchor_id, "session_id": w.session_id, "commission_bp": 10001}, 422,
         "validation_failed"),
        ({"party_id": w.anchor_id, "session_id": w.session_id, "commission_bp": -1}, 422,
         "validation_failed"),
        ({"party_id": buyer_id, "session_id": w.session_id, "commission_bp": 100}, 422,
         "validation_failed"),
        ({"party_id": w.anchor_id, "session_id": w.session_id}, 422, "validation_failed"),
        ({"party_id": w.anchor_id, "session_id": other.session_id, "commission_bp": 100}, 404,
         "not_found"),
        ({"party_id": agency_id, "anchor_id": w.anchor_id, "commission_bp": 100}, 422,
         "validation_failed"),
        ({"party_id": agency_id, "anchor_id": w.anchor_id, "commission_bp": 100,
          "starts_at": period["ends_at"], "ends_at": period["starts_at"]}, 422,
         "validation_failed"),
        ({"party_id": w.anchor_id, "session_id": w.session_id, "slot_fee": 500,
          "sandbox_outcome": "decline"}, 402, "payment_failed"),
    ]
    for n, (body, status, code) in enumerate(cases):
        assert_problem(await agree(w, f"bad-{n}", **body), status, code)
    assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/agreements", headers={
        **auth(w.anchor), "Idempotency-Key": "x"}, json={
        "party_id": w.anchor_id, "session_id": w.session_id, "commission_bp": 100}), 403,
        "forbidden")
    assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/agreements",
                                     headers=auth(w.merchant), json={
                                         "party_id": w.anchor_id, "session_id": w.session_id,
                                         "commission_bp": 100}), 422, "validation_failed")
    contract = {"agency_id": agency_id, "fee": 10000, "guaranteed_roi_bp": 30000, **period}
    for n, (changes, status, code) in enumerate([
            ({"fee": 0}, 422, "validation_failed"),
            ({"guaranteed_roi_bp": 0}, 422, "validation_failed"),
            ({"agency_id": w.anchor_id}, 422, "validation_failed"),
            ({"starts_at": period["ends_at"], "ends_at": period["starts_at"]}, 422,
             "validation_failed"),
            ({"sandbox_outcome": "decline"}, 402, "payment_failed")]):
        assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/mcn-contracts", headers={
            **auth(w.merchant), "Idempotency-Key": f"c-bad-{n}"}, json={**contract, **changes}),
            status, code)
    assert (await _count(client, agreements), await _count(client, mcn_contracts)) == (0, 0)
    await settle(client)
    assert (await money(w)) == {"held": 0, "available": 0, "payable": 0, "deposit": 0,
                                "payouts_pending": 0}
    await assert_verified(client)


async def _contract(w: World, agency_id: int, *, fee: int, roi_bp: int,
                    ends_in: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    now = datetime.now(UTC)
    made = await w.client.post(f"/api/v1/shops/{w.shop_id}/mcn-contracts", headers={
        **auth(w.merchant), "Idempotency-Key": f"mcn-{fee}-{roi_bp}"}, json={
        "agency_id": agency_id, "anchor_id": w.anchor_id, "fee": fee,
        "guaranteed_roi_bp": roi_bp, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + ends_in).isoformat()})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def _settle_row(client: httpx.AsyncClient, contract_id: int) -> Any:
    async with _rt(client).db.read() as conn:
        return (await conn.execute(select(deadlines).where(
            deadlines.c.kind == "mcn_settle", deadlines.c.ref_id == contract_id))).one()


async def test_an_mcn_contract_short_of_its_guarantee_refunds_the_fee_pro_rata_once(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    agency_id, agency = await register(client, "mcn.sun", "agency")
    contract = await _contract(w, agency_id, fee=10000, roi_bp=30000)
    assert contract["status"] == "funded" and contract["outcome"] is None
    kept = await paid_order(w, w.buyers[0], ship=True, receive=True)
    returned = await paid_order(w, w.buyers[1], ship=True, receive=True)
    await settle(client)
    ends = datetime.fromisoformat(contract["ends_at"])

    await settle(client, at=ends)  # the period is over, its orders are still in escrow
    row = await _settle_row(client, contract["id"])
    assert (row.fired_at, row.outcome) == (None, "waiting: 2 orders still in escrow")
    due = await release_due(client, returned)
    await settle(client, at=due)  # released; the contract comes back a day after it last looked
    await _return(w, returned, w.buyers[1])  # a return after release: its sale is undone
    await settle(client, at=due + timedelta(days=2))
    settled = (await client.get(f"/api/v1/mcn-contracts/{contract['id']}",
                                headers=auth(agency))).json()
    outcome = settled["outcome"]
    # net sales 9900 (one order kept) on a ¥100 fee: ROI 0.99 against 3 → the agency keeps
    # 9900 ÷ 3 = 3300, the shop gets 6700 back
    assert (settled["status"], outcome["net_sales"], outcome["roi_bp"], outcome["met"],
            outcome["to_agency"], outcome["to_shop"]) == ("settled", 9900, 9900, False, 3300,
                                                           6700)
    assert [(ln["order_id"], ln["paid"], ln["net"], ln["brushed"]) for ln in outcome["lines"]] \
        == [(kept, PAID, PAID, False), (returned, PAID, 0, False)]
    shop_view = (await client.get(f"/api/v1/mcn-contracts/{contract['id']}",
                                  headers=auth(w.merchant))).json()
    assert shop_view == settled  # both sides see the same computation
    assert (await earnings(client, agency))["payable"] == 3300
    assert (await money(w))["available"] == (PAID - COMMISSION) + 6700

    page = await client.get("/earnings", headers=auth(agency))  # the agency's own page
    assert page.status_code == 200, page.text
    for shown in ("¥33.00", "¥67.00", "¥99.00", "0.99×", "3.00×", "未达标，按比例结算"):
        assert shown in page.text
    await settle(client, at=due + timedelta(days=30))  # exactly once
    assert (await earnings(client, agency))["payable"] == 3300
    assert (await money(w))["available"] == (PAID - COMMISSION) + 6700
    await assert_verified(client)


async def test_an_mcn_contract_that_meets_its_guarantee_without_brushed_orders_pays_the_fee(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=2)
    agency_id, agency = await register(client, "mcn.sky", "agency")
    contract = await _contract(w, agency_id, fee=3000, roi_bp=30000)  # needs 9000 net
    honest = await paid_order(w, w.buyers[0], ship=True, receive=True)
    brushed = await paid_order(w, w.buyers[1], ship=True, receive=True)

    async def flagged(_conn: Any, shop_id: int) -> set[int]:
        assert shop_id == w.shop_id
        return {brushed}

    _rt(client).deadlines.handlers["mcn_settle"].brushed = flagged
    await settle(client)
    due = max(await release_due(client, honest), await release_due(client, brushed))
    await settle(client, at=due)
    await settle(client, at=due + timedelta(days=1))
    outcome = (await client.get(f"/api/v1/mcn-contracts/{contract['id']}",
                                headers=auth(agency))).json()["outcome"]
    assert (outcome["net_sales"], outcome["brushed_orders"], outcome["brushed_net"],
            outcome["roi_bp"], outcome["met"], outcome["to_agency"], outcome["to_shop"]) == (
        PAID, [brushed], PAID, 33000, True, 3000, 0)
    assert (await earnings(client, agency))["payable"] == 3000
    await assert_verified(client)


async def test_shop_staff_look_up_anchors_and_agencies_by_login_only(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    agency_id, _ = await register(client, "mcn.rain", "agency")
    found = await client.get("/api/v1/partners/mcn.rain", headers=auth(w.merchant))
    assert found.json() == {"id": agency_id, "login": "mcn.rain", "display_name": "mcn.rain",
                            "role": "agency"}
    anchor = await client.get("/api/v1/partners/anchor", headers=auth(w.merchant))
    assert (anchor.status_code, anchor.json()["id"]) == (200, w.anchor_id)
    assert_problem(await client.get("/api/v1/partners/buyer0", headers=auth(w.merchant)), 404,
                   "not_found")  # a buyer's login is not looked up
    assert_problem(await client.get("/api/v1/partners/mcn.rain", headers=auth(w.buyers[0])),
                   403, "forbidden")


async def test_slot_fees_mcn_fees_and_red_packets_reconcile_with_the_provider(
        sqlite_url: str, tmp_path):  # type: ignore[no-untyped-def]
    from livepledge.settlement import reports
    from tests.api.test_red_packets import fund, grab

    journal = tmp_path / "provider.jsonl"
    async with make_app_client(sqlite_url, platform_commission_bp=500,
                               sandbox_journal=journal) as client:
        w = await build_world(client, buyers=2)
        agency_id, _ = await register(client, "mcn.tide", "agency")
        assert (await agree(w, "slot-1", party_id=w.anchor_id, session_id=w.session_id,
                            slot_fee=500)).status_code == 201
        await _contract(w, agency_id, fee=2000, roi_bp=10000)
        packet = await fund(w, total_amount=300, shares=2, split="even")
        assert packet.status_code == 201, packet.text
        for token in w.buyers:
            assert (await grab(w, token, packet.json()["id"])).status_code == 201
        await settle(client)
        report = await reports.reconcile(_rt(client).db, None, journal=journal)
        assert report.ties, report.mismatches
        # slot fee, MCN fee, red packet funding, two shares
        assert report.provider_records == report.ledger_movements == 5
        with open(journal, "a", encoding="utf-8") as f:  # a collection nobody recorded
            f.write('{"op": "collect", "key": "collect:1:x", "charge": {"provider": "sandbox", '
                    '"reference": "sbc_stray", "amount": 1, "succeeded": true, "message": ""}}\n')
        broken = await reports.reconcile(_rt(client).db, None, journal=journal)
        assert [(m["ref"], m["category"]) for m in broken.mismatches] == [("sbc_stray", "top_up")]
