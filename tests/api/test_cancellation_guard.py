"""A shop's cancellation: a reason from the list; unless the buyer asked, a paid order is
refunded in full and the buyer compensated at once. A promised shipping time that passes
unshipped compensates the buyer by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.world import World, assert_problem, auth, build_world


def _runtime(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _paid(w: World, token: str) -> int:
    order = (await w.buy(token)).json()
    assert (await w.client.post(f"/api/v1/orders/{order['id']}/pay",
                                headers=auth(token))).status_code == 200
    return int(order["id"])


async def _money(w: World, order_id: int, token: str) -> tuple[list[tuple[int, str]], int, int]:
    order = (await w.client.get(f"/api/v1/orders/{order_id}", headers=auth(token))).json()
    return ([(r["amount"], r["reason"]) for r in order["refunds"]], order["refunded_total"],
            order["compensated_total"])


async def test_a_cancellation_the_buyer_did_not_ask_for_is_compensated(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=3)
    out_of_stock, asked, unpaid = await _paid(w, w.buyers[0]), await _paid(w, w.buyers[1]), \
        (await w.buy(w.buyers[2])).json()["id"]
    for order, code in ((out_of_stock, "out_of_stock"), (asked, "buyer_asked"),
                        (unpaid, "suspected_fraud")):
        response = await app_client.post(f"/api/v1/orders/{order}/cancel",
                                         headers=auth(w.merchant), json={"reason_code": code})
        assert response.status_code == 200, response.text

    # ¥99.00 × 30 % = ¥29.70, between the ¥5 floor and the ¥50 cap
    assert await _money(w, out_of_stock, w.buyers[0]) == (
        [(9900, "order_cancelled"), (2970, "compensation")], 9900, 2970)
    assert await _money(w, asked, w.buyers[1]) == ([(9900, "order_cancelled")], 9900, 0)
    assert await _money(w, unpaid, w.buyers[2]) == ([], 0, 0)
    view = (await app_client.get(f"/api/v1/orders/{out_of_stock}",
                                 headers=auth(w.buyers[0]))).json()
    assert view["cancel_reason_words"] == {"zh-CN": "缺货", "en": "out of stock"}


async def test_a_refused_cancellation_changes_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order = await _paid(w, w.buyers[0])
    shipped = await app_client.post(f"/api/v1/orders/{order}/ship", headers=auth(w.merchant),
                                    json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    assert shipped.status_code == 200
    before = (await app_client.get(f"/api/v1/orders/{order}", headers=auth(w.buyers[0]))).json()
    for body, status, code in (({}, 422, "validation_failed"),
                               ({"reason_code": "other"}, 422, "validation_failed"),
                               ({"reason_code": "out_of_stock"}, 409, "invalid_transition")):
        assert_problem(await app_client.post(f"/api/v1/orders/{order}/cancel",
                                             headers=auth(w.merchant), json=body), status, code)
    after = (await app_client.get(f"/api/v1/orders/{order}", headers=auth(w.buyers[0]))).json()
    assert after == before and after["status"] == "shipped"


async def _promise_shipping(w: World, hours: int) -> None:
    response = await w.client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                   json={"kind": "shipping_deadline", "terms": {"hours": hours},
                                         "scope": {"type": "shop"}})
    assert response.status_code == 201, response.text


async def test_a_missed_shipping_promise_compensates_by_itself(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    await _promise_shipping(w, 48)
    late, on_time = await _paid(w, w.buyers[0]), await _paid(w, w.buyers[1])
    assert (await app_client.post(f"/api/v1/orders/{on_time}/ship", headers=auth(w.merchant),
                                  json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
            ).status_code == 200
    runtime = _runtime(app_client)
    now = datetime.now(UTC)
    await runtime.deadlines.run_once(now)  # what was due already (the sale's opening)

    assert await runtime.deadlines.run_once(now + timedelta(hours=47)) == 0
    assert await runtime.deadlines.run_once(now + timedelta(hours=49)) == 1
    assert await runtime.deadlines.run_once(now + timedelta(hours=50)) == 0
    await runtime.consumers.drain_all()

    assert await _money(w, late, w.buyers[0]) == ([(2970, "compensation")], 0, 2970)
    assert await _money(w, on_time, w.buyers[1]) == ([], 0, 0)
    notices = (await app_client.get("/api/v1/me/notices", headers=auth(w.buyers[0]))).json()
    assert [(n["kind"], n["params"]["amount"]) for n in notices["notices"]
            if n["kind"] == "order_compensated"] == [("order_compensated", 2970)]
    assert notices["notices"][0]["body"]["zh-CN"].startswith("商家承诺付款后 48 小时内发货")


async def test_the_trust_record_counts_what_promises_cost_the_shop(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=3)
    orders = [await _paid(w, token) for token in w.buyers]
    for order, code in zip(orders[:2], ("out_of_stock", "buyer_asked"), strict=True):
        await app_client.post(f"/api/v1/orders/{order}/cancel", headers=auth(w.merchant),
                              json={"reason_code": code})
    record = (await app_client.get(f"/api/v1/shops/{w.shop_id}/trust-record")).json()
    assert record == {
        "shop_id": w.shop_id, "orders_paid": 3,
        "shop_cancellations": {"out_of_stock": 1, "buyer_asked": 1},
        "compensations": {"count": 1, "amount": 2970, "by_cause": {"merchant_cancel": 1}},
        "price_protection_refunds": {"count": 0, "amount": 0}}
    assert_problem(await app_client.get("/api/v1/shops/987654321/trust-record"), 404,
                   "not_found")
