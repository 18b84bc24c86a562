"""Money out to anchors, agencies and shops' deposits (docs/money.md, "Anchors and agencies",
"Deposits"): an anchor pays out what the platform owes them, never more, once per key; a shop
takes back the part of its deposit above the minimum while it has obligations and all of it
once it has none — each refusal a problem that changes nothing, and the ledger rebuilt from the
events equal to the live one, tied to the provider's records, after every scenario."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.infra.models import events
from livepledge.settlement import reports
from livepledge.settlement.models import deposit_withdrawals, party_payouts
from tests.api.test_agreements import agree, earnings
from tests.api.test_ledger import _rt, _top_up, assert_verified, money, settle
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

MINIMUM = 100_00


@pytest.fixture
async def journal(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.jsonl"


@pytest.fixture
async def client(sqlite_url: str, journal: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(sqlite_url, platform_commission_bp=500,
                               min_deposit_fen=MINIMUM, sandbox_journal=journal) as c:
        yield c


async def _count(client: httpx.AsyncClient, table: Any, *where: Any) -> int:
    async with _rt(client).db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(
            *where))).scalar_one())


async def _ties(client: httpx.AsyncClient, journal: Path) -> None:
    found = await reports.reconcile(_rt(client).db, None, journal=journal)
    assert found.mismatches == []
    assert found.provider_checked and found.ties


async def payout(client: httpx.AsyncClient, token: str, amount: Any, key: str) -> httpx.Response:
    return await client.post("/api/v1/me/payouts", json={"amount": amount},
                             headers={**auth(token), "Idempotency-Key": key})


async def withdraw(w: World, amount: Any, key: str) -> httpx.Response:
    return await w.client.post(f"/api/v1/shops/{w.shop_id}/deposit/withdrawals",
                               json={"amount": amount},
                               headers={**auth(w.merchant), "Idempotency-Key": key})


async def _balances(w: World) -> dict[str, Any]:
    answer = await w.client.get(f"/api/v1/shops/{w.shop_id}/balances", headers=auth(w.merchant))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_an_anchor_pays_out_what_is_owed_once_per_key_and_never_more(
        client: httpx.AsyncClient, journal: Path):
    w = await build_world(client, buyers=0, live=False)
    assert (await _top_up(w, MINIMUM)).status_code == 201
    made = await agree(w, "agr-1", party_id=w.anchor_id, session_id=w.session_id,
                       commission_bp=1000, slot_fee=500)
    assert made.status_code == 201, made.text
    await settle(client)
    assert await earnings(client, w.anchor) | {"lines": None} == {
        "user_id": w.anchor_id, "currency": "CNY", "owed": 500, "payouts_pending": 0,
        "payable": 500, "lines": None}

    first = await payout(client, w.anchor, 300, "p-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["party_id"], body["amount"], body["provider"]) == (w.anchor_id, 300, "sandbox")
    # before the ledger has posted it, the payout is reserved: only 200 can go
    mine = await earnings(client, w.anchor)
    assert (mine["owed"], mine["payouts_pending"], mine["payable"]) == (500, 300, 200)
    again = await payout(client, w.anchor, 300, "p-1")
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        200, body["id"], "true")

    events_before = await _count(client, events)
    refused = [
        (await payout(client, w.anchor, 201, "p-2"), 409, "insufficient_balance"),
        (await payout(client, w.anchor, 100, "p-1"), 422, "idempotency_key_reused"),
        (await payout(client, w.anchor, 0, "p-3"), 422, "validation_failed"),
        (await payout(client, w.anchor, 1.5, "p-4"), 422, "validation_failed"),
        (await payout(client, w.merchant, 1, "p-5"), 409, "insufficient_balance"),
    ]
    for response, status, code in refused:
        assert_problem(response, status, code)
    assert refused[0][0].json()["payable"] == 200
    no_key = await client.post("/api/v1/me/payouts", json={"amount": 1}, headers=auth(w.anchor))
    assert no_key.status_code in (400, 422), no_key.text
    assert await _count(client, party_payouts) == 1
    assert await _count(client, events) == events_before

    await settle(client)
    mine = await earnings(client, w.anchor)
    assert (mine["owed"], mine["payouts_pending"], mine["payable"]) == (200, 0, 200)
    assert ("PartyPayoutPaid", -300) in [(ln["event"], ln["amount"]) for ln in mine["lines"]]
    rest = await payout(client, w.anchor, 200, "p-6")
    assert rest.status_code == 201, rest.text
    await settle(client)
    assert (await earnings(client, w.anchor))["owed"] == 0
    listed = (await client.get("/api/v1/me/payouts", headers=auth(w.anchor))).json()
    assert [(p["amount"], p["party_id"]) for p in listed] == [(200, w.anchor_id),
                                                             (300, w.anchor_id)]
    assert (await client.get("/api/v1/me/payouts", headers=auth(w.merchant))).json() == []
    await assert_verified(client)
    await _ties(client, journal)


async def test_a_shop_keeps_the_minimum_while_it_has_obligations_and_may_take_all_after(
        client: httpx.AsyncClient, journal: Path):
    w = await build_world(client, buyers=0, live=False)  # a scheduled session: an obligation
    assert (await _top_up(w, 300_00)).status_code == 201
    await settle(client)
    found = await _balances(w)
    assert (found["deposit"], found["deposit_withdrawable"], found["deposit_minimum"]) == (
        300_00, 200_00, MINIMUM)

    too_much = assert_problem(await withdraw(w, 250_00, "w-1"), 409, "insufficient_balance")
    assert (too_much["payable"], too_much["must_keep"], too_much["reasons"]) == (
        200_00, MINIMUM, ["sessions"])
    anchor_tries = await w.client.post(
        f"/api/v1/shops/{w.shop_id}/deposit/withdrawals", json={"amount": 1},
        headers={**auth(w.anchor), "Idempotency-Key": "w-anchor"})
    assert anchor_tries.status_code in (403, 404), anchor_tries.text
    assert await _count(client, deposit_withdrawals) == 0

    taken = await withdraw(w, 200_00, "w-2")
    assert taken.status_code == 201, taken.text
    assert (await _balances(w))["deposit_withdrawals_pending"] == 200_00
    assert_problem(await withdraw(w, 1, "w-3"), 409, "insufficient_balance")
    await settle(client)
    found = await _balances(w)
    assert (found["deposit"], found["deposit_withdrawals_pending"],
            found["deposit_withdrawable"]) == (MINIMUM, 0, 0)

    # the session goes live and ends: no obligation is left, the whole deposit may go
    start = await w.client.post(f"/api/v1/sessions/{w.session_id}/start", headers=auth(w.anchor))
    assert start.status_code == 200, start.text
    end = await w.client.post(f"/api/v1/sessions/{w.session_id}/end", headers=auth(w.anchor))
    assert end.status_code == 200, end.text
    assert (await _balances(w))["deposit_withdrawable"] == MINIMUM
    assert (await withdraw(w, MINIMUM, "w-4")).status_code == 201
    await settle(client)
    assert (await money(w))["deposit"] == 0
    statement = (await w.client.get(f"/api/v1/shops/{w.shop_id}/statement",
                                    headers=auth(w.merchant))).json()
    assert sorted(ln["amount"] for ln in statement["lines"]
                  if ln["event"] == "DepositWithdrawn") == [-200_00, -MINIMUM]
    # without the minimum the shop can no longer go live
    await assert_verified(client)
    await _ties(client, journal)


async def test_a_deposit_withdrawal_is_the_owners_and_of_its_own_shop(
        client: httpx.AsyncClient):
    w = await build_world(client, buyers=0, live=False)
    other = await build_world(client, buyers=0, live=False, prefix="o-")
    assert (await _top_up(w, 300_00)).status_code == 201
    await settle(client)
    foreign = await client.post(f"/api/v1/shops/{w.shop_id}/deposit/withdrawals",
                                json={"amount": 100},
                                headers={**auth(other.merchant), "Idempotency-Key": "x-1"})
    assert foreign.status_code in (403, 404), foreign.text
    for amount in (0, -5, 10**12, 1.5):
        assert_problem(await withdraw(w, amount, f"x-{amount}"), 422, "validation_failed")
    assert await _count(client, deposit_withdrawals) == 0
    assert (await money(w))["deposit"] == 300_00
