"""The compliance engine wired into the platform: chat diversion held back, listings gated,
pre-live scripts, transcript alerts to the console, and the on-air correction log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from tests.api.world import assert_problem, auth, build_world


async def test_chat_that_diverts_buyers_is_held_and_sender_told(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    url = f"/api/v1/sessions/{world.session_id}/chat"

    held = await app_client.post(url, headers=auth(world.buyers[0]),
                                 json={"text": "加我薇❤信 abc12345 私聊更便宜"})
    warning = await app_client.post(url, headers=auth(world.buyers[1]),
                                    json={"text": "谨防诈骗，不要加微信私下交易"})

    assert held.status_code == 201
    assert held.json()["status"] == "held"
    assert "站外" in held.json()["reason"]
    assert [f["family"] for f in held.json()["findings"]] == ["diversion"]
    assert warning.json()["status"] == "shown"
    shown = (await app_client.get(url)).json()
    assert [c["text"] for c in shown] == ["谨防诈骗，不要加微信私下交易"]


async def test_a_listing_with_a_violation_stays_a_draft_until_fixed(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    created = await app_client.post(
        f"/api/v1/shops/{world.shop_id}/products", headers=auth(world.merchant),
        json={"title": "降血压神茶", "description": "全网最低价", "category": "food",
              "skus": [{"name": "罐装", "price": 5000, "stock": 10}]})
    assert created.status_code == 201
    product = created.json()
    assert product["status"] == "draft"
    assert product["compliance"]["violation"] is True
    rules = {f["rule_id"][:3] for f in product["compliance"]["findings"]}
    assert rules == {"MED", "PRC"}

    blocked = await app_client.post(f"/api/v1/products/{product['id']}/publish",
                                    headers=auth(world.merchant))
    body = assert_problem(blocked, 409, "compliance_blocked")
    assert len(body["findings"]) == len(product["compliance"]["findings"])
    lineup = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup", headers=auth(world.merchant),
        json={"sku_id": product["skus"][0]["id"], "live_price": 4000, "stock_allocated": 1,
              "per_buyer_limit": 1, "sale_starts_at": datetime.now(UTC).isoformat(),
              "sale_ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert_problem(lineup, 409, "compliance_blocked")

    fixed = await app_client.patch(f"/api/v1/products/{product['id']}",
                                   headers=auth(world.merchant),
                                   json={"title": "高山绿茶", "description": "2025 年春茶"})
    assert fixed.json()["status"] == "draft"
    published = await app_client.post(f"/api/v1/products/{product['id']}/publish",
                                       headers=auth(world.merchant))
    assert (published.status_code, published.json()["status"]) == (200, "active")
    assert published.json()["compliance"] == {"text": "高山绿茶\n2025 年春茶", "violation": False,
                                              "findings": []}


async def test_editing_a_listing_into_a_violation_unpublishes_it(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    edited = await app_client.patch(f"/api/v1/products/{world.product_id}",
                                    headers=auth(world.merchant),
                                    json={"description": "喝了能治疗失眠"})
    assert edited.json()["status"] == "draft"
    assert edited.json()["compliance"]["violation"] is True


async def test_a_violating_script_blocks_going_live_until_fixed(app_client: httpx.AsyncClient):
    world = await build_world(app_client, live=False, buyers=0)
    scripts = f"/api/v1/sessions/{world.session_id}/scripts"

    bad = await app_client.post(scripts, headers=auth(world.anchor),
                                json={"text": "这款茶能治疗高血压，是全网销量第一"})
    assert bad.status_code == 201
    assert bad.json()["violation"] is True
    assert bad.json()["categories"] == ["food"]
    start = await app_client.post(f"/api/v1/sessions/{world.session_id}/start",
                                  headers=auth(world.anchor))
    assert_problem(start, 409, "compliance_blocked")
    assert (await app_client.get(f"/api/v1/sessions/{world.session_id}")).json()["status"] == \
        "scheduled"

    good = await app_client.post(scripts, headers=auth(world.anchor),
                                 json={"text": "今天给大家带来云南的春茶，口感醇厚，欢迎品尝。"})
    assert (good.json()["violation"], good.json()["findings"]) == (False, [])
    started = await app_client.post(f"/api/v1/sessions/{world.session_id}/start",
                                    headers=auth(world.anchor))
    assert started.json()["status"] == "live"
    log = (await app_client.get(f"/api/v1/sessions/{world.session_id}/oversight",
                                headers=auth(world.merchant))).json()
    assert [s["violation"] for s in log["scripts"]] == [True, False]


async def test_transcript_findings_alert_the_console_and_corrections_are_logged(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, stock=60, allocated=50)  # "最后十件" is false
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    received: list[dict] = []
    arrived = asyncio.Event()

    def on_shop(_channel: str, data: bytes) -> None:
        received.append(orjson.loads(data))
        arrived.set()

    await runtime.broker.subscribe(f"shop:{world.shop_id}", on_shop)
    url = f"/api/v1/sessions/{world.session_id}/transcript"

    clean = await app_client.post(url, headers=auth(world.anchor),
                                  json={"text": "这款红茶是云南临沧的春茶"})
    flagged = await app_client.post(url, headers=auth(world.anchor),
                                    json={"text": "最后十件了，下播就涨价", "source": "whisper"})

    assert clean.json()["findings"] == []
    segment = flagged.json()
    assert segment["violation"] is True
    assert [(f["rule_id"], f["severity"]) for f in segment["findings"]] == [
        ("FC-003", "violation"), ("PRC-004", "warning")]  # no price rise is scheduled: evidence
    assert segment["category"] == "food"
    assert segment["item_id"] == world.item_id
    await asyncio.wait_for(arrived.wait(), 5)
    assert [m["type"] for m in received] == ["compliance_alert"]
    assert received[0]["segment"]["id"] == segment["id"]

    correction = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/corrections", headers=auth(world.anchor),
        json={"text": "更正：库存还有 50 件，下播后价格不变", "segment_id": segment["id"]})
    wrong_segment = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/corrections", headers=auth(world.anchor),
        json={"text": "更正", "segment_id": 99999})

    assert correction.status_code == 201
    assert_problem(wrong_segment, 404, "not_found")
    log = (await app_client.get(f"/api/v1/sessions/{world.session_id}/oversight",
                                headers=auth(world.merchant))).json()
    assert [s["text"] for s in log["segments"]] == [
        "这款红茶是云南临沧的春茶", "最后十件了，下播就涨价"]
    assert [(c["segment_id"], c["text"]) for c in log["corrections"]] == [
        (segment["id"], "更正：库存还有 50 件，下播后价格不变")]


async def test_oversight_is_for_the_shop_only(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    for path, body in (("transcript", {"text": "你好"}), ("scripts", {"text": "你好"}),
                       ("corrections", {"text": "更正内容"})):
        response = await app_client.post(f"/api/v1/sessions/{world.session_id}/{path}",
                                         headers=auth(world.buyers[0]), json=body)
        assert_problem(response, 403, "forbidden")
    assert_problem(await app_client.get(f"/api/v1/sessions/{world.session_id}/oversight",
                                        headers=auth(world.buyers[0])), 403, "forbidden")
    empty = await app_client.post(f"/api/v1/sessions/{world.session_id}/transcript",
                                  headers=auth(world.anchor), json={"text": "  "})
    assert_problem(empty, 422, "validation_failed")


async def test_claims_in_chat_are_held_from_staff_but_not_from_viewers(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    url = f"/api/v1/sessions/{world.session_id}/chat"

    viewer = await app_client.post(url, headers=auth(world.buyers[0]),
                                   json={"text": "这是我喝过最好的茶"})
    anchor = await app_client.post(url, headers=auth(world.anchor),
                                   json={"text": "这是全网最好的茶，喝了能降血压"})

    assert viewer.json()["status"] == "shown"
    assert anchor.json()["status"] == "held"
    assert {f["family"] for f in anchor.json()["findings"]} == {"absolute", "medical"}
    shown = (await app_client.get(url)).json()
    assert [c["text"] for c in shown] == ["这是我喝过最好的茶"]
