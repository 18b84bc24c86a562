"""Fan clubs (粉丝团): joining and leaving, levels, check-ins, affinity from verified actions
only (chat, likes, heartbeat minutes, purchases net of returns) within daily caps, points with
a spend that never overdraws, the chat badge, the merchant's fan list, and the fan's personal
data. Every affinity and points total equals the sum of its history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.fans import service as fans
from livepledge.fans.models import (
    affinity_entries,
    fan_club_settings,
    fan_members,
    fan_orders,
    fan_segments,
    point_entries,
)
from livepledge.infra.events import record_event
from livepledge.orders.models import orders
from tests.api.world import World, assert_problem, auth, build_world, register
from tests.conftest import make_app_client


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Each test on SQLite and on PostgreSQL."""
    async with make_app_client(database_url, chat_min_interval_seconds=0) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _me(client: httpx.AsyncClient, token: str) -> int:
    return int((await client.get("/api/v1/me", headers=auth(token))).json()["id"])


async def _join(w: World, token: str) -> dict[str, Any]:
    response = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                                  headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _club(w: World, token: str) -> dict[str, Any]:
    response = await w.client.get(f"/api/v1/shops/{w.shop_id}/fan-club", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _table(client: httpx.AsyncClient, table: Any) -> list[tuple[Any, ...]]:
    async with _rt(client).db.read() as conn:
        return [tuple(r) for r in await conn.execute(select(table).order_by(*table.primary_key))]


async def assert_totals_match_history(client: httpx.AsyncClient) -> None:
    """Every member's stored affinity and points are the sums of their histories."""
    async with _rt(client).db.read() as conn:
        for m in await conn.execute(select(fan_members)):
            affinity = (await conn.execute(select(func.coalesce(func.sum(
                affinity_entries.c.points), 0)).where(
                affinity_entries.c.shop_id == m.shop_id,
                affinity_entries.c.user_id == m.user_id))).scalar_one()
            points = (await conn.execute(select(func.coalesce(func.sum(
                point_entries.c.delta), 0)).where(
                point_entries.c.shop_id == m.shop_id,
                point_entries.c.user_id == m.user_id))).scalar_one()
            assert (m.affinity, m.points) == (affinity, points)
            assert m.affinity >= 0 and m.points >= 0


async def _paid(w: World, token: str) -> int:
    order = (await w.buy(token)).json()
    paid = await w.client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(token))
    assert paid.status_code == 200, paid.text
    return int(order["id"])


async def _release(client: httpx.AsyncClient, w: World, order_id: int) -> None:
    """The escrow_release deadline's event, as the ledger writes it when the return window is
    over (its own tests cover when); the fans consumer gives the points."""
    rt = _rt(client)
    async with rt.db.write() as uow:
        await record_event(uow, "EscrowReleased", rt.now(), shop_id=w.shop_id,
                           order_id=order_id, payload={"commission_bp": 0,
                                                       "deemed_receipt": True})
    await rt.consumers.drain_all()


# --- membership and levels -------------------------------------------------------------------

async def test_join_is_idempotent_and_leave_deletes_affinity(client):
    w = await build_world(client, buyers=2)
    club = await _club(w, w.buyers[0])
    assert (club["members"], club["me"]) == (0, None)
    assert [lv["name"] for lv in club["levels"]] == ["新粉", "铁粉", "真爱粉", "挚爱粉", "铁杆粉",
                                                     "元老粉"]
    first = await _join(w, w.buyers[0])
    again = await _join(w, w.buyers[0])
    assert first == again
    assert (again["members"], again["me"]["level"], again["me"]["level_name"],
            again["me"]["affinity"]) == (1, 1, "新粉", 0)
    assert again["me"]["next_level"] == {"level": 2, "name": "铁粉", "threshold": 100}

    checked = await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin",
                                headers=auth(w.buyers[0]))
    assert checked.json()["me"]["affinity"] == 10
    left = await client.delete(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                               headers=auth(w.buyers[0]))
    assert left.status_code == 200
    assert (left.json()["members"], left.json()["me"]) == (0, None)
    assert await _table(client, affinity_entries) == []  # the affinity history is gone
    rejoined = await _join(w, w.buyers[0])
    assert (rejoined["me"]["affinity"], rejoined["me"]["points"],
            rejoined["me"]["checked_in_today"]) == (0, 5, True)  # points kept; no 2nd check-in
    assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin",
                                     headers=auth(w.buyers[0])), 409, "already_checked_in")
    assert_problem(await client.put("/api/v1/shops/999999/fan-club/membership",
                                    headers=auth(w.buyers[0])), 404, "not_found")
    await assert_totals_match_history(client)


