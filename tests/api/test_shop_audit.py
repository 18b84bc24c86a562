"""The integrity audit on a shop's own data, from the merchant console."""

from __future__ import annotations

import httpx

from tests.api.world import assert_problem, auth, build_world


async def test_own_data_brushing_is_found_with_its_buyer(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=2)
    me = (await app_client.get("/api/v1/me", headers=auth(world.buyers[0]))).json()
    for _ in range(3):  # one buyer, three orders within the hour: orders / buyers = 3
        order = (await world.buy(world.buyers[0])).json()
        paid = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                     headers=auth(world.buyers[0]))
        assert paid.status_code == 200
    await world.buy(world.buyers[1])  # unpaid: not part of gross GMV

    # Continuous windows (step 0): the window ending at the third order holds only buyer 0's
    # orders.  (On whole-second starts the answer depends on whether a second boundary falls
    # between the third and the fourth order, so this test does not use them.)
    report = await app_client.get(f"/api/v1/shops/{world.shop_id}/audit?step_seconds=0",
                                  headers=auth(world.merchant))

    assert report.status_code == 200
    data = report.json()
    assert data["orders"]["rows"] == 4
    shops = data["brushing"]["shops"]
    assert [(s["shop_id"], s["buyer_ids"]) for s in shops] == [
        (str(world.shop_id), str(me["id"]))]
    assert data["sales"]["summary"]["gross_fen"] == 3 * 9900


async def test_an_honest_shop_has_no_brushing_and_the_page_is_self_contained(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=1, buyers=3)
    for buyer in world.buyers:
        order = (await world.buy(buyer)).json()
        await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(buyer))

    data = (await app_client.get(f"/api/v1/shops/{world.shop_id}/audit",
                                 headers=auth(world.merchant))).json()
    page = await app_client.get(f"/api/v1/shops/{world.shop_id}/audit/report.html",
                                headers=auth(world.merchant))

    assert data["brushing"]["shops"] == []
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "src=\"http" not in page.text and "href=\"http" not in page.text


async def test_only_the_shop_sees_its_audit(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    assert_problem(await app_client.get(f"/api/v1/shops/{world.shop_id}/audit",
                                        headers=auth(world.buyers[0])), 403, "forbidden")
    assert_problem(await app_client.get(f"/api/v1/shops/{world.shop_id}/audit?threshold=1",
                                        headers=auth(world.merchant)), 422, "validation_failed")
    empty = await app_client.get(f"/api/v1/shops/{world.shop_id}/audit",
                                 headers=auth(world.merchant))
    assert empty.json()["orders"]["rows"] == 0


async def test_own_refunds_count_against_gross(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=1, buyers=3)
    orders = []
    for buyer in world.buyers:
        order = (await world.buy(buyer)).json()
        await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(buyer))
        orders.append(order)
    refunded = await app_client.post(f"/api/v1/orders/{orders[0]['id']}/cancel",
                                     headers=auth(world.merchant),
                                     json={"reason_code": "out_of_stock",
                                           "reason": "缺货，全额退款"})
    assert refunded.json()["status"] == "cancelled"

    summary = (await app_client.get(f"/api/v1/shops/{world.shop_id}/audit",
                                    headers=auth(world.merchant))).json()["sales"]["summary"]

    assert (summary["gross_fen"], summary["refunded_fen"], summary["net_fen"]) == (
        3 * 9900, 9900, 2 * 9900)


async def test_step_seconds_is_checked_and_reported(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=1)
    for _ in range(3):
        order = (await world.buy(world.buyers[0])).json()
        await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(world.buyers[0]))
    base = f"/api/v1/shops/{world.shop_id}/audit"

    official = (await app_client.get(base, headers=auth(world.merchant))).json()
    continuous = (await app_client.get(f"{base}?step_seconds=0",
                                       headers=auth(world.merchant))).json()

    assert official["brushing"]["params"]["step_seconds"] == "1"
    assert continuous["brushing"]["params"]["step_seconds"] == "0"
    assert len(official["brushing"]["shops"]) == len(continuous["brushing"]["shops"]) == 1
    assert_problem(await app_client.get(f"{base}?step_seconds=-1", headers=auth(world.merchant)),
                   422, "validation_failed")
    assert_problem(await app_client.get(f"{base}?step_seconds=86401",
                                        headers=auth(world.merchant)), 422, "validation_failed")


async def test_report_names_the_shop_its_sessions_and_anchors(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=1, buyers=2)
    for buyer in world.buyers:
        order = (await world.buy(buyer)).json()
        await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(buyer))
    base = f"/api/v1/shops/{world.shop_id}/audit"

    data = (await app_client.get(base, headers=auth(world.merchant))).json()
    page = (await app_client.get(f"{base}/report.html", headers=auth(world.merchant))).text

    assert data["names"] == {"shop": {str(world.shop_id): "测试小店"},
                             "session": {str(world.session_id): "红茶专场"},
                             "anchor": {str(world.anchor_id): "anchor"}}
    assert data["generated_for"] == "店铺 / shop 测试小店 · Livepledge"
    assert "店铺 / shop 测试小店 · Livepledge" in page and "shop 1" not in page
    assert f"红茶专场 ({world.session_id})" in page
    assert f"anchor ({world.anchor_id})" in page
    # All orders fell on one day: the daily GMV chart still draws its point (two series).
    daily = page[page.index("Daily GMV"):]
    daily = daily[:daily.index("</svg>")]
    assert daily.count("<circle") == 2
