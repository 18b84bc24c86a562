"""Campaigns to the merchant's own fans (docs/fans.md, "Campaigns"): only fan-club members of the
segment who have not opted out receive it, in their inbox, at most twice a week from one shop;
a message that leads off the platform is refused; a campaign can wait for a session to go live;
results are counted from stored rows — delivered, opened, orders and net sales attributed within
7 days to the last campaign before the payment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.fans import rules
from livepledge.fans.models import campaign_messages, campaigns
from livepledge.infra.models import deadlines
from livepledge.notices.models import notices
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _fire(client: httpx.AsyncClient, at: datetime | None = None) -> None:
    rt = _rt(client)
    await rt.consumers.drain_all()
    await rt.deadlines.run_once(now=at or datetime.now(UTC))
    await rt.consumers.drain_all()


async def _segment(w: World, name: str = "全部粉丝", **rule: Any) -> int:
    made = await w.client.post(f"/api/v1/shops/{w.shop_id}/segments", headers=auth(w.merchant),
                               json={"name": name, "filter": {"members_only": True, **rule}})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _campaign(w: World, segment: int, **body: Any) -> httpx.Response:
    return await w.client.post(f"/api/v1/shops/{w.shop_id}/campaigns", headers=auth(w.merchant),
                               json={"segment_id": segment, "title": "新茶到货",
                                     "body": "今晚 8 点直播间上新，粉丝专享价", **body})


async def _join(w: World, token: str) -> None:
    joined = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                                headers=auth(token))
    assert joined.status_code == 200, joined.text


async def _inbox(w: World, token: str) -> list[dict[str, Any]]:
    got = await w.client.get("/api/v1/me/notices", headers=auth(token))
    return [n for n in got.json()["notices"] if n["kind"] == "campaign"]


async def test_members_who_did_not_opt_out_receive_it_once_in_their_inbox(client):
    w = await build_world(client, buyers=4)
    for token in w.buyers[:3]:
        await _join(w, token)  # buyer 3 is no member: never marketed to
    optout = await client.put(f"/api/v1/me/fan-clubs/{w.shop_id}/campaigns",
                              headers=auth(w.buyers[2]), json={"opt_out": True})
    assert optout.status_code == 200, optout.text
    made = await _campaign(w, await _segment(w))
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "scheduled"
    await _fire(client)
    await _fire(client)  # once in effect
    sent = (await client.get(f"/api/v1/campaigns/{made.json()['id']}",
                             headers=auth(w.merchant))).json()
    assert (sent["status"], sent["audience"], sent["delivered"], sent["skipped_opted_out"],
            sent["skipped_capped"]) == ("sent", 3, 2, 1, 0)
    assert sent["results"]["delivered"] == 2
    for token, expected in zip(w.buyers, (1, 1, 0, 0), strict=True):
        inbox = await _inbox(w, token)
        assert len(inbox) == expected
        if expected:
            assert inbox[0]["title"]["zh-CN"] == "测试小店：新茶到货"
            assert inbox[0]["params"]["campaign_id"] == made.json()["id"]


async def test_a_fan_gets_at_most_two_campaigns_a_week_from_a_shop(client):
    w = await build_world(client, buyers=1)
    await _join(w, w.buyers[0])
    segment = await _segment(w)
    for n in range(3):
        made = await _campaign(w, segment, title=f"活动 {n}")
        assert made.status_code == 201
        await _fire(client)
    listed = (await client.get(f"/api/v1/shops/{w.shop_id}/campaigns",
                               headers=auth(w.merchant))).json()
    assert [(c["title"], c["delivered"], c["skipped_capped"]) for c in listed] == [
        ("活动 2", 0, 1), ("活动 1", 1, 0), ("活动 0", 1, 0)]
    assert len(await _inbox(w, w.buyers[0])) == rules.CAMPAIGN_CAP
    later = await _campaign(w, segment, title="一周后")  # the window has moved on
    await _fire(client, datetime.now(UTC) + timedelta(days=7, minutes=1))
    got = (await client.get(f"/api/v1/campaigns/{later.json()['id']}",
                            headers=auth(w.merchant))).json()
    assert got["delivered"] == 1


async def _count(client: httpx.AsyncClient, table: Any) -> int:
    async with _rt(client).db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_bad_campaigns_are_refused_and_nothing_is_stored(client):
    w = await build_world(client, buyers=1)
    other = await build_world(client, buyers=0, prefix="o-")
    segment = await _segment(w)
    foreign = await _segment(other)
    now = datetime.now(UTC)
    for body, status, code in [
        ({"body": "加我微信 tea2026 私聊更便宜"}, 422, "validation_failed"),  # off the platform
        ({"title": ""}, 422, "validation_failed"),
        ({"send_at": (now - timedelta(hours=1)).isoformat()}, 422, "validation_failed"),
        ({"send_at": (now + timedelta(days=31)).isoformat()}, 422, "validation_failed"),
        ({"send_at": (now + timedelta(hours=1)).isoformat(), "on_session_id": w.session_id},
         422, "validation_failed"),
        ({"on_session_id": w.session_id}, 422, "validation_failed"),  # already live
        ({"segment_id": foreign}, 404, "not_found"),  # another shop's segment
        ({"coupon_id": 987654}, 404, "not_found"),
    ]:
        assert_problem(await _campaign(w, segment, **body), status, code)
    assert_problem(await other.client.post(
        f"/api/v1/shops/{w.shop_id}/campaigns", headers=auth(other.merchant),
        json={"segment_id": segment, "title": "x", "body": "y"}), 403, "forbidden")
    assert (await _count(client, campaigns), await _count(client, campaign_messages),
            await _count(client, notices)) == (0, 0, 0)


async def test_a_campaign_can_wait_for_a_session_to_go_live_or_be_cancelled(client):
    w = await build_world(client, buyers=1, live=False)
    await _join(w, w.buyers[0])
    segment = await _segment(w)
    waiting = await _campaign(w, segment, on_session_id=w.session_id)
    assert waiting.status_code == 201, waiting.text
    cancelled = await _campaign(w, segment, title="改期了",
                                send_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    gone = await client.post(f"/api/v1/campaigns/{cancelled.json()['id']}/cancel",
                             headers=auth(w.merchant))
    assert gone.json()["status"] == "cancelled"
    assert_problem(await client.post(f"/api/v1/campaigns/{cancelled.json()['id']}/cancel",
                                     headers=auth(w.merchant)), 409, "invalid_transition")
    await _fire(client, datetime.now(UTC) + timedelta(hours=3))
    assert await _inbox(w, w.buyers[0]) == []  # not live yet, the other cancelled
    started = await client.post(f"/api/v1/sessions/{w.session_id}/start", headers=auth(w.anchor))
    assert started.status_code == 200, started.text
    await _fire(client)
    inbox = await _inbox(w, w.buyers[0])
    assert [n["params"]["campaign_id"] for n in inbox] == [waiting.json()["id"]]
    async with _rt(client).db.read() as conn:
        kinds = (await conn.execute(select(deadlines.c.ref_id, deadlines.c.cancelled_at).where(
            deadlines.c.kind == "campaign_send").order_by(deadlines.c.ref_id))).all()
    assert [(r.ref_id, r.cancelled_at is not None) for r in kinds] == [
        (waiting.json()["id"], False), (cancelled.json()["id"], True)]


async def test_results_count_opens_and_orders_within_seven_days_to_the_last_campaign(client):
    w = await build_world(client, buyers=2, limit=3)
    for token in w.buyers:
        await _join(w, token)
    segment = await _segment(w)
    first = (await _campaign(w, segment, title="第一次")).json()
    await _fire(client)
    opened = await client.get(f"/c/{first['id']}", headers=auth(w.buyers[0]),
                              follow_redirects=False)
    assert (opened.status_code, opened.headers["location"].startswith("/fan-clubs")) == (303,
                                                                                          True)
    await client.get(f"/c/{first['id']}", headers=auth(w.buyers[0]), follow_redirects=False)

    async def paid(token: str) -> int:
        order = (await w.buy(token)).json()
        done = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(token))
        assert done.status_code == 200, done.text
        return int(order["id"])

    by_first = await paid(w.buyers[0])
    await _rt(client).consumers.drain_all()
    second = (await _campaign(w, segment, title="第二次")).json()
    await _fire(client)
    by_second = await paid(w.buyers[1])
    await _rt(client).consumers.drain_all()

    one = (await client.get(f"/api/v1/campaigns/{first['id']}", headers=auth(w.merchant))).json()
    two = (await client.get(f"/api/v1/campaigns/{second['id']}",
                            headers=auth(w.merchant))).json()
    assert {k: one["results"][k] for k in ("delivered", "opened", "orders", "net_sales")} == {
        "delivered": 2, "opened": 1, "orders": 1, "net_sales": 9900}
    assert one["results"]["attributed_order_ids"] == [by_first]
    # buyer 1's order came after the second campaign reached them: it is the second's
    assert two["results"]["attributed_order_ids"] == [by_second]
    assert_problem(await client.get(f"/api/v1/campaigns/{first['id']}",
                                    headers=auth(w.buyers[0])), 404, "not_found")


async def test_deleting_a_segment_leaves_its_campaigns_as_they_were(client):
    w = await build_world(client, buyers=1)
    await _join(w, w.buyers[0])
    segment = await _segment(w)
    later = await _campaign(w, segment, send_at=(datetime.now(UTC)
                                                 + timedelta(hours=1)).isoformat())
    assert later.status_code == 201, later.text
    gone = await client.delete(f"/api/v1/shops/{w.shop_id}/segments/{segment}",
                               headers=auth(w.merchant))
    assert gone.status_code == 204, gone.text
    await _fire(client, datetime.now(UTC) + timedelta(hours=2))  # sent with the filter it kept
    sent = (await client.get(f"/api/v1/campaigns/{later.json()['id']}",
                             headers=auth(w.merchant))).json()
    assert (sent["status"], sent["delivered"], sent["segment_id"]) == ("sent", 1, segment)
