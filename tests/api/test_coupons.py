"""Coupons through the API: the shop creates, pauses and ends them; buyers claim them (领券)
within the budget and their limit, idempotently; bad terms are refused with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.world import World, assert_problem, auth, build_world, register


def terms(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {"title": "满100减10", "kind": "threshold", "threshold": 10000, "amount_off": 1000,
            "budget": 3, "per_buyer_limit": 1,
            "claim_starts_at": (now - timedelta(minutes=1)).isoformat(),
            "claim_ends_at": (now + timedelta(hours=1)).isoformat(), "valid_days": 7}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def create(world: World, **changes: Any) -> httpx.Response:
    return await world.client.post(f"/api/v1/shops/{world.shop_id}/coupons",
                                   headers=auth(world.merchant), json=terms(**changes))


async def claim(world: World, token: str, coupon_id: int, key: str) -> httpx.Response:
    return await world.client.post(f"/api/v1/coupons/{coupon_id}/claims",
                                   headers={**auth(token), "Idempotency-Key": key})


async def shop_coupons(world: World) -> list[dict[str, Any]]:
    response = await world.client.get(f"/api/v1/shops/{world.shop_id}/coupons",
                                      headers=auth(world.merchant))
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def test_a_shop_creates_each_kind_and_lists_them(app_client):
    world = await build_world(app_client, buyers=0)
    threshold = await create(world)
    percent = await create(world, kind="percent", title="九折", threshold=0, amount_off=None,
                           percent_off=10, cap=2000)
    flat = await create(world, kind="no_threshold", title="无门槛5元", threshold=0,
                        amount_off=500, valid_days=None,
                        valid_from=datetime.now(UTC).isoformat(),
                        valid_until=(datetime.now(UTC) + timedelta(days=3)).isoformat())
    assert [r.status_code for r in (threshold, percent, flat)] == [201, 201, 201]
    body = threshold.json()
    assert (body["kind"], body["threshold"], body["amount_off"], body["budget"],
            body["remaining"], body["issued"], body["status"]) == (
        "threshold", 10000, 1000, 3, 3, 0, "active")
    assert percent.json()["percent_off"] == 10 and percent.json()["cap"] == 2000
    listed = await shop_coupons(world)
    assert [c["id"] for c in listed] == [flat.json()["id"], percent.json()["id"], body["id"]]


BAD_TERMS = [
    ({"budget": 0}, "budget"),
    ({"budget": -5}, "budget"),
    ({"amount_off": 10000}, "amount_off ≥ threshold"),
    ({"amount_off": 20000}, "amount_off > threshold"),
    ({"kind": "percent", "amount_off": None, "percent_off": 0}, "percent 0"),
    ({"kind": "percent", "amount_off": None, "percent_off": 100}, "percent 100"),
    ({"kind": "no_threshold", "threshold": 500}, "no-threshold with a threshold"),
    ({"claim_ends_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}, "window reversed"),
    ({"valid_days": None}, "no validity"),
    ({"valid_days": 0}, "zero days"),
    ({"valid_days": None, "valid_from": datetime.now(UTC).isoformat(),
      "valid_until": (datetime.now(UTC) - timedelta(days=1)).isoformat()}, "validity reversed"),
    ({"per_buyer_limit": 0}, "limit 0"),
]


@pytest.mark.parametrize(("changes", "why"), BAD_TERMS, ids=[w for _, w in BAD_TERMS])
async def test_bad_terms_are_refused_and_nothing_is_stored(app_client, changes, why):
    world = await build_world(app_client, buyers=0)
    response = await create(world, **changes)
    assert_problem(response, 422, "validation_failed")
    assert await shop_coupons(world) == []


async def test_another_shops_staff_cannot_create_list_or_pause(app_client):
    world = await build_world(app_client, buyers=0)
    other = await build_world(app_client, buyers=0, prefix="other-")
    created = (await create(world)).json()
    foreign = await app_client.post(f"/api/v1/shops/{world.shop_id}/coupons",
                                    headers=auth(other.merchant), json=terms())
    listing = await app_client.get(f"/api/v1/shops/{world.shop_id}/coupons",
                                   headers=auth(other.merchant))
    pause = await app_client.post(f"/api/v1/coupons/{created['id']}/status",
                                  headers=auth(other.merchant), json={"action": "pause"})
    other_session = await create(world, session_id=other.session_id)
    assert_problem(foreign, 403, "forbidden")
    assert_problem(listing, 403, "forbidden")
    assert_problem(pause, 404, "not_found")
    assert_problem(other_session, 422, "validation_failed")
    assert [c["id"] for c in await shop_coupons(world)] == [created["id"]]
    assert (await shop_coupons(world))[0]["status"] == "active"


async def test_claims_stop_at_the_budget_and_the_per_buyer_limit(app_client):
    world = await build_world(app_client, buyers=4)
    coupon = (await create(world, budget=3, per_buyer_limit=1)).json()
    first = await claim(world, world.buyers[0], coupon["id"], "k1")
    again = await claim(world, world.buyers[0], coupon["id"], "k2")
    others = [await claim(world, t, coupon["id"], "k1") for t in world.buyers[1:]]
    assert first.status_code == 201
    body = first.json()
    assert (body["coupon_id"], body["status"], body["shop_id"]) == (
        coupon["id"], "unused", world.shop_id)
    claimed_at = datetime.fromisoformat(body["claimed_at"])
    assert datetime.fromisoformat(body["valid_until"]) - claimed_at == timedelta(days=7)
    assert_problem(again, 409, "over_limit")
    assert [r.status_code for r in others[:2]] == [201, 201]
    assert_problem(others[2], 409, "sold_out")
    listed = (await shop_coupons(world))[0]
    assert (listed["remaining"], listed["issued"]) == (0, 3)


async def test_a_repeated_claim_returns_the_same_claim(app_client):
    world = await build_world(app_client, buyers=1)
    coupon = (await create(world, budget=5, per_buyer_limit=2)).json()
    first = await claim(world, world.buyers[0], coupon["id"], "same")
    second = await claim(world, world.buyers[0], coupon["id"], "same")
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert (await shop_coupons(world))[0]["remaining"] == 4
    missing = await app_client.post(f"/api/v1/coupons/{coupon['id']}/claims",
                                    headers=auth(world.buyers[0]))
    assert missing.status_code in (400, 422)


async def test_paused_upcoming_and_ended_coupons_cannot_be_claimed(app_client):
    world = await build_world(app_client, buyers=1)
    coupon = (await create(world)).json()
    later = (await create(world, claim_starts_at=(
        datetime.now(UTC) + timedelta(minutes=30)).isoformat())).json()
    paused = await app_client.post(f"/api/v1/coupons/{coupon['id']}/status",
                                   headers=auth(world.merchant), json={"action": "pause"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert_problem(await claim(world, world.buyers[0], coupon["id"], "a"), 409, "claim_closed")
    assert_problem(await claim(world, world.buyers[0], later["id"], "b"), 409, "claim_closed")
    ended = await app_client.post(f"/api/v1/coupons/{coupon['id']}/status",
                                  headers=auth(world.merchant), json={"action": "end"})
    assert ended.json()["status"] == "ended"
    resumed = await app_client.post(f"/api/v1/coupons/{coupon['id']}/status",
                                    headers=auth(world.merchant), json={"action": "resume"})
    assert_problem(resumed, 409, "invalid_transition")
    assert all(c["issued"] == 0 for c in await shop_coupons(world))


async def test_a_session_coupon_is_claimable_only_while_its_session_is_live(app_client):
    world = await build_world(app_client, buyers=1)
    scheduled = await build_world(app_client, buyers=0, live=False, prefix="s-")
    live_coupon = (await create(world, session_id=world.session_id)).json()
    not_live = (await app_client.post(
        f"/api/v1/shops/{scheduled.shop_id}/coupons", headers=auth(scheduled.merchant),
        json=terms(session_id=scheduled.session_id))).json()
    ok = await claim(world, world.buyers[0], live_coupon["id"], "room")
    refused = await claim(world, world.buyers[0], not_live["id"], "room2")
    assert ok.status_code == 201
    body = assert_problem(refused, 409, "claim_closed")
    assert body["state"] == "not_live"


async def test_the_room_lists_its_coupons_with_what_is_left_and_mine(app_client):
    world = await build_world(app_client, buyers=1)
    shop_wide = (await create(world, budget=10)).json()
    in_room = (await create(world, session_id=world.session_id, budget=2)).json()
    await claim(world, world.buyers[0], in_room["id"], "r1")
    anonymous = await app_client.get(f"/api/v1/sessions/{world.session_id}/coupons")
    mine = await app_client.get(f"/api/v1/sessions/{world.session_id}/coupons",
                                headers=auth(world.buyers[0]))
    assert anonymous.status_code == 200
    listed = {c["id"]: c for c in mine.json()["coupons"]}
    assert set(listed) == {shop_wide["id"], in_room["id"]}
    assert (listed[in_room["id"]]["remaining"], listed[in_room["id"]]["claimed_by_me"]) == (1, 1)
    assert (listed[shop_wide["id"]]["remaining"], listed[shop_wide["id"]]["state"]) == (10, "open")
    held = await app_client.get("/api/v1/me/coupons?usable=true", headers=auth(world.buyers[0]))
    assert [c["coupon_id"] for c in held.json()] == [in_room["id"]]
    assert held.json()[0]["title"] == "满100减10"


async def test_unknown_coupons_are_404(app_client):
    _, token = await register(app_client, "lonely")
    assert_problem(await app_client.post("/api/v1/coupons/999999/claims", headers={
        **auth(token), "Idempotency-Key": "x"}), 404, "not_found")
    assert_problem(await app_client.get("/api/v1/coupons/999999"), 404, "not_found")


async def test_the_room_page_has_the_coupon_button_and_sheet(app_client):
    world = await build_world(app_client, buyers=0)
    page = await app_client.get(f"/live/{world.session_id}")
    script = await app_client.get("/static/coupons.js")
    assert page.status_code == 200
    assert 'id="coupons-open"' in page.text and 'id="coupon-sheet"' in page.text
    assert '<script src="/static/coupons.js" defer>' in page.text
    assert script.status_code == 200 and "/claims" in script.text


async def test_a_coupon_targeted_at_a_level_is_refused_to_a_non_member(app_client):
    world = await build_world(app_client, buyers=1)
    coupon = (await create(world, min_fan_level=3)).json()
    assert coupon["min_fan_level"] == 3
    assert_problem(await claim(world, world.buyers[0], coupon["id"], "fan"), 403, "not_eligible")
    assert (await shop_coupons(world))[0]["issued"] == 0
