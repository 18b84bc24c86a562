"""Cooling-off (冷静期): a buyer who opts in gets N minutes after a live purchase in which the
order does not ship and one tap cancels it for a full refund; when it ends, the order is
released for shipping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.world import World, assert_problem, auth, build_world

SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}


def _runtime(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _order(w: World, token: str, **pay: object) -> tuple[int, dict]:
    order = (await w.buy(token)).json()
    paid = await w.client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(token),
                               json=pay)
    assert paid.status_code == 200, paid.text
    return int(order["id"]), paid.json()


async def test_the_account_setting_applies_and_a_tap_cancels_with_a_full_refund(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1, limit=2)
    assert (await app_client.get("/api/v1/me/cooling-off", headers=auth(w.buyers[0]))
            ).json() == {"minutes": 0}
    assert (await app_client.put("/api/v1/me/cooling-off", headers=auth(w.buyers[0]),
                                 json={"minutes": 30})).json() == {"minutes": 30}
    before = datetime.now(UTC)
    order_id, paid = await _order(w, w.buyers[0])
    until = datetime.fromisoformat(paid["cooling_off_until"])
    assert before + timedelta(minutes=30) <= until <= datetime.now(UTC) + timedelta(minutes=30)

    refused = await app_client.post(f"/api/v1/orders/{order_id}/ship", headers=auth(w.merchant),
                                    json=SHIP)
    assert_problem(refused, 409, "cooling_off")
    assert (await w.item())["stock_remaining"] == 4

    cancelled = await app_client.post(f"/api/v1/orders/{order_id}/cancel",
                                      headers=auth(w.buyers[0]))
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["cancelled_by"], body["refunded_total"],
            body["compensated_total"]) == ("cancelled", "buyer", 9900, 0)
    assert (await w.item())["stock_remaining"] == 5


async def test_per_order_choice_overrides_and_zero_means_none(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1, limit=2)
    await app_client.put("/api/v1/me/cooling-off", headers=auth(w.buyers[0]), json={"minutes": 30})
    order_id, paid = await _order(w, w.buyers[0], cooling_off_minutes=0)
    assert paid["cooling_off_until"] is None
    assert (await app_client.post(f"/api/v1/orders/{order_id}/ship", headers=auth(w.merchant),
                                  json=SHIP)).status_code == 200
    other, _ = await _order(w, w.buyers[0])
    assert_problem(await app_client.post(f"/api/v1/orders/{other}/pay",
                                         headers=auth(w.buyers[0]),
                                         json={"cooling_off_minutes": 5000}), 422,
                   "validation_failed")


async def test_after_the_period_it_ships_and_can_no_longer_be_cancelled_by_the_buyer(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    order_id, paid = await _order(w, w.buyers[0], cooling_off_minutes=10)
    runtime = _runtime(app_client)
    until = datetime.fromisoformat(paid["cooling_off_until"])
    await runtime.deadlines.run_once(datetime.now(UTC))  # what was due already (sale opening)
    assert await runtime.deadlines.run_once(until - timedelta(seconds=1)) == 0
    assert await runtime.deadlines.run_once(until) == 1
    async with runtime.db.read() as conn:
        from sqlalchemy import text
        released = (await conn.execute(text(
            "SELECT count(*) FROM events WHERE type = 'OrderReleased' AND order_id = :o"),
            {"o": order_id})).scalar_one()
    assert released == 1

    # Time passes: with the clock past the period the buyer cannot cancel a paid order.
    runtime.now = lambda: until + timedelta(seconds=1)  # type: ignore[method-assign]
    assert_problem(await app_client.post(f"/api/v1/orders/{order_id}/cancel",
                                         headers=auth(w.buyers[0])), 409, "invalid_transition")
    assert (await app_client.post(f"/api/v1/orders/{order_id}/ship", headers=auth(w.merchant),
                                  json=SHIP)).status_code == 200