async def test_merchant_sets_levels_and_bad_tables_change_nothing(client):
    w = await build_world(client, buyers=1)
    url = f"/api/v1/shops/{w.shop_id}/fan-club/levels"
    levels = [{"name": "路人", "threshold": 0}, {"name": "铁粉", "threshold": 5}]
    saved = await client.put(url, headers=auth(w.merchant), json={"levels": levels})
    assert saved.status_code == 200, saved.text
    assert saved.json() == [{"level": 1, "name": "路人", "threshold": 0},
                            {"level": 2, "name": "铁粉", "threshold": 5}]
    before = await _table(client, fan_club_settings)
    for bad in ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 0}],
                [{"name": "a", "threshold": 3}],
                [{"name": "a", "threshold": 0}, {"name": "a", "threshold": 9}],
                [{"name": "   ", "threshold": 0}],
                [], [{"name": f"L{n}", "threshold": n} for n in range(21)]):
        assert_problem(await client.put(url, headers=auth(w.merchant), json={"levels": bad}),
                       422, "validation_failed")
    assert_problem(await client.put(url, headers=auth(w.buyers[0]), json={"levels": levels}),
                   403, "forbidden")
    assert await _table(client, fan_club_settings) == before

    await _join(w, w.buyers[0])
    checked = await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin",
                                headers=auth(w.buyers[0]))
    assert checked.status_code == 200, checked.text
    me = checked.json()["me"]
    assert (me["affinity"], me["level"], me["level_name"], me["next_level"]) == (
        10, 2, "铁粉", None)


# --- check-ins -------------------------------------------------------------------------------

async def test_check_in_once_a_shanghai_day_with_streaks(client):
    w = await build_world(client, buyers=1)
    url = f"/api/v1/shops/{w.shop_id}/fan-club/checkin"
    assert_problem(await client.post(url, headers=auth(w.buyers[0])), 409, "not_a_fan")
    await _join(w, w.buyers[0])
    rt = _rt(client)
    day1 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    days = [day1, day1 + timedelta(hours=1),  # 00:00 next day in Shanghai: a new day
            day1 + timedelta(hours=2), day1 + timedelta(days=3)]
    results = []
    for moment in days:
        rt.now = lambda moment=moment: moment
        response = await client.post(url, headers=auth(w.buyers[0]))
        results.append((response.status_code, response.json().get("checkin")))
    assert results == [
        (200, {"day": "2026-03-01", "streak": 1, "affinity": 10, "points": 5}),
        (200, {"day": "2026-03-02", "streak": 2, "affinity": 10, "points": 6}),
        (409, None),
        (200, {"day": "2026-03-04", "streak": 1, "affinity": 10, "points": 5}),
    ]
    club = await _club(w, w.buyers[0])
    assert (club["me"]["affinity"], club["me"]["points"], club["me"]["streak"]) == (30, 16, 1)
    history = (await client.get(f"/api/v1/me/fan-clubs/{w.shop_id}/points",
                                headers=auth(w.buyers[0]))).json()
    assert [(e["delta"], e["balance"], e["reason"]) for e in history["entries"]] == [
        (5, 16, "checkin"), (6, 11, "checkin"), (5, 5, "checkin")]
    await assert_totals_match_history(client)


# --- purchases net of returns ----------------------------------------------------------------

