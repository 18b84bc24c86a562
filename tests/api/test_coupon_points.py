"""Spending points on coupons (积分兑换, docs/fans.md "Coupons for points"): a redemption spends
the coupon's price (a points history line) and issues the coupon in the same transaction,
through the claim gate; whatever refuses it — too few points, sold out, over the limit, a
failure in the middle of the write — leaves both the points and the coupon as they were.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livepledge.coupons import service as coupon_service
from tests.api.test_coupons import claim, create, shop_coupons
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as c:
        yield c


async def redeem(w: World, token: str, coupon_id: int, key: str) -> httpx.Response:
    return await w.client.post(f"/api/v1/coupons/{coupon_id}/redemptions",
                               headers={**auth(token), "Idempotency-Key": key})


async def _fan_with_points(w: World, token: str) -> None:
    """Join and check in: 5 points (a first check-in)."""
    joined = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                                headers=auth(token))
    assert joined.status_code == 200
    done = await w.client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin",
                               headers=auth(token))
    assert done.status_code == 200, done.text


async def _points(w: World, token: str) -> dict[str, Any]:
    got = await w.client.get(f"/api/v1/me/fan-clubs/{w.shop_id}/points", headers=auth(token))
    assert got.status_code == 200
    return got.json()  # type: ignore[no-any-return]


async def _mine(w: World, token: str) -> list[dict[str, Any]]:
    got = await w.client.get(f"/api/v1/me/coupons?shop_id={w.shop_id}", headers=auth(token))
    return got.json()  # type: ignore[no-any-return]


async def _state(w: World, token: str) -> tuple[Any, ...]:
    """Everything a refused redemption must leave unchanged."""
    points = await _points(w, token)
    coupons = [(c["id"], c["remaining"], c["issued"]) for c in await shop_coupons(w)]
    return (points["balance"], [e["id"] for e in points["entries"]], coupons,
            [c["id"] for c in await _mine(w, token)])


async def test_a_redemption_spends_the_points_once_and_issues_the_coupon(client):
    w = await build_world(client, buyers=1)
    fan = w.buyers[0]
    await _fan_with_points(w, fan)
    coupon = (await create(w, title="5积分兑10元", points_price=5, budget=3)).json()
    assert coupon["points_price"] == 5
    made = await redeem(w, fan, coupon["id"], "r1")
    again = await redeem(w, fan, coupon["id"], "r1")
    assert made.status_code == again.status_code == 201, made.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == made.json()["id"]
    points = await _points(w, fan)
    assert points["balance"] == 0
    spend = points["entries"][0]
    assert (spend["delta"], spend["balance"], spend["reason"], spend["ref"]) == (
        -5, 0, "spend:coupon", f"coupon-claim:{made.json()['id']}")
    assert [e["delta"] for e in points["entries"]] == [-5, 5]
    assert [c["id"] for c in await _mine(w, fan)] == [made.json()["id"]]
    assert (await shop_coupons(w))[0]["remaining"] == 2


async def test_too_few_points_is_refused_and_nothing_changes(client):
    w = await build_world(client, buyers=1)
    fan = w.buyers[0]
    await _fan_with_points(w, fan)
    coupon = (await create(w, points_price=6)).json()
    before = await _state(w, fan)
    body = assert_problem(await redeem(w, fan, coupon["id"], "r1"), 409, "insufficient_points")
    assert (body["needed"], body["balance"]) == (6, 5)
    assert await _state(w, fan) == before


async def test_points_and_free_coupons_are_not_confused(client):
    w = await build_world(client, buyers=2)
    fan = w.buyers[0]
    await _fan_with_points(w, fan)
    priced = (await create(w, points_price=5)).json()
    free = (await create(w)).json()
    before = await _state(w, fan)
    body = assert_problem(await claim(w, fan, priced["id"], "c1"), 409, "claim_closed")
    assert body["state"] == "points_only"
    body = assert_problem(await redeem(w, fan, free["id"], "c2"), 409, "claim_closed")
    assert body["state"] == "not_for_points"
    assert await _state(w, fan) == before
    # a buyer outside the club has no points to spend
    assert_problem(await redeem(w, w.buyers[1], priced["id"], "c3"), 409, "not_a_fan")
    assert await _mine(w, w.buyers[1]) == []
    # the room does not offer a points coupon as a free claim
    room = (await client.get(f"/api/v1/sessions/{w.session_id}/coupons")).json()["coupons"]
    assert [c["id"] for c in room] == [free["id"]]


async def test_sold_out_and_over_limit_spend_nothing(client):
    w = await build_world(client, buyers=2)
    first, second = w.buyers
    for token in w.buyers:
        await _fan_with_points(w, token)
    coupon = (await create(w, points_price=2, budget=2, per_buyer_limit=1)).json()
    assert (await redeem(w, first, coupon["id"], "a")).status_code == 201
    before_first = await _state(w, first)
    assert_problem(await redeem(w, first, coupon["id"], "b"), 409, "over_limit")
    assert await _state(w, first) == before_first
    assert (await redeem(w, second, coupon["id"], "a")).status_code == 201
    third = (await create(w, points_price=1, budget=1)).json()
    assert (await redeem(w, first, third["id"], "c")).status_code == 201
    before_second = await _state(w, second)
    assert_problem(await redeem(w, second, third["id"], "c"), 409, "sold_out")
    assert await _state(w, second) == before_second
    assert (await _points(w, first))["balance"] == 2
    assert (await _points(w, second))["balance"] == 3


@pytest.mark.parametrize("step", ["_insert_claims", "_record_spends"])
async def test_a_failure_inside_the_write_spends_nothing_and_issues_nothing(client, monkeypatch,
                                                                             step):
    w = await build_world(client, buyers=1)
    fan = w.buyers[0]
    await _fan_with_points(w, fan)
    coupon = (await create(w, points_price=5, budget=3)).json()
    before = await _state(w, fan)
    real = getattr(coupon_service, step)

    async def fail(*args: Any, **kwargs: Any) -> None:
        await real(*args, **kwargs)  # the points are taken in this transaction, then it fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(coupon_service, step, fail)
    assert_problem(await redeem(w, fan, coupon["id"], "r1"), 503, "service_unavailable")
    monkeypatch.setattr(coupon_service, step, real)
    assert await _state(w, fan) == before
    # the gate's reservation was released: the same fan can redeem it now, exactly once
    made = await redeem(w, fan, coupon["id"], "r2")
    assert made.status_code == 201, made.text
    assert (await _points(w, fan))["balance"] == 0
    assert (await shop_coupons(w))[0]["remaining"] == 2


async def test_concurrent_redemptions_never_spend_more_points_than_there_are(client):
    w = await build_world(client, buyers=1)
    fan = w.buyers[0]
    await _fan_with_points(w, fan)  # 5 points
    coupon = (await create(w, points_price=2, budget=10, per_buyer_limit=5)).json()
    answers = await asyncio.gather(*(redeem(w, fan, coupon["id"], f"k{n}") for n in range(5)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201, 409, 409, 409], [r.text for r in answers]
    assert all(r.json()["code"] == "insufficient_points" for r in answers
               if r.status_code == 409)
    points = await _points(w, fan)
    assert points["balance"] == 1
    assert sum(e["delta"] for e in points["entries"]) == 1
    assert len(await _mine(w, fan)) == 2
    listed = (await shop_coupons(w))[0]
    assert (listed["remaining"], listed["issued"]) == (8, 2)


@pytest.mark.parametrize("targeting", [{"points_price": 5}, {"min_fan_level": 2}])
async def test_a_points_or_targeted_coupon_cannot_go_in_a_red_packet(client, targeting):
    w = await build_world(client, buyers=0)
    coupon = (await create(w, budget=5, **targeting)).json()
    sent = await client.post(f"/api/v1/sessions/{w.session_id}/red-packets",
                             headers={**auth(w.merchant), "Idempotency-Key": "rp"},
                             json={"coupon_id": coupon["id"], "shares": 2})
    assert_problem(sent, 422, "validation_failed")
    assert (await shop_coupons(w))[0]["remaining"] == 5
    listed = await client.get(f"/api/v1/sessions/{w.session_id}/red-packets")
    assert listed.json() == []
