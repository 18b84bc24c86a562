"""The after-sales contract used by outside checks, and every refusal of the issue's "Bad input"
list: a 4xx problem+json that changes nothing (orders, cases and their records, the shop's
queue, stock), including refusals a frozen promise forbids."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.api.aftersales_support import (
    clock_ahead,
    declare,
    open_case,
    paid,
    snapshot,
)
from tests.api.world import ADDRESS, assert_problem, auth, build_world

CASE_FIELDS = {"id", "type", "status", "opened_at", "decided_at", "outcome", "deadline"}


async def test_the_order_shows_its_cases(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order_id = await paid(w, w.buyers[0], ship=True, receive=True)
    case = (await open_case(w, w.buyers[0], order_id, type="return_refund",
                            reason="quality")).json()
    order = (await app_client.get(f"/api/v1/orders/{order_id}",
                                  headers=auth(w.buyers[0]))).json()
    assert len(order["cases"]) == 1
    shown = order["cases"][0]
    assert set(shown) >= CASE_FIELDS
    assert {k: shown[k] for k in CASE_FIELDS} == {
        "id": case["id"], "type": "return_refund", "status": "awaiting_merchant",
        "opened_at": case["opened_at"], "decided_at": None, "outcome": None,
        "deadline": case["deadline"]}
    refused = (await app_client.post(f"/api/v1/cases/{case['id']}/merchant",
                                     headers=auth(w.merchant),
                                     json={"action": "refuse", "text": "商品已使用过了"})).json()
    shown = (await app_client.get(f"/api/v1/orders/{order_id}",
                                  headers=auth(w.merchant))).json()["cases"][0]
    assert (shown["status"], shown["decided_at"], shown["deadline"]) == (
        "refused", refused["decided_at"], refused["deadline"])
    assert shown["decided_at"] is not None and shown["deadline"] is not None


async def test_the_case_api_is_documented_with_examples(app_client: httpx.AsyncClient):
    doc = (await app_client.get("/openapi.json")).json()
    paths = doc["paths"]
    opening = paths["/api/v1/orders/{order_id}/cases"]["post"]
    examples = opening["requestBody"]["content"]["application/json"]["examples"]
    assert {"no_reason_return", "refund_unshipped", "missing_gift", "counterfeit"} <= set(examples)
    assert opening["responses"]["201"]["content"]["application/json"]["example"]["status"]
    assert "409" in opening["responses"]
    for path, method in [("/api/v1/cases/{case_id}/merchant", "post"),
                         ("/api/v1/cases/{case_id}/buyer", "post")]:
        op = paths[path][method]
        assert op["requestBody"]["content"]["application/json"]["examples"]
        assert "409" in op["responses"]
        assert op["responses"]["200"]["content"]["application/json"]["example"]["record"]
    assert paths["/api/v1/cases/{case_id}"]["get"]["responses"]["200"]["content"][
        "application/json"]["example"]["deadline"]


async def test_bad_input_is_refused_and_changes_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2, limit=2)
    other = await build_world(app_client, buyers=0, prefix="o-")
    buyer, stranger = w.buyers
    received = await paid(w, buyer, ship=True, receive=True)
    unpaid = (await w.buy(buyer)).json()["id"]
    orders = [received, unpaid]
    before = await snapshot(w, buyer, orders)

    refusals = [
        # someone else's order
        (stranger, received, {"type": "return_refund", "reason": "quality"}, 404, "not_found"),
        # an order still pending payment
        (buyer, unpaid, {"type": "refund_only", "reason": "not_shipped"}, 422,
         "validation_failed"),
        (buyer, unpaid, {"type": "return_refund", "reason": "quality"}, 422,
         "validation_failed"),
        # amounts above what was paid, more units than bought
        (buyer, received, {"type": "return_refund", "reason": "quality", "amount": 9901}, 422,
         "validation_failed"),
        (buyer, received, {"type": "return_refund", "reason": "quality", "quantity": 2}, 422,
         "validation_failed"),
        # a type the order's state or promises do not allow
        (buyer, received, {"type": "refund_only", "reason": "not_shipped"}, 422,
         "validation_failed"),
        (buyer, received, {"type": "counterfeit", "reason": "counterfeit"}, 422,
         "validation_failed"),
        (buyer, received, {"type": "promise_breach", "reason": "promise", "promise_id": 1},
         422, "validation_failed"),
        # unknown fields and types
        (buyer, received, {"type": "refund", "reason": "quality"}, 422, "validation_failed"),
        (buyer, received, {"type": "return_refund", "reason": "quality", "extra": 1}, 422,
         "validation_failed"),
    ]
    for token, order_id, body, status, code in refusals:
        assert_problem(await open_case(w, token, order_id, **body), status, code)
    # past every window: a no-reason return eight days after receipt
    with clock_ahead(timedelta(days=8)):
        assert_problem(await open_case(w, buyer, received, type="return_refund",
                                       reason="no_reason"), 422, "validation_failed")
    assert await snapshot(w, buyer, orders) == before

    # a second open case on the same units
    case = (await open_case(w, buyer, received, type="return_refund", reason="quality")).json()
    url = f"/api/v1/cases/{case['id']}"
    before = await snapshot(w, buyer, orders, [case["id"]])
    assert_problem(await open_case(w, buyer, received, type="return_refund",
                                   reason="no_reason"), 409, "case_open")
    assert_problem(await open_case(w, buyer, received, type="refund_only",
                                   reason="not_received"), 422, "validation_failed")
    # a merchant acting on another shop's case (it does not exist for them)
    for path, body in [("/merchant", {"action": "approve", "return_address": ADDRESS}),
                       ("/merchant", {"action": "refuse", "text": "不同意退货的理由"}),
                       ("/return-received", None)]:
        assert_problem(await app_client.post(url + path, headers=auth(other.merchant),
                                             json=body), 404, "not_found")
    assert_problem(await app_client.get(url, headers=auth(other.merchant)), 404, "not_found")
    assert_problem(await app_client.get(url, headers=auth(stranger)), 404, "not_found")
    # the buyer acting as the shop, the shop acting as the buyer
    assert_problem(await app_client.post(url + "/merchant", headers=auth(buyer),
                                         json={"action": "approve"}), 403, "forbidden")
    assert_problem(await app_client.post(url + "/buyer", headers=auth(w.merchant),
                                         json={"action": "withdraw"}), 404, "not_found")
    # wrong turn, bad amounts, no reason, no address
    for path, body, status, code in [
            ("/merchant", {"action": "refuse", "text": "no"}, 422, "validation_failed"),
            ("/merchant", {"action": "approve"}, 422, "validation_failed"),
            ("/merchant", {"action": "offer", "amount": 9900}, 422, "validation_failed"),
            ("/merchant", {"action": "offer"}, 422, "validation_failed"),
            ("/return-received", None, 409, "invalid_transition")]:
        assert_problem(await app_client.post(url + path, headers=auth(w.merchant), json=body),
                       status, code)
    for action in ("accept_offer", "decline_offer", "ship_return"):
        assert_problem(await app_client.post(url + "/buyer", headers=auth(buyer),
                                             json={"action": action, "carrier": "中通快递",
                                                   "tracking_number": "ZT1234"}),
                       409, "invalid_transition")
    assert_problem(await app_client.get(f"/api/v1/shops/{w.shop_id}/cases",
                                        headers=auth(other.merchant)), 403, "forbidden")
    assert await snapshot(w, buyer, orders, [case["id"]]) == before


async def test_refusals_that_contradict_a_frozen_promise_are_not_allowed(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=3, limit=2)
    gift = await declare(w, "gift", {"name": "玻璃茶杯", "quantity": 1})
    fast = await declare(w, "shipping_deadline", {"hours": 24})
    no_gift = await paid(w, w.buyers[0], ship=True, receive=True)  # shipped without the gift
    with_gift = await paid(w, w.buyers[1], ship=True, receive=True, gift=True)
    late = (await w.buy(w.buyers[2])).json()["id"]
    assert (await app_client.post(f"/api/v1/orders/{late}/pay",
                                  headers=auth(w.buyers[2]))).status_code == 200
    with clock_ahead(timedelta(hours=30)):  # shipped six hours after the promised 24
        assert (await app_client.post(f"/api/v1/orders/{late}/ship", headers=auth(w.merchant),
                                      json={"carrier": "顺丰速运",
                                            "tracking_number": "SF5555"})).status_code == 200
    received = await paid(w, w.buyers[2], ship=True, receive=True)

    async def refuse(case_id: int) -> httpx.Response:
        return await app_client.post(f"/api/v1/cases/{case_id}/merchant",
                                     headers=auth(w.merchant),
                                     json={"action": "refuse", "text": "我们已经按承诺履行"})

    forbidden = [
        (w.buyers[0], no_gift, {"type": "promise_breach", "reason": "promise",
                                "promise_id": gift, "amount": 1000}),
        (w.buyers[2], late, {"type": "promise_breach", "reason": "promise",
                             "promise_id": fast, "amount": 500}),
        (w.buyers[2], received, {"type": "return_refund", "reason": "no_reason"}),
    ]
    for token, order_id, body in forbidden:
        case = (await open_case(w, token, order_id, **body))
        assert case.status_code == 201, case.text
        case_id = case.json()["id"]
        before = await snapshot(w, token, [order_id], [case_id])
        assert_problem(await refuse(case_id), 409, "refusal_not_allowed")
        assert await snapshot(w, token, [order_id], [case_id]) == before

    # the shipment recorded the gift: the shop may refuse, and the buyer may escalate
    case = (await open_case(w, w.buyers[1], with_gift, type="promise_breach", reason="promise",
                            promise_id=gift, amount=1000)).json()
    refused = await refuse(case["id"])
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"
