"""Pay, ship, receive, cancel and expire: transitions, roles, and units given back exactly once."""

from __future__ import annotations

from datetime import timedelta

import httpx

from livepledge.orders.service import expire_unpaid
from tests.api.world import assert_problem, auth, build_world


async def _order(world, buyer: int = 0, quantity: int = 1) -> dict:  # type: ignore[no-untyped-def]
    response = await world.buy(world.buyers[buyer], quantity=quantity)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_pay_ship_receive(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}"

    paid = await app_client.post(url + "/pay", headers=auth(world.buyers[0]))
    shipped = await app_client.post(url + "/ship", headers=auth(world.merchant),
                                    json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    received = await app_client.post(url + "/receive", headers=auth(world.buyers[0]))

    assert paid.json()["status"] == "paid"
    assert (shipped.json()["status"], shipped.json()["tracking_number"]) == (
        "shipped", "SF1234567890")
    assert received.json()["status"] == "received"


async def test_paying_twice_charges_once(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}/pay"

    first = await app_client.post(url, headers=auth(world.buyers[0]))
    second = await app_client.post(url, headers=auth(world.buyers[0]))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["paid_at"] == second.json()["paid_at"]


async def test_declined_payment_leaves_the_order_unpaid(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)

    response = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                     headers=auth(world.buyers[0]),
                                     json={"sandbox_outcome": "decline"})

    assert_problem(response, 402, "payment_failed")
    current = await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(world.buyers[0]))
    assert current.json()["status"] == "pending_payment"


async def test_invalid_transitions_are_409_and_change_nothing(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}"

    ship_unpaid = await app_client.post(url + "/ship", headers=auth(world.merchant),
                                        json={"carrier": "顺丰", "tracking_number": "SF0001"})
    receive_unshipped = await app_client.post(url + "/receive", headers=auth(world.buyers[0]))

    assert_problem(ship_unpaid, 409, "invalid_transition")
    assert_problem(receive_unshipped, 409, "invalid_transition")
    current = await app_client.get(url, headers=auth(world.buyers[0]))
    assert current.json()["status"] == "pending_payment"
    assert current.json()["carrier"] is None


async def test_only_the_shop_ships_and_only_the_buyer_pays(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}"

    merchant_pays = await app_client.post(url + "/pay", headers=auth(world.merchant))
    await app_client.post(url + "/pay", headers=auth(world.buyers[0]))
    buyer_ships = await app_client.post(url + "/ship", headers=auth(world.buyers[0]),
                                        json={"carrier": "顺丰", "tracking_number": "SF0001"})

    assert_problem(merchant_pays, 403, "forbidden")
    assert_problem(buyer_ships, 403, "forbidden")
    assert (await app_client.get(url, headers=auth(world.buyers[0]))).json()["status"] == "paid"


async def test_bad_shipping_details_are_422(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}"
    await app_client.post(url + "/pay", headers=auth(world.buyers[0]))

    response = await app_client.post(url + "/ship", headers=auth(world.merchant),
                                     json={"carrier": "顺丰", "tracking_number": "no spaces!"})

    assert_problem(response, 422, "validation_failed")
    assert (await app_client.get(url, headers=auth(world.buyers[0]))).json()["status"] == "paid"


async def test_merchant_cancel_needs_a_reason_and_refunds(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5)
    order = await _order(world)
    url = f"/api/v1/orders/{order['id']}"
    await app_client.post(url + "/pay", headers=auth(world.buyers[0]))

    no_reason = await app_client.post(url + "/cancel", headers=auth(world.merchant), json={})
    assert_problem(no_reason, 422, "validation_failed")
    assert (await world.item())["stock_remaining"] == 4

    for body, words in (({"reason": "仓库破损，无法发货"}, "picks a reason"),
                        ({"reason_code": "other"}, "needs a reason in words"),
                        ({"reason_code": "whatever"}, "out_of_stock")):
        refused = await app_client.post(url + "/cancel", headers=auth(world.merchant), json=body)
        assert words in assert_problem(refused, 422, "validation_failed")["detail"] + str(
            refused.json())
    assert (await world.item())["stock_remaining"] == 4
    assert (await app_client.get(url, headers=auth(world.buyers[0]))).json()["status"] == "paid"

    cancelled = await app_client.post(url + "/cancel", headers=auth(world.merchant),
                                      json={"reason_code": "other", "reason": "仓库破损，无法发货"})

    body = cancelled.json()
    assert (body["status"], body["cancelled_by"], body["cancel_code"], body["cancel_reason"]) == (
        "cancelled", "merchant", "other", "仓库破损，无法发货")
    assert (await world.item())["stock_remaining"] == 5
    buyer_view = await app_client.get(url, headers=auth(world.buyers[0]))
    assert buyer_view.json()["cancel_reason"] == "仓库破损，无法发货"


async def test_buyer_cancels_unpaid_and_units_return_once(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    order = await _order(world, quantity=2)
    url = f"/api/v1/orders/{order['id']}/cancel"

    first = await app_client.post(url, headers=auth(world.buyers[0]))
    second = await app_client.post(url, headers=auth(world.buyers[0]))

    assert first.json()["status"] == "cancelled"
    assert_problem(second, 409, "invalid_transition")
    assert (await world.item())["stock_remaining"] == 5
    # the buyer's limit is free again
    assert (await world.buy(world.buyers[0], quantity=2)).status_code == 201


async def test_expiry_returns_exactly_the_quantity_once(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    unpaid = await _order(world, 0, quantity=2)
    paid = await _order(world, 1, quantity=1)
    await app_client.post(f"/api/v1/orders/{paid['id']}/pay", headers=auth(world.buyers[1]))
    assert (await world.item())["stock_remaining"] == 2
    rt = app_client.app.state.runtime  # type: ignore[attr-defined]
    later = rt.now() + timedelta(seconds=rt.settings.order_payment_timeout_seconds + 1)

    first = await expire_unpaid(rt.db, rt.gate, rt.notifier, now=later)
    second = await expire_unpaid(rt.db, rt.gate, rt.notifier, now=later)

    assert (first, second) == (1, 0)
    assert (await world.item())["stock_remaining"] == 4
    statuses = {o["id"]: o["status"] for o in await world.orders()}
    assert statuses == {unpaid["id"]: "expired", paid["id"]: "paid"}
    late_pay = await app_client.post(f"/api/v1/orders/{unpaid['id']}/pay",
                                     headers=auth(world.buyers[0]))
    assert_problem(late_pay, 409, "invalid_transition")
    # the gate got the units back too: two more can be sold, then it is sold out
    assert (await world.buy(world.buyers[2], quantity=2)).status_code == 201
    assert (await world.buy(world.buyers[0], quantity=2)).status_code == 201
    assert_problem(await world.buy(world.buyers[1], quantity=1), 409, "sold_out")


async def test_unpaid_order_past_deadline_cannot_be_paid(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = await _order(world)
    rt = app_client.app.state.runtime  # type: ignore[attr-defined]
    real_now = rt.now
    rt.now = lambda: real_now() + timedelta(seconds=rt.settings.order_payment_timeout_seconds)
    try:
        response = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                         headers=auth(world.buyers[0]))
    finally:
        rt.now = real_now
    assert_problem(response, 409, "invalid_transition")
    current = await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(world.buyers[0]))
    assert current.json()["status"] == "pending_payment"