async def test_purchases_give_affinity_and_points_and_refunds_take_them_back(client):
    w = await build_world(client, buyers=2, limit=3)
    buyer = w.buyers[0]
    await _join(w, buyer)
    rt = _rt(client)
    kept, cancelled = await _paid(w, buyer), await _paid(w, buyer)
    stranger = await _paid(w, w.buyers[1])  # not a fan: nothing
    await rt.consumers.drain_all()
    assert (await _club(w, buyer))["me"]["affinity"] == 99 + 99  # 99.00 yuan each

    response = await client.post(f"/api/v1/orders/{cancelled}/cancel", headers=auth(w.merchant),
                                 json={"reason_code": "out_of_stock"})
    assert response.status_code == 200, response.text
    await rt.consumers.drain_all()
    assert (await _club(w, buyer))["me"]["affinity"] == 99  # taken back in full
    await rt.consumers.drain_all()  # a replay changes nothing
    assert (await _club(w, buyer))["me"]["points"] == 0  # points wait for the return window

    await _release(client, w, kept)
    await _release(client, w, stranger)
    me = (await _club(w, buyer))["me"]
    assert (me["affinity"], me["points"]) == (99, 99)
    history = (await client.get(f"/api/v1/me/fan-clubs/{w.shop_id}/affinity",
                                headers=auth(buyer))).json()
    assert [(e["source"], e["points"], e["order_id"]) for e in history["entries"]] == [
        ("refund", -99, cancelled), ("purchase", 99, cancelled), ("purchase", 99, kept)]
    assert [r[4:9] for r in await _table(client, fan_orders)] == [
        (9900, 0, 99, 0, 99), (9900, 9900, 99, 99, 0), (9900, 0, 0, 0, 0)]
    await assert_totals_match_history(client)


# --- the live room: chat, likes, heartbeat minutes ------------------------------------------

async def test_chat_gives_capped_affinity_and_carries_the_badge_from_a_cache(client):
    w = await build_world(client, buyers=2)
    fan, other = w.buyers
    await _join(w, fan)
    rt = _rt(client)
    reads = rt.badges.reads
    messages = []
    for n in range(12):
        response = await client.post(f"/api/v1/sessions/{w.session_id}/chat",
                                     headers=auth(fan), json={"text": f"好看 {n}"})
        assert response.status_code == 201, response.text
        messages.append(response.json())
    stranger = await client.post(f"/api/v1/sessions/{w.session_id}/chat", headers=auth(other),
                                 json={"text": "路过"})
    assert messages[0]["fan"] == {"level": 1, "name": "新粉"}
    assert stranger.json()["fan"] is None
    assert rt.badges.reads - reads == 2  # one read per (shop, viewer), not per message
    me = (await _club(w, fan))["me"]
    assert me["affinity"] == 20  # 2 a message, at most 20 a day
    assert (await _club(w, other))["me"] is None
    await assert_totals_match_history(client)


