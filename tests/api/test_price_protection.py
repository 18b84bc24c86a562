"""Automatic price protection through the API: a protected paid order is refunded the
difference when the shop offers its SKU for less, with no request from the buyer; only the new
increment on successive drops; never beyond what was paid; never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from livepledge.infra.models import consumer_checkpoints
from tests.api.world import World, auth, build_world


def _runtime(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime  # type: ignore[attr-defined]


async def _settle(client: httpx.AsyncClient) -> None:
    """Run what the background loops would: deadlines due now, then every consumer."""
    runtime = _runtime(client)
    await runtime.deadlines.run_once(datetime.now(UTC))
    await runtime.consumers.drain_all()
    await runtime.deadlines.run_once(datetime.now(UTC))
    await runtime.consumers.drain_all()


async def _protect(w: World, **terms: object) -> None:
    response = await w.client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                   json={"kind": "price_protection", "terms": {"days": 30, **terms},
                                         "scope": {"type": "sku", "id": w.sku_id}})
    assert response.status_code == 201, response.text


async def _paid(w: World, token: str, quantity: int = 1) -> int:
    order = (await w.buy(token, quantity=quantity)).json()
    paid = await w.client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(token))
    assert paid.status_code == 200, paid.text
    return int(order["id"])


async def _list_price(w: World, price: int) -> None:
    response = await w.client.patch(f"/api/v1/skus/{w.sku_id}", headers=auth(w.merchant),
                                    json={"price": price})
    assert response.status_code == 200, response.text


async def _refunds(w: World, order_id: int, token: str) -> tuple[list[tuple[int, str]], int]:
    order = (await w.client.get(f"/api/v1/orders/{order_id}", headers=auth(token))).json()
    return [(r["amount"], r["reason"]) for r in order["refunds"]], order["refunded_total"]


async def test_a_list_price_drop_refunds_protected_orders_by_itself(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=3, limit=2)
    await _protect(w)
    protected = await _paid(w, w.buyers[0], quantity=2)  # 2 × ¥99.00
    unpaid = (await w.buy(w.buyers[1])).json()["id"]
    await _settle(app_client)

    await _list_price(w, 8900)  # ¥89.00: ¥10.00 below what was paid
    await _settle(app_client)

    assert await _refunds(w, protected, w.buyers[0]) == ([(2000, "price_protection")], 2000)
    assert await _refunds(w, unpaid, w.buyers[1]) == ([], 0)
    order = (await app_client.get(f"/api/v1/orders/{protected}", headers=auth(w.buyers[0]))).json()
    assert order["refunds"][0]["related"]["type"] == "list_price"
    assert order["refunds"][0]["related"]["price"] == 8900
    notices = (await app_client.get("/api/v1/me/notices", headers=auth(w.buyers[0]))).json()
    assert [(n["kind"], n["order_id"], n["params"]["amount"]) for n in notices["notices"]] == [
        ("price_protection_refund", protected, 2000)]
    assert notices["notices"][0]["title"]["zh-CN"] == f"保价退款 ¥20.00（订单 #{protected}）"


async def test_an_order_without_the_promise_gets_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    before = await _paid(w, w.buyers[0])  # bought before the promise existed
    await _protect(w)
    after = await _paid(w, w.buyers[1])
    await _list_price(w, 5000)
    await _settle(app_client)

    assert await _refunds(w, before, w.buyers[0]) == ([], 0)
    assert await _refunds(w, after, w.buyers[1]) == ([(4900, "price_protection")], 4900)


async def test_successive_drops_refund_only_the_new_increment(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    await _protect(w)
    order = await _paid(w, w.buyers[0])
    for price in (9500, 12900, 9700, 9000):  # down 4, up, down but not below 95, down 5 more
        await _list_price(w, price)
        await _settle(app_client)

    assert await _refunds(w, order, w.buyers[0]) == (
        [(400, "price_protection"), (500, "price_protection")], 900)


async def test_refunds_never_exceed_what_was_paid_and_cancelling_returns_only_the_rest(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    await _protect(w)
    order = await _paid(w, w.buyers[0])
    await _list_price(w, 1)
    await _settle(app_client)
    assert await _refunds(w, order, w.buyers[0]) == ([(9899, "price_protection")], 9899)

    cancelled = await app_client.post(f"/api/v1/orders/{order}/cancel", headers=auth(w.merchant),
                                      json={"reason_code": "buyer_asked"})
    assert cancelled.status_code == 200, cancelled.text
    assert await _refunds(w, order, w.buyers[0]) == (
        [(9899, "price_protection"), (1, "order_cancelled")], 9900)
    await _list_price(w, 1)  # a cancelled order gets nothing more
    await _settle(app_client)
    assert (await _refunds(w, order, w.buyers[0]))[1] == 9900


async def test_a_lower_live_price_counts_when_its_sale_opens(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    await _protect(w)
    order = await _paid(w, w.buyers[0])
    now = datetime.now(UTC)
    item = await app_client.post(f"/api/v1/sessions/{w.session_id}/lineup",
                                 headers=auth(w.merchant), json={
        "sku_id": w.sku_id, "live_price": 8800, "stock_allocated": 1, "per_buyer_limit": 1,
        "sale_starts_at": (now - timedelta(seconds=5)).isoformat(),
        "sale_ends_at": (now + timedelta(hours=1)).isoformat()})
    assert item.status_code == 201, item.text
    await _settle(app_client)

    refunds, total = await _refunds(w, order, w.buyers[0])
    assert (refunds, total) == ([(1100, "price_protection")], 1100)


async def test_flash_sale_prices_excluded_only_where_the_terms_say_so(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    await _protect(w, excludes_flash_sale=True)
    order = await _paid(w, w.buyers[0])
    now = datetime.now(UTC)
    await app_client.post(f"/api/v1/sessions/{w.session_id}/lineup", headers=auth(w.merchant),
                          json={"sku_id": w.sku_id, "live_price": 8800, "stock_allocated": 1,
                                "per_buyer_limit": 1,
                                "sale_starts_at": (now - timedelta(seconds=5)).isoformat(),
                                "sale_ends_at": (now + timedelta(hours=1)).isoformat()})
    await _settle(app_client)
    assert await _refunds(w, order, w.buyers[0]) == ([], 0)
    await _list_price(w, 9000)  # a list price is not a flash-sale price
    await _settle(app_client)
    assert await _refunds(w, order, w.buyers[0]) == ([(900, "price_protection")], 900)


async def test_a_drop_handled_again_refunds_once(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    await _protect(w)
    orders = [await _paid(w, token) for token in w.buyers]
    await _list_price(w, 9000)
    await _settle(app_client)
    runtime = _runtime(app_client)
    calls = runtime.payments.refund_calls

    async with runtime.db.write() as uow:  # a crash before the checkpoint was written
        await uow.conn.execute(update(consumer_checkpoints).values(last_tx=0, last_id=0))
    await _settle(app_client)

    for order, token in zip(orders, w.buyers, strict=True):
        assert await _refunds(w, order, token) == ([(900, "price_protection")], 900)
    assert runtime.payments.refund_calls == calls  # nothing new was even asked of the provider


async def test_orders_beyond_one_statement_are_read_in_chunks(
        app_client: httpx.AsyncClient, monkeypatch):  # type: ignore[no-untyped-def]
    """PostgreSQL takes at most 32,767 parameters in a statement: the sweep reads the orders'
    payments in chunks (bench/price_protection.py's 100,000 orders failed before). With a chunk
    of 2, three orders span two chunks and each is refunded exactly once."""
    from livepledge.promises import protection

    monkeypatch.setattr(protection, "MONEY_CHUNK", 2)
    w = await build_world(app_client, buyers=3, limit=2)
    await _protect(w)
    orders = [await _paid(w, token) for token in w.buyers]
    await _settle(app_client)

    await _list_price(w, 8900)
    await _settle(app_client)

    assert [await _refunds(w, order, token) for order, token in zip(orders, w.buyers,
                                                                      strict=True)] == [
        ([(1000, "price_protection")], 1000)] * 3


async def test_a_sale_that_opened_with_the_session_is_not_opened_again(
        app_client: httpx.AsyncClient):
    """The item was added, its sale start already past, before the session went live: the
    sale opened with `SessionStarted`; its `sale_opens` deadline, whenever it fires, records
    no second opening (the session's log is the same whatever the deadline runner's timing)."""
    from sqlalchemy import func, select

    from livepledge.infra.models import events
    from livepledge.live.service import SaleOpens

    w = await build_world(app_client, buyers=0)  # added before start; started a moment after
    db = _runtime(app_client).db
    async with db.write() as uow:
        said = await SaleOpens().fire(uow, w.item_id, {}, datetime.now(UTC))
    async with db.read() as conn:
        opened = (await conn.execute(select(func.count()).select_from(events).where(
            events.c.type == "SaleOpened"))).scalar_one()
    assert (said, opened) == ("opened with the session (SessionStarted)", 0)
