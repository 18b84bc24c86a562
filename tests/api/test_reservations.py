"""预约 (reservations) of scheduled sessions and their go-live notices; the live room's product
bag and the buyer's own orders in a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.world import assert_problem, auth, build_world, register


async def _scheduled(client: httpx.AsyncClient) -> tuple[object, int]:
    """A world whose session is live, plus a second session of the same shop, scheduled."""
    world = await build_world(client, buyers=2)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    # another anchor: one anchor cannot be live in two rooms
    anchor_id, _ = await register(client, "anchor2", "anchor")
    added = await client.post(f"/api/v1/shops/{world.shop_id}/members",
                              headers=auth(world.merchant),
                              json={"login": "anchor2", "role": "anchor"})
    assert added.status_code == 201, added.text
    created = await client.post(f"/api/v1/shops/{world.shop_id}/sessions",
                                headers=auth(world.merchant),
                                json={"title": "明晚 8 点上新", "anchor_id": anchor_id,
                                      "scheduled_at": later})
    assert created.status_code == 201, created.text
    return world, created.json()["id"]


async def _live_notices(client: httpx.AsyncClient, token: str) -> dict:
    """The go-live notices in this user's inbox, once the event consumers have caught up."""
    await client.app.state.runtime.consumers.drain_all()  # type: ignore[attr-defined]
    response = await client.get("/api/v1/me/notices", headers=auth(token))
    assert response.status_code == 200, response.text
    inbox = response.json()
    return {"unread": inbox["unread"],
            "notices": [n for n in inbox["notices"] if n["kind"] == "session_live"]}


async def _lives(client: httpx.AsyncClient, shop_id: int, token: str | None = None) -> dict:
    response = await client.get(f"/api/v1/shops/{shop_id}/lives",
                                headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_reserve_is_idempotent_and_going_live_makes_a_notice(app_client) -> None:  # type: ignore[no-untyped-def]
    world, upcoming = await _scheduled(app_client)
    buyer = world.buyers[0]
    lives = await _lives(app_client, world.shop_id, buyer)
    assert [s["id"] for s in lives["live"]] == [world.session_id]
    assert [s["id"] for s in lives["upcoming"]] == [upcoming]
    assert lives["upcoming"][0]["reserved"] is False
    assert lives["upcoming"][0]["reservations"] == 0

    first = await app_client.put(f"/api/v1/sessions/{upcoming}/reservation", headers=auth(buyer))
    assert first.status_code == 200, first.text
    assert first.json() == {"session_id": upcoming, "reserved": True, "reservations": 1}
    again = await app_client.put(f"/api/v1/sessions/{upcoming}/reservation", headers=auth(buyer))
    assert again.json() == {"session_id": upcoming, "reserved": True, "reservations": 1}
    other = await app_client.put(f"/api/v1/sessions/{upcoming}/reservation",
                                 headers=auth(world.buyers[1]))
    assert other.json()["reservations"] == 2
    lives = await _lives(app_client, world.shop_id, buyer)
    assert (lives["upcoming"][0]["reserved"], lives["upcoming"][0]["reservations"]) == (True, 2)
    assert (await _lives(app_client, world.shop_id))["upcoming"][0]["reserved"] is False

    # not live yet: no notice
    assert await _live_notices(app_client, buyer) == {"unread": 0, "notices": []}

    started = await app_client.post(f"/api/v1/sessions/{upcoming}/start",
                                    headers=auth(world.merchant))
    assert started.status_code == 200, started.text
    notices = await _live_notices(app_client, buyer)
    assert notices["unread"] == 1
    [notice] = notices["notices"]
    assert (notice["session_id"], notice["params"], notice["read"]) == (
        upcoming, {"session_id": upcoming, "title": "明晚 8 点上新", "shop_id": world.shop_id,
                   "shop_name": "测试小店"}, False)
    assert notice["title"] == {"zh-CN": "你预约的「明晚 8 点上新」开播了",
                               "en": "\"明晚 8 点上新\" is live now"}
    read = await app_client.post("/api/v1/me/notices/read", headers=auth(buyer), json={})
    assert read.json() == {"unread": 0}
    assert (await _live_notices(app_client, buyer))["notices"][0]["read"] is True
    # the other buyer's notice is still unread
    theirs = await _live_notices(app_client, world.buyers[1])
    assert (theirs["unread"], len(theirs["notices"])) == (1, 1)
    # a buyer who did not reserve gets nothing
    _, stranger = await register(app_client, "stranger")
    assert await _live_notices(app_client, stranger) == {"unread": 0, "notices": []}


async def test_refused_reservations_change_nothing(app_client) -> None:  # type: ignore[no-untyped-def]
    world, upcoming = await _scheduled(app_client)
    buyer = world.buyers[0]
    assert_problem(await app_client.put("/api/v1/sessions/999999/reservation",
                                        headers=auth(buyer)), 404, "not_found")
    assert_problem(await app_client.delete("/api/v1/sessions/999999/reservation",
                                           headers=auth(buyer)), 404, "not_found")
    assert_problem(await app_client.get("/api/v1/shops/999999/lives"), 404, "not_found")
    assert_problem(await app_client.put(f"/api/v1/sessions/{upcoming}/reservation"),
                   401, "unauthenticated")
    # already live: refused, nothing stored
    assert_problem(await app_client.put(f"/api/v1/sessions/{world.session_id}/reservation",
                                        headers=auth(buyer)), 409, "invalid_transition")
    lives = await _lives(app_client, world.shop_id, buyer)
    assert [(s["reserved"], s["reservations"]) for s in lives["live"]] == [(False, 0)]
    assert [(s["reserved"], s["reservations"]) for s in lives["upcoming"]] == [(False, 0)]
    # ended: refused too
    ended = await app_client.post(f"/api/v1/sessions/{world.session_id}/end",
                                  headers=auth(world.merchant))
    assert ended.status_code == 200, ended.text
    assert_problem(await app_client.put(f"/api/v1/sessions/{world.session_id}/reservation",
                                        headers=auth(buyer)), 409, "invalid_transition")
    lives = await _lives(app_client, world.shop_id, buyer)
    assert [(s["id"], s["reservations"]) for s in lives["ended"]] == [(world.session_id, 0)]
    assert (await _live_notices(app_client, buyer))["notices"] == []


async def test_withdrawing_a_reservation_means_no_notice(app_client) -> None:  # type: ignore[no-untyped-def]
    world, upcoming = await _scheduled(app_client)
    buyer = world.buyers[0]
    await app_client.put(f"/api/v1/sessions/{upcoming}/reservation", headers=auth(buyer))
    gone = await app_client.delete(f"/api/v1/sessions/{upcoming}/reservation", headers=auth(buyer))
    assert gone.json() == {"session_id": upcoming, "reserved": False, "reservations": 0}
    twice = await app_client.delete(f"/api/v1/sessions/{upcoming}/reservation",
                                    headers=auth(buyer))
    assert twice.json() == {"session_id": upcoming, "reserved": False, "reservations": 0}
    await app_client.post(f"/api/v1/sessions/{upcoming}/start", headers=auth(world.merchant))
    assert await _live_notices(app_client, buyer) == {"unread": 0, "notices": []}


async def test_the_bag_counts_what_this_buyer_bought_and_what_was_sold(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, buyers=2, limit=2)
    bag = await app_client.get(f"/api/v1/sessions/{world.session_id}/bag")
    assert bag.status_code == 200
    assert bag.json() == {"session_id": world.session_id, "sold": {"units": 0, "orders": 0},
                          "items": [{"id": world.item_id, "images": [], "sold_units": 0,
                                     "sold_orders": 0, "bought": None}]}
    order = (await world.buy(world.buyers[0], quantity=2)).json()
    mine = (await app_client.get(f"/api/v1/sessions/{world.session_id}/bag",
                                 headers=auth(world.buyers[0]))).json()
    assert mine["items"][0]["bought"] == 2
    assert mine["sold"] == {"units": 0, "orders": 0}  # not paid yet: not sold
    theirs = (await app_client.get(f"/api/v1/sessions/{world.session_id}/bag",
                                   headers=auth(world.buyers[1]))).json()
    assert theirs["items"][0]["bought"] == 0
    paid = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                 headers=auth(world.buyers[0]), json={})
    assert paid.status_code == 200, paid.text
    sold = (await app_client.get(f"/api/v1/sessions/{world.session_id}/bag")).json()
    assert sold["sold"] == {"units": 2, "orders": 1}
    assert sold["items"][0]["sold_units"] == 2
    assert_problem(await app_client.get("/api/v1/sessions/999999/bag"), 404, "not_found")


