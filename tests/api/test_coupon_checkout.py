"""Coupons at checkout: the charge is the amount less the discount, the coupon is used in the
payment's transaction, refunds of every kind come from what was actually paid, a cancelled paid
order gives its coupon back, the ledger balances with the merchant bearing the discount, and a
personal coupon price is no public offer (no price protection, no reference price)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from livepledge.coupons.models import coupon_claims
from livepledge.infra.models import events
from livepledge.orders.models import payments
from livepledge.promises.service import reference_prices
from tests.api.test_ledger import assert_verified, money, settle
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

PRICE = 9900  # the world's live price
KEYS = itertools.count(1)


@pytest.fixture
async def client(sqlite_url: str) -> Any:
    async with make_app_client(sqlite_url, platform_commission_bp=500) as c:
        yield c


def rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def coupon(w: World, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"title": "满50减10", "kind": "threshold", "threshold": 5000, "amount_off": 1000,
            "budget": 10, "per_buyer_limit": 3,
            "claim_starts_at": (now - timedelta(hours=2)).isoformat(),
            "claim_ends_at": (now + timedelta(hours=1)).isoformat(), "valid_days": 7}
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    response = await w.client.post(f"/api/v1/shops/{w.shop_id}/coupons",
                                   headers=auth(w.merchant), json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def claimed(w: World, token: str, coupon_id: int) -> int:
    response = await w.client.post(f"/api/v1/coupons/{coupon_id}/claims", headers={
        **auth(token), "Idempotency-Key": f"c-{coupon_id}-{next(KEYS)}"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def pay(w: World, token: str, order_id: int, **body: Any) -> httpx.Response:
    return await w.client.post(f"/api/v1/orders/{order_id}/pay", headers=auth(token), json=body)


async def claim_row(client: httpx.AsyncClient, claim_id: int) -> Any:
    async with rt(client).db.read() as conn:
        return (await conn.execute(select(coupon_claims).where(
            coupon_claims.c.id == claim_id))).one()


async def charges(client: httpx.AsyncClient, order_id: int) -> list[tuple[int, str | None]]:
    async with rt(client).db.read() as conn:
        rows = await conn.execute(select(payments.c.amount, payments.c.reason).where(
            payments.c.order_id == order_id).order_by(payments.c.id))
        return [(int(r.amount), r.reason) for r in rows]


async def test_paying_with_a_coupon_charges_less_and_uses_the_coupon(client):
    w = await build_world(client, buyers=1, limit=2)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0], quantity=2)).json()

    response = await pay(w, w.buyers[0], order["id"], claim_id=claim_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["amount"], body["paid_amount"], body["coupon_discount"]) == (
        2 * PRICE, 2 * PRICE - 1000, 1000)
    assert await charges(client, order["id"]) == [(2 * PRICE - 1000, None)]
    assert [(t["step"], t["amount"], t.get("coupon_discount")) for t in body["timeline"]] == [
        ("placed", 2 * PRICE, None), ("paid", 2 * PRICE - 1000, 1000)]
    row = await claim_row(client, claim_id)
    assert (row.status, row.order_id, row.discount) == ("used", order["id"], 1000)
    listed = (await client.get(f"/api/v1/shops/{w.shop_id}/coupons",
                               headers=auth(w.merchant))).json()
    assert (listed[0]["issued"], listed[0]["used"]) == (1, 1)  # the console's columns
    async with rt(client).db.read() as conn:
        kinds = [(e.type, e.payload) for e in await conn.execute(select(events).where(
            events.c.order_id == order["id"], events.c.type.in_(["CouponUsed", "OrderPaid"]))
            .order_by(events.c.id))]
    assert [k for k, _ in kinds] == ["CouponUsed", "OrderPaid"]
    assert kinds[0][1]["discount"] == 1000 and kinds[1][1]["amount"] == 2 * PRICE - 1000
    usable = await client.get("/api/v1/me/coupons?usable=true", headers=auth(w.buyers[0]))
    assert usable.json() == []


async def test_a_coupon_cannot_be_used_twice_and_a_refusal_changes_nothing(client):
    w = await build_world(client, buyers=2, limit=2)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    first = (await w.buy(w.buyers[0])).json()
    second = (await w.buy(w.buyers[0])).json()
    other = (await w.buy(w.buyers[1])).json()
    assert (await pay(w, w.buyers[0], first["id"], claim_id=claim_id)).status_code == 200

    again = await pay(w, w.buyers[0], second["id"], claim_id=claim_id)
    not_yours = await pay(w, w.buyers[1], other["id"], claim_id=claim_id)

    assert_problem(again, 409, "coupon_not_usable")
    assert_problem(not_yours, 404, "not_found")
    for order_id, token in ((second["id"], w.buyers[0]), (other["id"], w.buyers[1])):
        view = (await client.get(f"/api/v1/orders/{order_id}", headers=auth(token))).json()
        assert view["status"] == "pending_payment"
        assert await charges(client, order_id) == []


async def test_foreign_expired_and_below_threshold_coupons_are_refused(client):
    w = await build_world(client, buyers=1, limit=2)
    other = await build_world(client, buyers=0, prefix="o-")
    foreign = await claimed(w, w.buyers[0], (await coupon(other))["id"])
    now = datetime.now(UTC)
    expired = await claimed(w, w.buyers[0], (await coupon(
        w, valid_days=None, valid_from=(now - timedelta(hours=2)).isoformat(),
        valid_until=(now - timedelta(minutes=1)).isoformat()))["id"])
    too_big = await claimed(w, w.buyers[0], (await coupon(
        w, threshold=20000, amount_off=3000))["id"])
    order = (await w.buy(w.buyers[0])).json()

    for claim_id in (foreign, expired, too_big):
        assert_problem(await pay(w, w.buyers[0], order["id"], claim_id=claim_id), 409,
                       "coupon_not_usable")
        assert (await claim_row(client, claim_id)).status == "unused"
    assert await charges(client, order["id"]) == []


async def test_a_declined_payment_does_not_use_the_coupon(client):
    w = await build_world(client, buyers=1)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0])).json()
    declined = await pay(w, w.buyers[0], order["id"], claim_id=claim_id,
                         sandbox_outcome="decline")
    assert_problem(declined, 402, "payment_failed")
    assert (await claim_row(client, claim_id)).status == "unused"
    another = (await w.buy(w.buyers[0])).json()
    assert (await pay(w, w.buyers[0], another["id"], claim_id=claim_id)).status_code == 200


async def test_a_merchant_cancellation_refunds_what_was_paid_and_gives_the_coupon_back(client):
    w = await build_world(client, buyers=1)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0])).json()
    await pay(w, w.buyers[0], order["id"], claim_id=claim_id, cooling_off_minutes=0)

    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel",
                                  headers=auth(w.merchant),
                                  json={"reason_code": "out_of_stock"})

    assert cancelled.status_code == 200, cancelled.text
    paid = PRICE - 1000
    # compensation: 30 % of what was paid, floor 500, cap 5000
    assert await charges(client, order["id"]) == [
        (paid, None), (-paid, "order_cancelled"), (-(paid * 30 // 100), "compensation")]
    row = await claim_row(client, claim_id)
    assert (row.status, row.order_id, row.discount) == ("unused", None, None)
    await settle(client)
    await assert_verified(client)


async def test_after_sales_refunds_never_exceed_what_was_paid(client):
    w = await build_world(client, buyers=1)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0])).json()
    await pay(w, w.buyers[0], order["id"], claim_id=claim_id, cooling_off_minutes=0)
    too_much = await client.post(f"/api/v1/orders/{order['id']}/cases", headers=auth(
        w.buyers[0]), json={"type": "refund_only", "reason": "not_shipped", "amount": PRICE,
                            "text": "不想要了"})
    assert_problem(too_much, 422, "validation_failed")
    case = await client.post(f"/api/v1/orders/{order['id']}/cases", headers=auth(w.buyers[0]),
                             json={"type": "refund_only", "reason": "not_shipped",
                                   "text": "不想要了"})
    assert case.status_code == 201, case.text
    assert await charges(client, order["id"]) == [(PRICE - 1000, None),
                                                  (-(PRICE - 1000), "aftersales")]
    view = (await client.get(f"/api/v1/orders/{order['id']}", headers=auth(w.buyers[0]))).json()
    assert view["status"] == "cancelled"
    assert (await claim_row(client, claim_id)).status == "unused"
    await settle(client)
    await assert_verified(client)


async def test_the_ledger_balances_and_the_merchant_bears_the_discount(client):
    w = await build_world(client, buyers=1)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0])).json()
    await pay(w, w.buyers[0], order["id"], claim_id=claim_id)
    await settle(client)
    assert (await money(w))["held"] == PRICE - 1000
    await assert_verified(client)


async def _protect(w: World) -> None:
    response = await w.client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                   json={"kind": "price_protection", "terms": {"days": 30},
                                         "scope": {"type": "sku", "id": w.sku_id}})
    assert response.status_code == 201, response.text


async def _drain(client: httpx.AsyncClient) -> None:
    await rt(client).deadlines.run_once(datetime.now(UTC))
    await rt(client).consumers.drain_all()


async def test_a_coupon_price_is_no_public_offer(client):
    # Given a protected order paid at the full price
    w = await build_world(client, buyers=2, limit=2)
    await _protect(w)
    full = (await w.buy(w.buyers[0])).json()
    assert (await pay(w, w.buyers[0], full["id"])).status_code == 200
    await _drain(client)
    # When another buyer pays ¥30 less with a coupon
    claim_id = await claimed(w, w.buyers[1], (await coupon(w, amount_off=3000))["id"])
    cheap = (await w.buy(w.buyers[1])).json()
    assert (await pay(w, w.buyers[1], cheap["id"], claim_id=claim_id)).status_code == 200
    await _drain(client)
    # Then the full-price buyer is refunded nothing, and the reference price is the list price
    assert await charges(client, full["id"]) == [(PRICE, None)]
    async with rt(client).db.read() as conn:
        ref = await reference_prices(conn, [w.sku_id], datetime.now(UTC) + timedelta(seconds=1))
    assert ref[w.sku_id]["amount"] == PRICE


async def test_price_protection_of_a_coupon_order_counts_from_what_was_paid(client):
    # Given a protected order of 2 units paid with ¥10 off (¥94.00 a unit paid)
    w = await build_world(client, buyers=1, limit=2)
    await _protect(w)
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0], quantity=2)).json()
    await pay(w, w.buyers[0], order["id"], claim_id=claim_id)
    await _drain(client)
    # When the list price drops to ¥95.00 (above what was paid per unit): nothing
    assert (await client.patch(f"/api/v1/skus/{w.sku_id}", headers=auth(w.merchant),
                               json={"price": 9500})).status_code == 200
    await _drain(client)
    assert await charges(client, order["id"]) == [(2 * PRICE - 1000, None)]
    # When it drops to ¥90.00: ¥4.00 a unit
    assert (await client.patch(f"/api/v1/skus/{w.sku_id}", headers=auth(w.merchant),
                               json={"price": 9000})).status_code == 200
    await _drain(client)
    assert await charges(client, order["id"]) == [(2 * PRICE - 1000, None),
                                                  (-800, "price_protection")]


async def test_the_checkout_lists_usable_coupons_best_first_with_their_discount(client):
    w = await build_world(client, buyers=2, limit=2)
    small = await claimed(w, w.buyers[0], (await coupon(w, title="满50减10"))["id"])
    big = await claimed(w, w.buyers[0], (await coupon(
        w, title="九折", kind="percent", threshold=0, amount_off=None, percent_off=10))["id"])
    await claimed(w, w.buyers[0], (await coupon(w, title="满200减30", threshold=20000,
                                                 amount_off=3000))["id"])
    order = (await w.buy(w.buyers[0], quantity=2)).json()

    listed = await client.get(f"/api/v1/orders/{order['id']}/coupons", headers=auth(w.buyers[0]))
    stranger = await client.get(f"/api/v1/orders/{order['id']}/coupons",
                                headers=auth(w.buyers[1]))
    page = await client.get(f"/checkout/{order['id']}", headers=auth(w.buyers[0]))

    assert [(c["id"], c["discount_on_order"], c["payable"]) for c in listed.json()] == [
        (big, 1980, 2 * PRICE - 1980), (small, 1000, 2 * PRICE - 1000)]
    assert_problem(stranger, 404, "not_found")
    assert page.status_code == 200 and 'id="coupon-choice"' in page.text


async def test_the_fan_club_counts_what_was_paid_after_the_coupon(client):
    """Affinity (1 a yuan paid), segments' net spend and campaign sales read what was charged,
    not the order's amount before the coupon."""
    from livepledge.fans.models import affinity_entries, fan_orders

    w = await build_world(client, buyers=1, limit=2)
    joined = await client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                              headers=auth(w.buyers[0]))
    assert joined.status_code == 200
    claim_id = await claimed(w, w.buyers[0], (await coupon(w))["id"])
    order = (await w.buy(w.buyers[0], quantity=2)).json()
    assert (await pay(w, w.buyers[0], order["id"], claim_id=claim_id)).status_code == 200
    await rt(client).consumers.drain_all()
    async with rt(client).db.read() as conn:
        paid = (await conn.execute(select(fan_orders.c.paid).where(
            fan_orders.c.order_id == order["id"]))).scalar_one()
        granted = (await conn.execute(select(affinity_entries.c.points).where(
            affinity_entries.c.ref == f"order:{order['id']}"))).scalar_one()
    assert (paid, granted) == (2 * PRICE - 1000, (2 * PRICE - 1000) // 100)
