"""Buyer notices (站内通知), written by the `notices` event consumer: a buyer hears of a
cancellation by the shop (with reason and refund), of shipping and of expiry without asking;
only they see them; handling the same events again adds nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from livepledge.infra.models import consumer_checkpoints
from tests.api.world import assert_problem, auth, build_world


def _runtime(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _caught_up(client: httpx.AsyncClient) -> None:
    await _runtime(client).consumers.drain_all()


async def _inbox(client: httpx.AsyncClient, token: str, query: str = "") -> dict:
    response = await client.get(f"/api/v1/me/notices{query}", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_buyer_is_told_of_a_cancellation_and_its_refund(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    order = (await w.buy(w.buyers[0])).json()
    url = f"/api/v1/orders/{order['id']}"
    assert (await app_client.post(url + "/pay", headers=auth(w.buyers[0]))).status_code == 200
    assert (await app_client.post(url + "/cancel", headers=auth(w.merchant),
                                  json={"reason_code": "other",
                                        "reason": "仓库破损，无法发货"})).status_code == 200
    await _caught_up(app_client)

    inbox = await _inbox(app_client, w.buyers[0])
    assert inbox["unread"] == 1
    [notice] = inbox["notices"]
    assert (notice["kind"], notice["order_id"], notice["session_id"], notice["read"]) == (
        "order_cancelled", order["id"], w.session_id, False)
    assert notice["title"] == {"zh-CN": f"订单 #{order['id']} 已被商家取消",
                               "en": f"Order #{order['id']} was cancelled by the shop"}
    assert notice["body"] == {
        "zh-CN": "原因：其他（仓库破损，无法发货），已原路退款 ¥99.00，并已赔付你 ¥29.70。",
        "en": "Reason: other (仓库破损，无法发货); ¥99.00 refunded to your payment method, and "
              "¥29.70 paid to you in compensation."}
    assert await _inbox(app_client, w.buyers[1]) == {"unread": 0, "notices": []}
    # the shop is told that the compensation is charged to it (docs/money.md), nothing else
    merchant = await _inbox(app_client, w.merchant)
    assert [(n["kind"], n["params"]["amount"]) for n in merchant["notices"]] == [
        ("deposit_deducted", 2970)]


async def test_shipping_and_expiry_are_told_and_own_cancellations_are_not(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1, limit=3)
    shipped = (await w.buy(w.buyers[0])).json()
    url = f"/api/v1/orders/{shipped['id']}"
    await app_client.post(url + "/pay", headers=auth(w.buyers[0]))
    assert (await app_client.post(url + "/ship", headers=auth(w.merchant), json={
        "carrier": "顺丰速运", "tracking_number": "SF1234567890"})).status_code == 200
    mine = (await w.buy(w.buyers[0])).json()
    assert (await app_client.post(f"/api/v1/orders/{mine['id']}/cancel",
                                  headers=auth(w.buyers[0]), json={})).status_code == 200
    await _caught_up(app_client)

    inbox = await _inbox(app_client, w.buyers[0])
    assert [(n["kind"], n["order_id"]) for n in inbox["notices"]] == [
        ("order_shipped", shipped["id"])]
    assert inbox["notices"][0]["body"]["zh-CN"] == "顺丰速运 运单号 SF1234567890"


async def test_handling_the_events_again_adds_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order = (await w.buy(w.buyers[0])).json()
    url = f"/api/v1/orders/{order['id']}"
    await app_client.post(url + "/pay", headers=auth(w.buyers[0]))
    await app_client.post(url + "/cancel", headers=auth(w.merchant),
                          json={"reason_code": "out_of_stock",
                                            "reason": "缺货无法发货"})
    await _caught_up(app_client)
    before = await _inbox(app_client, w.buyers[0])
    assert [n["kind"] for n in before["notices"]] == ["order_cancelled"]

    runtime = _runtime(app_client)
    async with runtime.db.write() as uow:  # as if the checkpoint had never been written
        await uow.conn.execute(update(consumer_checkpoints).values(last_tx=0, last_id=0))
    assert await runtime.consumers.drain_all() > 0
    assert await _inbox(app_client, w.buyers[0]) == before


async def test_marking_read(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2, limit=3)
    for _ in range(3):
        order = (await w.buy(w.buyers[0])).json()
        url = f"/api/v1/orders/{order['id']}"
        await app_client.post(url + "/pay", headers=auth(w.buyers[0]))
        assert (await app_client.post(url + "/cancel", headers=auth(w.merchant),
                                      json={"reason_code": "out_of_stock",
                                            "reason": "缺货无法发货"})).status_code == 200
    other = (await w.buy(w.buyers[1])).json()
    await app_client.post(f"/api/v1/orders/{other['id']}/pay", headers=auth(w.buyers[1]))
    await app_client.post(f"/api/v1/orders/{other['id']}/cancel", headers=auth(w.merchant),
                          json={"reason_code": "out_of_stock",
                                            "reason": "缺货无法发货"})
    await _caught_up(app_client)
    ids = [n["id"] for n in (await _inbox(app_client, w.buyers[0]))["notices"]]
    theirs = (await _inbox(app_client, w.buyers[1]))["notices"][0]["id"]

    marked = await app_client.post("/api/v1/me/notices/read", headers=auth(w.buyers[0]),
                                   json={"ids": [ids[0], theirs]})
    assert marked.json() == {"unread": 2}
    assert (await _inbox(app_client, w.buyers[1]))["unread"] == 1  # not theirs to mark
    unread = await _inbox(app_client, w.buyers[0], "?unread_only=true")
    assert [n["id"] for n in unread["notices"]] == ids[1:]
    assert (await app_client.post("/api/v1/me/notices/read", headers=auth(w.buyers[0]),
                                  json={})).json() == {"unread": 0}
    assert_problem(await app_client.post("/api/v1/me/notices/read", headers=auth(w.buyers[0]),
                                         json={"ids": [0]}), 422, "validation_failed")
    assert_problem(await app_client.get("/api/v1/me/notices"), 401, "unauthenticated")