async def test_my_orders_in_a_session_show_cancellation_and_refund(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, buyers=2, limit=2)
    buyer = world.buyers[0]
    order = (await world.buy(buyer)).json()
    paid = await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(buyer),
                                 json={})
    assert paid.status_code == 200, paid.text
    url = f"/api/v1/sessions/{world.session_id}/my-orders"
    [row] = (await app_client.get(url, headers=auth(buyer))).json()
    assert (row["id"], row["status"], row["refunded"], row["product_title"]) == (
        order["id"], "paid", 0, "红茶礼盒")
    cancelled = await app_client.post(f"/api/v1/orders/{order['id']}/cancel",
                                      headers=auth(world.merchant),
                                      json={"reason_code": "out_of_stock",
                                            "reason": "仓库缺货，无法发货"})
    assert cancelled.status_code == 200, cancelled.text
    [row] = (await app_client.get(url, headers=auth(buyer))).json()
    assert (row["status"], row["cancelled_by"], row["refunded"]) == ("cancelled", "merchant", 9900)
    assert row["cancel_reason_words"] == {"zh-CN": "缺货（仓库缺货，无法发货）",
                                          "en": "out of stock (仓库缺货，无法发货)"}
    # compensation is paid on top of the refund (30 % of ¥99.00 by default), told apart
    assert row["compensated"] == 2970
    assert (await app_client.get(url, headers=auth(world.buyers[1]))).json() == []
    assert_problem(await app_client.get(url), 401, "unauthenticated")
    assert_problem(await app_client.get("/api/v1/sessions/999999/my-orders",
                                        headers=auth(buyer)), 404, "not_found")
