"""After-sales cases through the API: every transition, the clock deciding for the side that
answered, refusals a promise forbids, and bad input changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.world import ADDRESS, World, assert_problem, auth, build_world

SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}


def _runtime(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _paid(w: World, token: str, *, ship: bool = False, receive: bool = False) -> int:
    order = (await w.buy(token)).json()
    url = f"/api/v1/orders/{order['id']}"
    assert (await w.client.post(url + "/pay", headers=auth(token))).status_code == 200
    if ship:
        assert (await w.client.post(url + "/ship", headers=auth(w.merchant),
                                    json=SHIP)).status_code == 200
    if receive:
        assert (await w.client.post(url + "/receive", headers=auth(token))).status_code == 200
    return int(order["id"])


async def _open(w: World, token: str, order_id: int, **body: object) -> httpx.Response:
    return await w.client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(token),
                               json=body)


async def _order(w: World, order_id: int, token: str) -> dict:  # type: ignore[type-arg]
    return (await w.client.get(f"/api/v1/orders/{order_id}", headers=auth(token))).json()


async def test_a_refund_before_shipping_is_immediate(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order_id = await _paid(w, w.buyers[0])
    opened = await _open(w, w.buyers[0], order_id, type="refund_only", reason="not_shipped")
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["status"], case["refunded"], case["deadline"]) == ("closed", 9900, None)
    assert [e["kind"] for e in case["record"]] == ["opened", "refunded"]
    order = await _order(w, order_id, w.buyers[0])
    assert (order["status"], order["refunded_total"]) == ("cancelled", 9900)
    assert [(c["id"], c["status"]) for c in order["cases"]] == [(case["id"], "closed")]
    assert (await w.item())["stock_remaining"] == 5  # nothing left to ship: the unit is back


async def test_a_no_reason_return_cannot_be_refused_and_goes_round_trip(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order_id = await _paid(w, w.buyers[0], ship=True, receive=True)
    case = (await _open(w, w.buyers[0], order_id, type="return_refund", reason="no_reason",
                        text="不喜欢")).json()
    assert case["status"] == "awaiting_merchant" and case["deadline"] is not None
    url = f"/api/v1/cases/{case['id']}"

    refused = await app_client.post(url + "/merchant", headers=auth(w.merchant),
                                    json={"action": "refuse", "text": "商品已拆封不退"})
    assert_problem(refused, 409, "refusal_not_allowed")
    assert (await app_client.get(url, headers=auth(w.buyers[0]))).json() == case

    steps = []
    approved = await app_client.post(url + "/merchant", headers=auth(w.merchant), json={
        "action": "approve", "return_address": ADDRESS})
    steps.append(approved.json())
    shipped = await app_client.post(url + "/buyer", headers=auth(w.buyers[0]), json={
        "action": "ship_return", "carrier": "中通快递", "tracking_number": "ZT998877"})
    steps.append(shipped.json())
    received = await app_client.post(url + "/return-received", headers=auth(w.merchant))
    steps.append(received.json())
    assert [(s["status"], s["deadline"] is not None) for s in steps] == [
        ("awaiting_return", True), ("return_shipped", True), ("closed", False)]
    assert steps[-1]["refunded"] == 9900
    assert [e["kind"] for e in steps[-1]["record"]] == [
        "opened", "return_address", "return_shipped", "return_received", "refunded"]
    order = await _order(w, order_id, w.buyers[0])
    assert (order["returned_quantity"], order["refunded_total"]) == (1, 9900)
    merchant_view = (await app_client.get(url, headers=auth(w.merchant))).json()
    assert merchant_view["record"] == steps[-1]["record"]  # the same record for both sides


async def test_when_the_shop_lets_the_deadline_pass_the_buyer_wins(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    not_received = await _paid(w, w.buyers[0], ship=True)
    returned = await _paid(w, w.buyers[1], ship=True, receive=True)
    first = (await _open(w, w.buyers[0], not_received, type="refund_only",
                         reason="not_received")).json()
    second = (await _open(w, w.buyers[1], returned, type="return_refund",
                          reason="quality")).json()
    runtime = _runtime(app_client)
    await runtime.consumers.drain_all()  # the ledger has set the orders' escrow releases
    now = datetime.now(UTC)
    await runtime.deadlines.run_once(now)  # what was due already (the sale's opening)
    assert await runtime.deadlines.run_once(now + timedelta(hours=47)) == 0
    assert await runtime.deadlines.run_once(now + timedelta(hours=49)) == 2
    # only the received order's escrow release (7 days after receipt; docs/money.md)
    assert await runtime.deadlines.run_once(now + timedelta(hours=200)) == 1

    for case, token in ((first, w.buyers[0]), (second, w.buyers[1])):
        after = (await app_client.get(f"/api/v1/cases/{case['id']}", headers=auth(token))).json()
        assert (after["status"], after["refunded"]) == ("closed", 9900)
        assert [e["actor"] for e in after["record"]][-2:] == ["platform", "platform"]


async def test_a_partial_offer_accepted_or_declined(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    orders = [await _paid(w, t, ship=True, receive=True) for t in w.buyers]
    cases = [(await _open(w, t, o, type="return_refund", reason="quality")).json()
             for t, o in zip(w.buyers, orders, strict=True)]
    for case in cases:
        offered = await app_client.post(f"/api/v1/cases/{case['id']}/merchant",
                                        headers=auth(w.merchant),
                                        json={"action": "offer", "amount": 3000,
                                              "text": "轻微瑕疵"})
        assert offered.json()["status"] == "awaiting_buyer"
    accepted = await app_client.post(f"/api/v1/cases/{cases[0]['id']}/buyer",
                                     headers=auth(w.buyers[0]), json={"action": "accept_offer"})
    declined = await app_client.post(f"/api/v1/cases/{cases[1]['id']}/buyer",
                                     headers=auth(w.buyers[1]), json={"action": "decline_offer"})
    assert (accepted.json()["status"], accepted.json()["refunded"]) == ("closed", 3000)
    assert (declined.json()["status"], declined.json()["offered_amount"]) == (
        "awaiting_merchant", None)
    assert (await _order(w, orders[0], w.buyers[0]))["refunded_total"] == 3000


async def test_counterfeit_upheld_owes_n_times_on_top(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    assert (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                  json={"kind": "counterfeit_compensation",
                                        "terms": {"multiple": 3},
                                        "scope": {"type": "shop"}})).status_code == 201
    order_id = await _paid(w, w.buyers[0], ship=True, receive=True)
    case = (await _open(w, w.buyers[0], order_id, type="counterfeit", reason="counterfeit",
                        text="鉴定为假")).json()
    decided = (await app_client.post(f"/api/v1/cases/{case['id']}/merchant",
                                     headers=auth(w.merchant), json={"action": "approve"})).json()
    assert (decided["status"], decided["refunded"], decided["awarded"]) == ("closed", 9900, 29700)


async def test_bad_cases_are_refused_and_store_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2, limit=2)
    other = await build_world(app_client, buyers=0, prefix="o-")
    mine = await _paid(w, w.buyers[0], ship=True, receive=True)
    unpaid = (await w.buy(w.buyers[0])).json()["id"]
    refusals = [
        (w.buyers[1], mine, {"type": "return_refund", "reason": "quality"}, 404, "not_found"),
        (w.buyers[0], unpaid, {"type": "refund_only", "reason": "not_shipped"}, 422,
         "validation_failed"),
        (w.buyers[0], mine, {"type": "return_refund", "reason": "quality", "amount": 9901},
         422, "validation_failed"),
        (w.buyers[0], mine, {"type": "return_refund", "reason": "quality", "quantity": 2},
         422, "validation_failed"),
        (w.buyers[0], mine, {"type": "refund_only", "reason": "not_shipped"}, 422,
         "validation_failed"),
        (w.buyers[0], mine, {"type": "counterfeit", "reason": "counterfeit"}, 422,
         "validation_failed"),
        (w.buyers[0], mine, {"type": "promise_breach", "reason": "promise", "promise_id": 1},
         422, "validation_failed"),
    ]
    for token, order_id, body, status, code in refusals:
        assert_problem(await _open(w, token, order_id, **body), status, code)
    assert (await _order(w, mine, w.buyers[0]))["cases"] == []

    case = (await _open(w, w.buyers[0], mine, type="return_refund", reason="quality")).json()
    assert_problem(await _open(w, w.buyers[0], mine, type="return_refund", reason="quality"),
                   409, "case_open")
    before = (await app_client.get(f"/api/v1/cases/{case['id']}", headers=auth(w.buyers[0])))
    assert_problem(await app_client.post(f"/api/v1/cases/{case['id']}/merchant",
                                         headers=auth(other.merchant),
                                         json={"action": "approve"}), 404, "not_found")
    assert_problem(await app_client.post(f"/api/v1/cases/{case['id']}/merchant",
                                         headers=auth(w.merchant),
                                         json={"action": "refuse", "text": "no"}), 422,
                   "validation_failed")
    assert_problem(await app_client.post(f"/api/v1/cases/{case['id']}/return-received",
                                         headers=auth(w.merchant)), 409, "invalid_transition")
    after = (await app_client.get(f"/api/v1/cases/{case['id']}", headers=auth(w.buyers[0])))
    assert after.json() == before.json()
    queue = (await app_client.get(f"/api/v1/shops/{w.shop_id}/cases",
                                  headers=auth(w.merchant))).json()
    assert [c["id"] for c in queue] == [case["id"]]
    assert_problem(await app_client.get(f"/api/v1/shops/{w.shop_id}/cases",
                                        headers=auth(other.merchant)), 403, "forbidden")


async def test_the_queue_filters_by_session_and_by_anchor(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order_id = await _paid(w, w.buyers[0], ship=True)
    case = (await _open(w, w.buyers[0], order_id, type="return_refund", reason="quality")).json()
    base = f"/api/v1/shops/{w.shop_id}/cases"

    async def ids(query: str) -> list[int]:
        answer = await app_client.get(base + query, headers=auth(w.merchant))
        assert answer.status_code == 200, answer.text
        return [c["id"] for c in answer.json()]

    assert await ids(f"?session_id={w.session_id}") == [case["id"]]
    assert await ids(f"?session_id={w.session_id + 1000}") == []
    assert await ids(f"?anchor_id={w.anchor_id}") == [case["id"]]
    assert await ids(f"?anchor_id={w.anchor_id}&session_id={w.session_id}") == [case["id"]]
    assert await ids("?anchor_id=987654") == []  # hosted nothing here
    assert_problem(await app_client.get(base + "?session_id=0", headers=auth(w.merchant)),
                   422, "validation_failed")
