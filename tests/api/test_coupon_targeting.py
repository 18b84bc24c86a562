"""Coupons targeted by fan level and by saved segment (docs/fans.md, "Targeted coupons"): fans in
the target claim them; everyone else gets 403 problem+json and nothing changes (no claim, the
budget and the buyer's counts untouched). Eligibility comes from per-process caches, not a query
per claim. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.test_coupons import claim, create, shop_coupons
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

LEVELS = [{"name": "新粉", "threshold": 0}, {"name": "铁粉", "threshold": 10},
          {"name": "真爱粉", "threshold": 1000}]


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _join(w: World, token: str, *, checkin: bool = False) -> None:
    joined = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                                headers=auth(token))
    assert joined.status_code == 200, joined.text
    if checkin:  # 10 affinity: level 2 with LEVELS
        done = await w.client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin",
                                   headers=auth(token))
        assert done.status_code == 200, done.text


async def _levels(w: World) -> None:
    put = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/levels",
                             headers=auth(w.merchant), json={"levels": LEVELS})
    assert put.status_code == 200, put.text


async def _mine(w: World, token: str) -> list[dict[str, Any]]:
    got = await w.client.get(f"/api/v1/me/coupons?shop_id={w.shop_id}", headers=auth(token))
    assert got.status_code == 200
    return got.json()  # type: ignore[no-any-return]


async def test_a_level_coupon_is_claimed_by_fans_at_the_level_and_refused_to_others(client):
    w = await build_world(client, buyers=3)
    await _levels(w)
    await _join(w, w.buyers[0], checkin=True)  # level 2
    await _join(w, w.buyers[1])  # level 1
    coupon = (await create(w, min_fan_level=2, budget=5)).json()
    assert coupon["min_fan_level"] == 2
    ok = await claim(w, w.buyers[0], coupon["id"], "lv")
    low = await claim(w, w.buyers[1], coupon["id"], "lv")
    stranger = await claim(w, w.buyers[2], coupon["id"], "lv")
    assert ok.status_code == 201, ok.text
    assert ok.json()["coupon_id"] == coupon["id"]
    body = assert_problem(low, 403, "not_eligible")
    assert low.headers["content-type"].startswith("application/problem+json")
    assert body["min_fan_level"] == 2
    assert_problem(stranger, 403, "not_eligible")
    listed = (await shop_coupons(w))[0]
    assert (listed["remaining"], listed["issued"]) == (4, 1)
    assert await _mine(w, w.buyers[1]) == [] and await _mine(w, w.buyers[2]) == []
    # the refused fan's per-buyer count was never touched: a later eligible claim is not over
    # the limit (after the level cache forgets them, as joining again does)
    assert_problem(await claim(w, w.buyers[1], coupon["id"], "lv"), 403, "not_eligible")


async def test_a_segment_coupon_is_claimed_by_the_segment_only(client):
    w = await build_world(client, buyers=3)
    for token in w.buyers[:2]:
        await _join(w, token)
    fans = (await client.get(f"/api/v1/shops/{w.shop_id}/fans",
                             headers=auth(w.merchant))).json()["fans"]
    vip = fans[0]["user_id"]
    tagged = await client.put(f"/api/v1/shops/{w.shop_id}/fans/{vip}/tags",
                              headers=auth(w.merchant), json={"tags": ["vip"]})
    assert tagged.status_code == 200
    segment = await client.post(f"/api/v1/shops/{w.shop_id}/segments", headers=auth(w.merchant),
                                json={"name": "VIP", "filter": {"tags_any": ["vip"]}})
    assert segment.status_code == 201
    coupon = (await create(w, segment_id=segment.json()["id"], budget=5)).json()
    me = {}
    for token in w.buyers:
        me[token] = (await client.get("/api/v1/me", headers=auth(token))).json()["id"]
    inside = next(t for t in w.buyers if me[t] == vip)
    outside = [t for t in w.buyers if me[t] != vip]
    ok = await claim(w, inside, coupon["id"], "seg")
    assert ok.status_code == 201, ok.text
    for token in outside:
        assert_problem(await claim(w, token, coupon["id"], "seg"), 403, "not_eligible")
        assert await _mine(w, token) == []
    listed = (await shop_coupons(w))[0]
    assert (listed["remaining"], listed["issued"]) == (4, 1)
    # one segment computation served every claim (the cache), not one per claim
    assert _rt(client).coupons.targeting.segment_reads == 1

    # the fan leaves the segment: a repeat of the claim made inside it still gets that claim,
    # a new claim is refused, and nothing changes
    untagged = await client.put(f"/api/v1/shops/{w.shop_id}/fans/{vip}/tags",
                                headers=auth(w.merchant), json={"tags": []})
    assert untagged.status_code == 200
    _rt(client).coupons.targeting.forget_segment(segment.json()["id"])
    again = await claim(w, inside, coupon["id"], "seg")
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        201, ok.json()["id"], "true")
    assert_problem(await claim(w, inside, coupon["id"], "seg-2"), 403, "not_eligible")
    listed = (await shop_coupons(w))[0]
    assert (listed["remaining"], listed["issued"]) == (4, 1)


async def test_the_room_and_the_fan_club_show_targeted_coupons_to_their_target_only(client):
    w = await build_world(client, buyers=2)
    await _levels(w)
    await _join(w, w.buyers[0], checkin=True)
    open_coupon = (await create(w, title="人人可领")).json()
    targeted = (await create(w, title="铁粉专享", min_fan_level=2)).json()
    room = f"/api/v1/sessions/{w.session_id}/coupons"
    fan_view = {c["id"] for c in (await client.get(room, headers=auth(w.buyers[0]))).json()[
        "coupons"]}
    other_view = {c["id"] for c in (await client.get(room, headers=auth(w.buyers[1]))).json()[
        "coupons"]}
    anonymous = {c["id"] for c in (await client.get(room)).json()["coupons"]}
    assert fan_view == {open_coupon["id"], targeted["id"]}
    assert other_view == anonymous == {open_coupon["id"]}
    club = (await client.get(f"/api/v1/shops/{w.shop_id}/fan-club/coupons",
                             headers=auth(w.buyers[1]))).json()["coupons"]
    assert {c["id"]: c["eligible"] for c in club} == {open_coupon["id"]: True,
                                                      targeted["id"]: False}


async def test_targeting_another_shops_segment_is_refused_and_nothing_is_stored(client):
    w = await build_world(client, buyers=0)
    other = await build_world(client, buyers=0, prefix="o-")
    segment = await client.post(f"/api/v1/shops/{other.shop_id}/segments",
                                headers=auth(other.merchant),
                                json={"name": "别家", "filter": {"members_only": True}})
    assert segment.status_code == 201
    refused = await create(w, segment_id=segment.json()["id"])
    missing = await create(w, segment_id=999_999)
    too_high = await create(w, min_fan_level=21)
    assert_problem(refused, 422, "validation_failed")
    assert_problem(missing, 422, "validation_failed")
    assert_problem(too_high, 422, "validation_failed")
    assert await shop_coupons(w) == []
