"""Red packets (红包) through the API: funded through the provider, grabbed once per fan by the
first N, shares exact, each share transferred to its fan and posted in the ledger, the rest back
to the shop after 24 hours; bad input refused with nothing stored."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.coupons import rules
from livepledge.coupons.models import red_packet_grabs, red_packets
from tests.api.test_ledger import assert_verified, money, settle
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

KEYS = itertools.count(1)


@pytest.fixture
async def client(sqlite_url: str) -> Any:
    async with make_app_client(sqlite_url) as c:
        yield c


def rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def fund(w: World, *, key: str | None = None, **body: Any) -> httpx.Response:
    return await w.client.post(
        f"/api/v1/sessions/{w.session_id}/red-packets",
        headers={**auth(w.merchant), "Idempotency-Key": key or f"rp-{next(KEYS)}"},
        json={"total_amount": 1000, "shares": 3, "split": "random", **body})


async def grab(w: World, token: str, packet_id: int) -> httpx.Response:
    return await w.client.post(f"/api/v1/red-packets/{packet_id}/grabs", headers=auth(token))


async def stored_packets(client: httpx.AsyncClient) -> int:
    async with rt(client).db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(red_packets)))
                   .scalar_one())


async def test_the_first_fans_grab_every_share_once_and_the_shares_sum_exactly(client):
    w = await build_world(client, buyers=5)
    funded = await fund(w, total_amount=1000, shares=3)
    assert funded.status_code == 201, funded.text
    packet = funded.json()
    assert (packet["remaining_shares"], packet["remaining_amount"], packet["seed"]) == (
        3, 1000, None)

    grabs = [await grab(w, t, packet["id"]) for t in w.buyers[:4]]
    again = await grab(w, w.buyers[0], packet["id"])

    assert [g.status_code for g in grabs[:3]] == [201, 201, 201]
    assert_problem(grabs[3], 409, "sold_out")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == grabs[0].json()["id"]
    amounts = [g.json()["amount"] for g in grabs[:3]]
    assert sum(amounts) == 1000 and min(amounts) >= 1
    closed = (await client.get(f"/api/v1/red-packets/{packet['id']}")).json()
    assert closed["status"] == "finished" and closed["amounts"] == amounts
    assert closed["amounts"] == rules.split_red_packet(1000, 3, "random",
                                                       bytes.fromhex(closed["seed"]))
    listed = await client.get(f"/api/v1/sessions/{w.session_id}/red-packets",
                              headers=auth(w.buyers[1]))
    assert listed.json()[0]["my_amount"] == amounts[1]


async def test_concurrent_grabs_never_give_more_than_the_shares(database_url):
    async with make_app_client(database_url) as client:
        await _concurrent_grabs(client)


async def _concurrent_grabs(client: httpx.AsyncClient) -> None:
    w = await build_world(client, buyers=12)
    packet = (await fund(w, total_amount=500, shares=5, split="even")).json()
    answers = await asyncio.gather(*(grab(w, t, packet["id"]) for t in w.buyers * 2))
    created = [a for a in answers if a.status_code == 201 and "idempotent-replayed"
               not in a.headers]
    assert len(created) == 5
    assert sorted(a.json()["amount"] for a in created) == [100] * 5
    assert {a.status_code for a in answers} <= {201, 409}
    async with rt(client).db.read() as conn:
        rows = (await conn.execute(select(red_packet_grabs))).all()
    assert len(rows) == 5 and len({r.buyer_id for r in rows}) == 5
    assert sorted(r.position for r in rows) == [0, 1, 2, 3, 4]


async def test_shares_are_paid_to_fans_and_the_rest_goes_back_after_24_hours(client):
    w = await build_world(client, buyers=2)
    packet = (await fund(w, total_amount=900, shares=3, split="even")).json()
    first = (await grab(w, w.buyers[0], packet["id"])).json()
    await settle(client)
    async with rt(client).db.read() as conn:
        paid = (await conn.execute(select(red_packet_grabs).where(
            red_packet_grabs.c.id == first["id"]))).one()
    assert paid.payout_ref is not None and paid.paid_at is not None

    # When the 24 hours pass with two shares untaken
    await settle(client, at=datetime.now(UTC) + timedelta(hours=24, seconds=1))

    after = (await client.get(f"/api/v1/red-packets/{packet['id']}")).json()
    assert (after["status"], after["returned_amount"]) == ("returned", 600)
    assert_problem(await grab(w, w.buyers[1], packet["id"]), 409, "sold_out")
    assert (await money(w))["available"] == 600
    await assert_verified(client)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"total_amount": 0}, 422, "validation_failed"),
    ({"total_amount": 2, "shares": 3}, 422, "validation_failed"),
    ({"shares": 0}, 422, "validation_failed"),
    ({"split": "lucky"}, 422, "validation_failed"),
    ({"sandbox_outcome": "decline"}, 402, "payment_failed"),
])
async def test_bad_red_packets_are_refused_and_nothing_is_stored(client, body, status, code):
    w = await build_world(client, buyers=0)
    assert_problem(await fund(w, **body), status, code)
    assert await stored_packets(client) == 0


async def test_only_the_shop_funds_and_only_while_live_and_a_repeat_is_one_charge(client):
    w = await build_world(client, buyers=1)
    other = await build_world(client, buyers=0, prefix="o-")
    scheduled = await build_world(client, buyers=0, live=False, prefix="s-")
    foreign = await client.post(f"/api/v1/sessions/{w.session_id}/red-packets", headers={
        **auth(other.merchant), "Idempotency-Key": "x"}, json={"total_amount": 100, "shares": 1})
    not_live = await fund(scheduled)
    assert_problem(foreign, 403, "forbidden")
    assert_problem(not_live, 409, "invalid_transition")
    first = await fund(w, key="same")
    second = await fund(w, key="same")
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await stored_packets(client) == 1
    assert_problem(await grab(w, w.buyers[0], 987654), 404, "not_found")


async def test_a_coupon_red_packet_gives_coupons_and_returns_the_rest_to_the_budget(client):
    w = await build_world(client, buyers=3)
    now = datetime.now(UTC)
    coupon = (await client.post(f"/api/v1/shops/{w.shop_id}/coupons", headers=auth(w.merchant),
                                json={"title": "红包券", "kind": "no_threshold", "amount_off": 500,
                                      "budget": 10, "claim_starts_at": now.isoformat(),
                                      "claim_ends_at": (now + timedelta(days=2)).isoformat(),
                                      "valid_days": 3})).json()
    too_many = await fund(w, coupon_id=coupon["id"], shares=11)
    assert_problem(too_many, 409, "sold_out")
    packet = (await fund(w, coupon_id=coupon["id"], shares=3)).json()
    assert (packet["kind"], packet["total_amount"], packet["shares"]) == ("coupon", 0, 3)
    listed = await client.get(f"/api/v1/shops/{w.shop_id}/coupons", headers=auth(w.merchant))
    assert listed.json()[0]["remaining"] == 7

    first = (await grab(w, w.buyers[0], packet["id"])).json()
    assert first["amount"] == 0 and first["claim_id"]
    mine = await client.get("/api/v1/me/coupons?usable=true", headers=auth(w.buyers[0]))
    assert [c["id"] for c in mine.json()] == [first["claim_id"]]
    await settle(client)  # no cash to transfer: nothing is paid out
    await settle(client, at=datetime.now(UTC) + timedelta(hours=24, seconds=1))
    after = (await client.get(f"/api/v1/red-packets/{packet['id']}")).json()
    assert after["status"] == "returned"
    listed = await client.get(f"/api/v1/shops/{w.shop_id}/coupons", headers=auth(w.merchant))
    assert (listed.json()[0]["remaining"], listed.json()[0]["issued"]) == (9, 1)
    await assert_verified(client)