async def test_watch_minutes_count_for_engaged_fans_once_per_minute_within_the_cap(client):
    w = await build_world(client, buyers=2)
    fan, silent = w.buyers
    fan_id, silent_id = await _me(client, fan), await _me(client, silent)
    await _join(w, fan)
    await _join(w, silent)
    rt = _rt(client)
    engagement = rt.rooms.engagement
    minute = int(rt.now().timestamp() // 60)
    for m in range(3):  # heartbeats, but neither has interacted yet
        await engagement.watched(rt.db, w.shop_id, w.session_id, {fan_id, silent_id},
                                 minute + m, rt.now())
    assert (await _club(w, fan))["me"]["affinity"] == 0
    async with rt.db.write() as uow:  # the fan likes once (a room tick stored it)
        await engagement.likes(uow, w.shop_id, w.session_id, {fan_id: 1}, {fan_id: 1},
                               rt.now())
    assert (await _club(w, fan))["me"]["affinity"] == 1
    await engagement.watched(rt.db, w.shop_id, w.session_id, {fan_id, silent_id}, minute + 3,
                             rt.now())
    # a second worker (another tab) crediting the same minute adds nothing
    await engagement.watched(rt.db, w.shop_id, w.session_id, {fan_id}, minute + 3, rt.now())
    assert (await _club(w, fan))["me"]["affinity"] == 1 + 4  # the 3 waiting minutes, and one
    assert (await _club(w, silent))["me"]["affinity"] == 0  # silent: the bought-viewer rule
    for m in range(4, 60):
        await engagement.watched(rt.db, w.shop_id, w.session_id, {fan_id}, minute + m, rt.now())
    assert (await _club(w, fan))["me"]["affinity"] == 1 + 30  # at most 30 minutes a day
    await assert_totals_match_history(client)


# --- points ----------------------------------------------------------------------------------

async def test_spend_refuses_overdraft_and_a_repeat_is_a_no_op(client):
    w = await build_world(client, buyers=1)
    await _join(w, w.buyers[0])
    await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin", headers=auth(w.buyers[0]))
    uid, rt = await _me(client, w.buyers[0]), _rt(client)
    spent = await fans.spend(rt.db, w.shop_id, uid, 3, reason="coupon", ref="c1", now=rt.now())
    assert spent == {"balance": 2, "spent": 3, "repeated": False}
    again = await fans.spend(rt.db, w.shop_id, uid, 3, reason="coupon", ref="c1", now=rt.now())
    assert again == {"balance": 2, "spent": 3, "repeated": True}
    before = await _table(client, point_entries), await _table(client, fan_members)
    with pytest.raises(fans.Problem) as refused:
        await fans.spend(rt.db, w.shop_id, uid, 3, reason="coupon", ref="c2", now=rt.now())
    assert refused.value.code == "insufficient_points"
    for amount, reason, ref in ((0, "coupon", "x"), (-1, "coupon", "x"), (1, "", "x"),
                                (1, "coupon", "")):
        with pytest.raises(fans.Problem):
            await fans.spend(rt.db, w.shop_id, uid, amount, reason=reason, ref=ref,
                             now=rt.now())
    assert (await _table(client, point_entries), await _table(client, fan_members)) == before
    await assert_totals_match_history(client)


# --- merchant views --------------------------------------------------------------------------

async def test_merchant_fan_list_is_paginated_and_for_staff_only(client):
    w = await build_world(client, buyers=3)
    for token in w.buyers:
        await _join(w, token)
    await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin", headers=auth(w.buyers[1]))
    url = f"/api/v1/shops/{w.shop_id}/fans"
    page = (await client.get(url + "?limit=2", headers=auth(w.merchant))).json()
    assert page["total"] == 3
    assert [(f["display_name"], f["affinity"], f["level"], f["streak"]) for f in page["fans"]] \
        == [("buyer1", 10, 1, 1), ("buyer0", 0, 1, 0)]
    rest = (await client.get(url + "?limit=2&offset=2", headers=auth(w.merchant))).json()
    assert [f["display_name"] for f in rest["fans"]] == ["buyer2"]
    assert_problem(await client.get(url, headers=auth(w.buyers[0])), 403, "forbidden")
    uid = await _me(client, w.buyers[2])
    tagged = await client.put(f"{url}/{uid}/tags", headers=auth(w.merchant),
                              json={"tags": ["回头客", "茶叶"]})
    assert tagged.json() == {"user_id": uid, "tags": ["回头客", "茶叶"]}


# --- personal information --------------------------------------------------------------------

async def test_fan_data_opt_out_export_and_delete_keep_orders(client):
    w = await build_world(client, buyers=1)
    buyer = w.buyers[0]
    await _join(w, buyer)
    await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/checkin", headers=auth(buyer))
    order_id = await _paid(w, buyer)
    await _rt(client).consumers.drain_all()
    opted = await client.put(f"/api/v1/me/fan-clubs/{w.shop_id}/campaigns", headers=auth(buyer),
                             json={"opt_out": True})
    assert opted.json() == {"shop_id": w.shop_id, "campaigns_opt_out": True}
    uid = await _me(client, buyer)
    async with _rt(client).db.read() as conn:
        assert await fans.campaign_recipients(conn, w.shop_id, [uid]) == []

    exported = (await client.get("/api/v1/me/fan-data", headers=auth(buyer))).json()
    assert [m["shop_id"] for m in exported["memberships"]] == [w.shop_id]
    assert exported["memberships"][0]["campaigns_opt_out"] is True
    assert [e["source"] for e in exported["affinity"]] == ["checkin", "purchase"]
    assert [e["reason"] for e in exported["points"]] == ["checkin"]

    deleted = await client.delete("/api/v1/me/fan-data", headers=auth(buyer))
    assert deleted.json()["deleted"] == {"affinity_entries": 2, "point_entries": 1, "watch": 1,
                                         "orders": 1, "feed_comments": 0,
                                         "feed_reactions": 0, "memberships": 1}
    empty = (await client.get("/api/v1/me/fan-data", headers=auth(buyer))).json()
    assert (empty["memberships"], empty["affinity"], empty["points"]) == ([], [], [])
    async with _rt(client).db.read() as conn:  # the order itself is kept
        assert (await conn.execute(select(orders.c.id).where(
            orders.c.id == order_id))).scalar_one() == order_id
    assert await _club(w, buyer) is not None


async def test_other_users_cannot_see_a_fans_history(client):
    w = await build_world(client, buyers=1)
    _, outsider = await register(client, "outsider")
    assert_problem(await client.get(f"/api/v1/me/fan-clubs/{w.shop_id}/affinity",
                                    headers=auth(outsider)), 409, "not_a_fan")
    assert (await client.get("/api/v1/me/fan-clubs", headers=auth(outsider))).json() == []


async def test_the_room_credits_heartbeat_minutes_not_page_opens_and_likes(client):
    """Through the room itself: a socket that only opened earns nothing; one that sent a
    heartbeat during a minute earns that minute once the viewer has interacted (a like)."""
    from livepledge.accounts.principal import Principal
    from livepledge.fans.models import fan_watch
    from livepledge.live.api import _handle

    w = await build_world(client, buyers=2)
    fan, opener = w.buyers
    fan_id, opener_id = await _me(client, fan), await _me(client, opener)
    await _join(w, fan)
    await _join(w, opener)
    rt = _rt(client)
    room, fan_client = await rt.rooms.join(w.session_id, f"u:{fan_id}", fan_id)
    _, opener_client = await rt.rooms.join(w.session_id, f"u:{opener_id}", opener_id)
    principal = Principal(fan_id, "buyer0", "buyer0", "buyer")
    try:
        assert await _handle(rt, room, principal, f"u:{fan_id}", '{"type": "heartbeat"}') \
            is None
        assert await _handle(rt, room, principal, f"u:{fan_id}",
                             '{"type": "like", "count": 3}') is None
        room.minute -= 1  # the minute ends
        await room.tick()
        async with rt.db.read() as conn:
            watched = [tuple(r) for r in await conn.execute(select(
                fan_watch.c.user_id, fan_watch.c.minutes, fan_watch.c.credited,
                fan_watch.c.engaged))]
        assert watched == [(fan_id, 1, 1, True)]
        assert (await _club(w, fan))["me"]["affinity"] == 3 + 1  # three likes, one minute
        assert (await _club(w, opener))["me"]["affinity"] == 0  # opened the page only
        room.minute -= 1  # a minute without a heartbeat earns nothing
        await room.tick()
        assert (await _club(w, fan))["me"]["affinity"] == 4
    finally:
        await rt.rooms.leave(room, fan_client)
        await rt.rooms.leave(room, opener_client)
    await assert_totals_match_history(client)


# --- segments --------------------------------------------------------------------------------

async def test_segments_count_live_and_export_ids_only(client):
    w = await build_world(client, buyers=3, limit=3)
    rt = _rt(client)
    ids = [await _me(client, token) for token in w.buyers]
    for token in w.buyers[:2]:
        await _join(w, token)
    await _paid(w, w.buyers[0])
    await _paid(w, w.buyers[0])
    returned = await _paid(w, w.buyers[2])
    await client.post(f"/api/v1/orders/{returned}/cancel", headers=auth(w.merchant),
                      json={"reason_code": "out_of_stock"})
    await rt.consumers.drain_all()
    tagged = await client.put(f"/api/v1/shops/{w.shop_id}/fans/{ids[1]}/tags",
                              headers=auth(w.merchant), json={"tags": ["茶叶"]})
    assert tagged.status_code == 200, tagged.text

    url = f"/api/v1/shops/{w.shop_id}/segments"
    preview = await client.post(f"/api/v1/shops/{w.shop_id}/segment-preview",
                                headers=auth(w.merchant),
                                json={"orders_min": 1, "bought_in_session": w.session_id})
    assert (preview.json()["count"], preview.json()["buyers"]) == (1, 3)
    saved = []
    for name, rule in (("复购粉丝", {"members_only": True, "orders_min": 2}),
                       ("茶叶标签", {"tags_any": ["茶叶"]}),
                       ("全部买家", {})):
        response = await client.post(url, headers=auth(w.merchant),
                                     json={"name": name, "filter": rule})
        assert response.status_code == 201, response.text
        saved.append(response.json())
    assert [s["count"] for s in saved] == [1, 1, 3]
    listed = (await client.get(url, headers=auth(w.merchant))).json()
    assert [(s["name"], s["count"]) for s in listed["segments"]] == [
        ("复购粉丝", 1), ("茶叶标签", 1), ("全部买家", 3)]

    await _join(w, w.buyers[2])  # counts are live: a new member with a returned order
    await client.put(f"/api/v1/shops/{w.shop_id}/fans/{ids[2]}/tags", headers=auth(w.merchant),
                     json={"tags": ["茶叶"]})
    listed = (await client.get(url, headers=auth(w.merchant))).json()
    assert [s["count"] for s in listed["segments"]] == [1, 2, 3]

    csv = await client.get(f"{url}/{saved[1]['id']}/export.csv", headers=auth(w.merchant))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == f"user_id\n{ids[1]}\n{ids[2]}\n"

    before = await _table(client, fan_segments)
    for bad in ({"name": "", "filter": {}}, {"name": "x", "filter": {"orders_min": -1}},
                {"name": "x", "filter": {"orders_min": 3, "orders_max": 1}},
                {"name": "x", "filter": {"unknown": 1}}):
        assert_problem(await client.post(url, headers=auth(w.merchant), json=bad), 422,
                       "validation_failed")
    assert_problem(await client.post(url, headers=auth(w.buyers[0]),
                                     json={"name": "x", "filter": {}}), 403, "forbidden")
    assert_problem(await client.get(f"{url}/987654/export.csv", headers=auth(w.merchant)),
                   404, "not_found")
    assert await _table(client, fan_segments) == before
    gone = await client.delete(f"{url}/{saved[2]['id']}", headers=auth(w.merchant))
    assert gone.status_code == 204
    assert len((await client.get(url, headers=auth(w.merchant))).json()["segments"]) == 2


async def test_a_partial_refund_takes_back_its_share_once(client):
    w = await build_world(client, buyers=1)
    buyer = w.buyers[0]
    await _join(w, buyer)
    rt = _rt(client)
    order_id = await _paid(w, buyer)
    await rt.consumers.drain_all()
    async with rt.db.write() as uow:  # after-sales refunds half (the case's own event)
        await record_event(uow, "CaseRefunded", rt.now(), shop_id=w.shop_id, order_id=order_id,
                           payload={"case_id": 1, "amount": 4950})
        # closing the order afterwards pays nothing more back: takes nothing more
        await record_event(uow, "OrderCancelled", rt.now(), shop_id=w.shop_id,
                           order_id=order_id, payload={"by": "system", "refunded": 4950,
                                                       "refund_paid": 0, "compensated": 0})
    await rt.consumers.drain_all()
    assert (await _club(w, buyer))["me"]["affinity"] == 99 - 50  # ceil(99 / 2)
    await _release(client, w, order_id)
    assert (await _club(w, buyer))["me"]["points"] == 49  # the 49.50 yuan kept
    await assert_totals_match_history(client)


async def test_my_fan_clubs_page_needs_a_login(client):
    _, token = await register(client, "pagefan")
    anonymous = await client.get("/fan-clubs")
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303, "/login?next=/fan-clubs")
    page = await client.get("/fan-clubs", headers=auth(token))
    assert page.status_code == 200
    assert "我的粉丝团" in page.text
