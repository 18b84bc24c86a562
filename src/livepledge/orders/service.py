"""Order use cases: buying a lineup item, paying, shipping, receipt, cancellation, expiry."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts import service as accounts
from livepledge.accounts.models import shops, users
from livepledge.accounts.service import Principal, access_shop
from livepledge.aftersales.models import cases
from livepledge.catalog.models import product_images, products, skus
from livepledge.coupons import service as coupons
from livepledge.infra import clock, deadlines
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.infra.singleflight import SingleFlight
from livepledge.live import rules as live_rules
from livepledge.live.models import lineup_items, live_sessions
from livepledge.orders import rules
from livepledge.orders.gate import ItemStock, StockGate
from livepledge.orders.models import buyer_item_counts, orders, payments
from livepledge.orders.payments import PaymentProvider
from livepledge.orders.writer import (
    ItemFacts,
    OrderWriter,
    Outcome,
    PendingOrder,
    commit_naive,
    order_row_view,
)
from livepledge.promises import service as promise_ledger

FACTS_TTL_SECONDS = 1.0


class ItemFactsCache:
    """Lineup facts for the buy path, cached for at most a second and dropped at once when a
    change is announced on `lp:items`. The database re-checks the window when it commits."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[int, tuple[float, ItemFacts]] = {}
        self._loading: SingleFlight[int, ItemFacts] = SingleFlight()

    async def get(self, item_id: int) -> ItemFacts:
        entry = self._entries.get(item_id)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        # Single flight: in a burst, one request reloads the facts and the others wait for it.
        return await self._loading.run(item_id, lambda: self._load(item_id))

    async def _load(self, item_id: int) -> ItemFacts:
        async with self.db.read() as conn:
            facts = await load_item_facts(conn, item_id)
        self._entries[item_id] = (time.monotonic() + FACTS_TTL_SECONDS, facts)
        return facts

    def invalidate(self, item_ids: list[int] | None = None) -> None:
        if item_ids is None:
            self._entries.clear()
        for item_id in item_ids or ():
            self._entries.pop(item_id, None)


async def load_item_facts(conn: AsyncConnection, item_id: int) -> ItemFacts:
    row = (await conn.execute(
        select(lineup_items, live_sessions.c.shop_id, live_sessions.c.status.label("s_status"),
               live_sessions.c.title.label("session_title"), skus.c.name.label("sku_name"),
               skus.c.price.label("list_price"), products.c.title.label("product_title"),
               products.c.id.label("product_id"), products.c.category,
               shops.c.name.label("shop_name"), shops.c.legal_name)
        .join(live_sessions, live_sessions.c.id == lineup_items.c.session_id)
        .join(skus, skus.c.id == lineup_items.c.sku_id)
        .join(products, products.c.id == skus.c.product_id)
        .join(shops, shops.c.id == live_sessions.c.shop_id)
        .where(lineup_items.c.id == item_id))).first()
    if row is None:
        raise Problem("not_found", f"直播商品不存在 / no such lineup item: {item_id}")
    cover = (await conn.execute(select(product_images.c.thumb_key).where(
        product_images.c.product_id == row.product_id, product_images.c.removed_at.is_(None))
        .order_by(product_images.c.position, product_images.c.id).limit(1))).scalar_one_or_none()
    snapshot = {
        "image": f"/media/{cover}" if cover else None,
        "product_id": row.product_id, "product_title": row.product_title,
        "sku_name": row.sku_name, "category": row.category, "list_price": row.list_price,
        "live_price": row.live_price, "session_title": row.session_title,
        "seller": {"shop_id": row.shop_id, "name": row.shop_name, "legal_name": row.legal_name},
    }
    # Precomputed here, when the item's facts are loaded (and reloaded when a promise changes),
    # not per press: each order keeps those in force when it is placed (ItemFacts.snapshot_at).
    now = clock.utcnow()
    pending = await promise_ledger.current_for_item(
        conn, row.id, shop_id=row.shop_id, sku_id=row.sku_id, product_id=row.product_id, at=now)
    frozen = tuple((p.starts_at, p.ends_at, promise_ledger.frozen(v)) for p, v in zip(
        pending, await promise_ledger.views(conn, pending, now), strict=True))
    return ItemFacts(
        item_id=row.id, session_id=row.session_id, shop_id=row.shop_id, sku_id=row.sku_id,
        live_price=row.live_price, per_buyer_limit=row.per_buyer_limit,
        sale_starts_at=row.sale_starts_at, sale_ends_at=row.sale_ends_at,
        session_status=row.s_status, snapshot=snapshot, promises=frozen)


def gate_loader(db: Database):  # type: ignore[no-untyped-def]
    async def load(item_id: int) -> ItemStock:
        async with db.read() as conn:
            remaining = (await conn.execute(select(lineup_items.c.stock_remaining).where(
                lineup_items.c.id == item_id))).scalar_one()
            rows = await conn.execute(select(buyer_item_counts).where(
                buyer_item_counts.c.lineup_item_id == item_id, buyer_item_counts.c.quantity > 0))
            bought = {r.buyer_id: r.quantity for r in rows}
            refs = await conn.execute(select(orders.c.buyer_id, orders.c.idempotency_key).where(
                orders.c.lineup_item_id == item_id))
            return ItemStock(int(remaining), bought,
                             {f"{r.buyer_id}:{r.idempotency_key}" for r in refs})
    return load


@dataclass
class BuyContext:
    db: Database
    gate: StockGate
    writer: OrderWriter
    facts: ItemFactsCache
    payment_timeout_seconds: int
    naive: bool = False


def check_buy_request(quantity: int, key: str | None) -> str:
    if error := rules.idempotency_key_error(key):
        code = "idempotency_key_missing" if not key else "validation_failed"
        raise Problem(code, error)
    if error := rules.quantity_error(quantity):
        raise Problem("validation_failed", error)
    assert key is not None
    return key


async def buy(
    ctx: BuyContext, principal: Principal, session_id: int, item_id: int, *, quantity: int,
    key: str | None, now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Returns (order, created). A repeat with the same key returns the first order."""
    key = check_buy_request(quantity, key)
    facts = await ctx.facts.get(item_id)
    if facts.session_id != session_id:
        raise Problem("not_found", f"直播商品不存在 / no such lineup item: {item_id}")
    state = live_rules.sale_state(session_status=facts.session_status,
                                  starts_at=facts.sale_starts_at, ends_at=facts.sale_ends_at,
                                  now=now)
    pending = PendingOrder(facts=facts, buyer_id=principal.user_id, quantity=quantity, key=key,
                           created_at=now,
                           expires_at=rules.expires_at(now, ctx.payment_timeout_seconds),
                           reservation=None)
    if state != "open" or quantity > facts.per_buyer_limit:
        existing = await _existing(ctx.db, principal.user_id, key)
        if existing:
            return _replay(existing, item_id, quantity), False
        if state != "open":
            raise _sale_problem(state)
        raise _limit_problem(facts.per_buyer_limit, 0)
    if ctx.naive:
        return _answer(await commit_naive(ctx.db, pending), item_id, quantity, facts)
    reference = f"{principal.user_id}:{key}"
    while True:
        reservation = await ctx.gate.reserve(item_id, principal.user_id, quantity,
                                             facts.per_buyer_limit, reference=reference)
        if reservation.outcome != "known":
            break
        repeated = await _repeat(ctx, principal.user_id, key, item_id, quantity, facts)
        if repeated is not None:
            return repeated
        # The first request's worker died before writing it and its reservation was given
        # back: this request takes its place.
    if not reservation.is_reserved:
        # The gate knows every order's key: this is not a repeat, no database read needed.
        if reservation.outcome == "over_limit":
            raise _limit_problem(facts.per_buyer_limit, reservation.bought_before)
        raise Problem("sold_out", "已售罄 / sold out", item_id=item_id)
    pending.reservation = reservation
    return _answer(await ctx.writer.submit(pending), item_id, quantity, facts)


REPEAT_WAIT_SECONDS = 10.0


async def _repeat(ctx: BuyContext, buyer_id: int, key: str, item_id: int, quantity: int,
                  facts: ItemFacts) -> tuple[dict[str, Any], bool] | None:
    """A repeat of an earlier request: answer with its order, waiting if it is still being
    written (in this process, on its future; in another worker, until it is committed).
    None: the earlier request's worker is dead and its reservation was released unwritten (the
    buyer's retry after a crash), so the caller reserves again."""
    first = ctx.writer.inflight.get((buyer_id, key))
    if first is not None:
        outcome = await asyncio.shield(first)
        if outcome.kind == "rejected":
            return _answer(outcome, item_id, quantity, facts)
        assert outcome.order is not None
        return _replay(outcome.order, item_id, quantity), False
    deadline = time.monotonic() + REPEAT_WAIT_SECONDS

    async def committed() -> bool:
        return await _existing(ctx.db, buyer_id, key) is not None

    while (existing := await _existing(ctx.db, buyer_id, key)) is None:
        # Checked here, by the buyer's own retry, and not only by the periodic reclaim: the
        # retry is answered as soon as the dead worker's liveness key has expired.
        if await ctx.gate.reclaim_orphan(item_id, f"{buyer_id}:{key}", committed):
            return None
        if time.monotonic() > deadline:
            raise Problem("service_unavailable",
                          "同一请求仍在处理中，请稍后用同一 Idempotency-Key 重试 / the first "
                          "request with this key is still being processed; retry with the key")
        await asyncio.sleep(0.02)
    return _replay(existing, item_id, quantity), False


def _answer(outcome: Outcome, item_id: int, quantity: int,
            facts: ItemFacts) -> tuple[dict[str, Any], bool]:
    if outcome.kind == "created":
        assert outcome.order is not None
        return outcome.order, True
    if outcome.kind == "existing":
        assert outcome.order is not None
        return _replay(outcome.order, item_id, quantity), False
    code = outcome.code or "sold_out"
    if code == "over_limit":
        raise _limit_problem(facts.per_buyer_limit, None)
    if code in ("sale_ended", "sale_not_started"):
        raise _sale_problem("ended" if code == "sale_ended" else "upcoming")
    if code == "service_unavailable":
        raise Problem("service_unavailable", "下单服务繁忙，请重试 / ordering unavailable, retry")
    raise Problem("sold_out", "已售罄 / sold out", item_id=item_id)


def _replay(order: dict[str, Any], item_id: int, quantity: int) -> dict[str, Any]:
    if order["lineup_item_id"] != item_id or order["quantity"] != quantity:
        raise Problem("idempotency_key_reused",
                      "该 Idempotency-Key 已用于另一笔下单 / this Idempotency-Key was used for a "
                      "different purchase", order_id=order["id"])
    return order


def _sale_problem(state: str) -> Problem:
    if state == "upcoming":
        return Problem("sale_not_started", "尚未开售 / the sale has not started")
    return Problem("sale_ended", "已结束售卖 / the sale has ended")


def _limit_problem(limit: int, bought: int | None) -> Problem:
    return Problem("over_limit", f"每人限购 {limit} 件 / limit {limit} per buyer",
                   per_buyer_limit=limit, **({"already_bought": bought} if bought else {}))


async def _existing(db: Database, buyer_id: int, key: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        row = (await conn.execute(select(orders).where(
            orders.c.buyer_id == buyer_id, orders.c.idempotency_key == key))).first()
    return order_row_view(row) if row else None


# --- reading orders -------------------------------------------------------------------------

async def access_order(conn: AsyncConnection, principal: Principal, order_id: int) -> Any:
    """The buyer's own order, or an order of a shop the principal staffs; else 404 (an order
    that is not yours does not exist for you)."""
    row = (await conn.execute(select(orders).where(orders.c.id == order_id))).first()
    if row is None or not (row.buyer_id == principal.user_id
                           or principal.can_manage(row.shop_id)):
        raise Problem("not_found", f"订单不存在 / no such order: {order_id}")
    return row


async def buyer_of(conn: AsyncConnection, order_id: int) -> int:
    return int((await conn.execute(select(orders.c.buyer_id).where(
        orders.c.id == order_id))).scalar_one())


def order_view(row: Any, principal: Principal) -> dict[str, Any]:
    """An order as this principal may see it: its buyer sees the whole address, shop staff see
    the phone masked (the packing slip shows it whole)."""
    view = order_row_view(row)
    # The promises frozen into the order when it was placed (never rewritten afterwards).
    view["promises"] = (row.snapshot or {}).get("promises", [])
    if row.status == "cancelled":
        view["cancel_reason_words"] = rules.cancel_label(row.cancel_code, row.cancel_reason)
    if row.buyer_id != principal.user_id:
        view["shipping_address"] = rules.staff_address(row.shipping_address)
    return view


async def paid_amount(conn: AsyncConnection, order: Any) -> int:
    """What the buyer actually paid for the order: its succeeded charge (less than the order's
    amount when a coupon was applied); the order's amount while nothing was charged."""
    charged = (await conn.execute(select(payments.c.amount).where(
        payments.c.order_id == order.id, payments.c.amount > 0,
        payments.c.status == "succeeded"))).scalar()
    return int(order.amount) if charged is None else int(charged)


async def _refunded(conn: AsyncConnection, order_id: int) -> int:
    """What was given back of the buyer's payment (compensation is paid on top, not counted)."""
    total = (await conn.execute(select(func.coalesce(func.sum(payments.c.amount), 0)).where(
        payments.c.order_id == order_id, payments.c.amount < 0,
        payments.c.status == "succeeded",
        or_(payments.c.reason.is_(None), payments.c.reason != "compensation")))).scalar_one()
    return -int(total)


async def get_order(db: Database, principal: Principal, order_id: int) -> dict[str, Any]:
    """One order with its timeline."""
    async with db.read() as conn:
        row = await access_order(conn, principal, order_id)
        view = order_view(row, principal)
        refunds = await refunds_of(conn, order_id)
        view["cases"] = await order_cases(conn, order_id)
        view["refunds"] = refunds
        view["paid_amount"] = await paid_amount(conn, row) if row.paid_at else None
        view["coupon_discount"] = int(row.amount) - view["paid_amount"] \
            if view["paid_amount"] is not None else 0
        view["refunded_total"] = sum(r["amount"] for r in refunds if r["reason"] != "compensation")
        view["compensated_total"] = sum(r["amount"] for r in refunds
                                        if r["reason"] == "compensation")
        view["timeline"] = [{**step, "at": step["at"].isoformat()} for step in rules.timeline(
            row, refunded=view["refunded_total"], paid=view["paid_amount"])]
        return view


async def refunds_of(conn: AsyncConnection, order_id: int) -> list[dict[str, Any]]:
    """Money paid back on an order, oldest first: `{amount, reason, related, at}`; reason
    `compensation` is paid on top of the refunds."""
    rows = await conn.execute(select(payments).where(
        payments.c.order_id == order_id, payments.c.amount < 0,
        payments.c.status == "succeeded").order_by(payments.c.id))
    return [{"amount": -int(r.amount), "reason": r.reason or "order_cancelled",
             "related": r.related, "at": clock.as_utc(r.created_at).isoformat()} for r in rows]


async def packing_slip(db: Database, principal: Principal, order_id: int) -> dict[str, Any]:
    """What goes in the parcel: the order, the whole address, the seller. Shop staff only."""
    async with db.read() as conn:
        row = await access_order(conn, principal, order_id)
        access_shop(principal, row.shop_id)
        if row.shipping_address is None:
            raise Problem("address_required", "该订单还没有收货地址 / the order has no address yet")
        shop = (await conn.execute(select(shops.c.name, shops.c.legal_name).where(
            shops.c.id == row.shop_id))).one()
    return {**order_row_view(row), "shop_name": shop.name, "legal_name": shop.legal_name}


async def list_buyer_orders(db: Database, principal: Principal) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(select(orders).where(orders.c.buyer_id == principal.user_id)
                                  .order_by(orders.c.id.desc()).limit(200))
        return [order_view(r, principal) for r in rows]


@dataclass(frozen=True, kw_only=True)
class OrderFilter:
    """The console's order search: all given conditions hold."""

    status: str | None = None
    session_id: int | None = None
    query: str | None = None  # an order id, a buyer's login or name, or a tracking number
    placed_from: datetime | None = None  # inclusive
    placed_before: datetime | None = None  # exclusive

    def apply(self, select_: Any) -> Any:
        if self.status:
            select_ = select_.where(orders.c.status == self.status)
        if self.session_id is not None:
            select_ = select_.where(orders.c.session_id == self.session_id)
        if self.placed_from is not None:
            select_ = select_.where(orders.c.created_at >= self.placed_from)
        if self.placed_before is not None:
            select_ = select_.where(orders.c.created_at < self.placed_before)
        if self.query:
            text = self.query.strip()
            like = f"%{text.replace('%', '').replace('_', '')}%"
            buyers = select(users.c.id).where(users.c.login.like(like)
                                              | users.c.display_name.like(like))
            conditions = [orders.c.tracking_number == text, orders.c.buyer_id.in_(buyers)]
            if text.isdigit() and len(text) <= 18:
                conditions.append(orders.c.id == int(text))
            select_ = select_.where(or_(*conditions))
        return select_


async def list_shop_orders(db: Database, principal: Principal, shop_id: int, *,
                           status: str | None = None, limit: int = 100, offset: int = 0,
                           where: OrderFilter | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of the shop's orders, newest first, and how many match in all."""
    access_shop(principal, shop_id)
    where = where or OrderFilter(status=status)
    async with db.read() as conn:
        base = where.apply(select(orders.c.id).where(orders.c.shop_id == shop_id))
        total = int((await conn.execute(select(func.count()).select_from(
            base.subquery()))).scalar_one())
        query = where.apply(select(orders, users.c.login.label("buyer_login"),
                                   users.c.display_name.label("buyer_name"))
                            .join(users, users.c.id == orders.c.buyer_id)
                            .where(orders.c.shop_id == shop_id))
        rows = await conn.execute(query.order_by(orders.c.id.desc()).limit(limit).offset(offset))
        return [order_view(r, principal) for r in rows], total


# --- changing orders ------------------------------------------------------------------------

async def _move(uow: UnitOfWork, order: Any, action: str, now: datetime,
                values: dict[str, Any]) -> None:
    target = rules.next_status(order.status, action)
    if target is None:
        raise Problem("invalid_transition",
                      f"订单状态为 {order.status}，不能执行 {action} / order is {order.status}; "
                      f"cannot {action}", order_status=order.status)
    result = await uow.conn.execute(update(orders).where(
        orders.c.id == order.id, orders.c.status == order.status).values(status=target, **values))
    if result.rowcount != 1:
        raise Problem("invalid_transition", "订单状态已变化，请刷新 / the order changed; reload")


async def pay(db: Database, provider: PaymentProvider, notifier: Notifier, principal: Principal,
              order_id: int, *, outcome: str | None, now: datetime,
              address_id: int | None = None,
              cooling_off_minutes: int | None = None,
              claim_id: int | None = None) -> dict[str, Any]:
    """Pay an unpaid order and ship it to the chosen address (default: the buyer's default
    address), whose copy the order keeps. No address, no charge. With `claim_id`, one of the
    buyer's claimed coupons of the order's shop is applied: the charge is the order's amount
    less the discount, and the coupon is used in the payment's transaction (docs/fans.md)."""
    async with db.read() as conn:
        order = await access_order(conn, principal, order_id)
    if order.buyer_id != principal.user_id:
        raise Problem("forbidden", "只能支付自己的订单 / you can pay only your own orders")
    if order.status == "paid":
        return order_row_view(order)  # paying twice is a no-op, not a second charge
    if rules.next_status(order.status, "pay") is None or rules.is_expired(
            status=order.status, expires=order.expires_at, now=now):
        raise Problem("invalid_transition",
                      f"订单状态为 {order.status}，不能支付 / order is {order.status}; cannot pay"
                      if order.status != "pending_payment" else
                      "订单已超时未支付 / the payment window has passed", order_status=order.status)
    if error := rules.cooling_off_error(cooling_off_minutes):
        raise Problem("validation_failed", error)
    async with db.read() as conn:  # before any charge: no address, no payment
        address = await accounts.address_copy(conn, principal, address_id)
        if cooling_off_minutes is None:
            cooling_off_minutes = await accounts.cooling_off_minutes(conn, principal.user_id)
        applied = None if claim_id is None else await coupons.check_coupon_for_order(
            conn, principal, claim_id, order, now)
    payable = int(order.amount) - (applied.discount if applied else 0)
    charge = await provider.charge(order_id=order.id, amount=payable,
                                   buyer_id=order.buyer_id,
                                   idempotency_key=f"order-{order.id}" if applied is None
                                   else f"order-{order.id}-coupon-{applied.claim_id}",
                                   outcome=outcome)
    if not charge.succeeded:
        raise Problem("payment_failed", f"支付失败：{charge.message}", provider=charge.provider)
    try:
        async with db.write() as uow:
            current = (await uow.conn.execute(select(orders).where(orders.c.id == order_id))).one()
            if rules.is_expired(status=current.status, expires=current.expires_at, now=now):
                raise Problem("invalid_transition",
                              "订单已超时未支付 / the payment window has passed")
            cooling_until = now + timedelta(minutes=cooling_off_minutes) \
                if cooling_off_minutes else None
            await _move(uow, current, "pay", now, {"paid_at": now, "shipping_address": address,
                                                   "address_set_at": now,
                                                   "cooling_off_until": cooling_until})
            if cooling_until is not None:
                await deadlines.schedule(uow, CoolingOffEnds.kind, order_id, cooling_until, now)
            await uow.conn.execute(insert(payments).values(
                order_id=order_id, provider=charge.provider, provider_ref=charge.reference,
                amount=charge.amount, status="succeeded", created_at=now))
            if applied is not None:
                await coupons.do_use_claim(uow, applied, current, now)
            await record_event(uow, "OrderPaid", now, shop_id=order.shop_id,
                               session_id=order.session_id, order_id=order_id,
                               payload={"amount": charge.amount, "provider": charge.provider,
                                        **({"coupon_discount": applied.discount,
                                            "claim_id": applied.claim_id} if applied else {})})
            if hours := shipping_hours(current.snapshot):  # a promised shipping time runs
                await deadlines.schedule(uow, ShipBy.kind, order_id,
                                         now + timedelta(hours=hours), now, {"hours": hours})
            uow.on_commit(lambda: notifier.shop(order.shop_id, {
                "type": "order_paid", "order_id": order_id}))
    except Problem:
        await provider.refund(reference=charge.reference, amount=charge.amount)
        raise
    return await get_order(db, principal, order_id)


async def ship(db: Database, notifier: Notifier, principal: Principal, order_id: int, *,
               carrier: str, tracking_number: str, now: datetime,
               gift_included: bool | None = None) -> dict[str, Any]:
    if error := rules.shipping_error(carrier, tracking_number):
        raise Problem("validation_failed", error)
    async with db.write() as uow:
        order = await access_order(uow.conn, principal, order_id)
        access_shop(principal, order.shop_id)
        if order.status == "paid" and order.shipping_address is None:
            raise Problem("address_required", "买家尚未提供收货地址，不能发货 / the buyer has "
                          "not given a shipping address yet; nothing ships without one")
        if order.status == "paid" and rules.cooling(order.cooling_off_until, now):
            raise Problem("cooling_off", "买家冷静期未结束，暂不能发货 / the buyer's cooling-off "
                          f"period runs until {order.cooling_off_until.isoformat()}",
                          cooling_off_until=order.cooling_off_until.isoformat())
        await deadlines.cancel(uow, ShipBy.kind, order_id, now)
        await _move(uow, order, "ship", now, {"shipped_at": now, "carrier": carrier.strip(),
                                              "tracking_number": tracking_number.strip(),
                                              "gift_shipped": gift_included})
        await record_event(uow, "OrderShipped", now, shop_id=order.shop_id, order_id=order_id,
                           payload={"carrier": carrier.strip(),
                                    "tracking_number": tracking_number.strip()})
    return await get_order(db, principal, order_id)


async def change_address(db: Database, principal: Principal, order_id: int, *,
                         address_id: int, now: datetime) -> dict[str, Any]:
    """The buyer ships a paid order elsewhere, until it has shipped (修改地址)."""
    async with db.write() as uow:
        order = await access_order(uow.conn, principal, order_id)
        if order.buyer_id != principal.user_id:
            raise Problem("forbidden",
                          "只有买家能修改收货地址 / only the buyer changes the address")
        if order.status != "paid":
            raise Problem("invalid_transition", f"订单状态为 {order.status}，不能修改地址 / order "
                          f"is {order.status}; the address can change only before shipping",
                          order_status=order.status)
        address = await accounts.address_copy(uow.conn, principal, address_id)
        result = await uow.conn.execute(update(orders).where(
            orders.c.id == order_id, orders.c.status == "paid").values(
            shipping_address=address, address_set_at=now))
        if result.rowcount != 1:
            raise Problem("invalid_transition",
                          "订单状态已变化，请刷新 / the order changed; reload")
        await record_event(uow, "OrderAddressChanged", now, shop_id=order.shop_id,
                           order_id=order_id, payload={})
        if hours := prize_shipping_hours(order.snapshot):
            # a lottery prize: the shop's shipping time runs from the winner's first address
            await deadlines.schedule(uow, ShipBy.kind, order_id, now + timedelta(hours=hours),
                                     now, {"hours": hours})
    return await get_order(db, principal, order_id)


async def receive(db: Database, principal: Principal, order_id: int, *,
                  now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        order = await access_order(uow.conn, principal, order_id)
        if order.buyer_id != principal.user_id:
            raise Problem("forbidden", "只有买家能确认收货 / only the buyer confirms receipt")
        await _move(uow, order, "receive", now, {"received_at": now})
        await record_event(uow, "OrderReceived", now, shop_id=order.shop_id, order_id=order_id,
                           payload={})
    return await get_order(db, principal, order_id)


@dataclass(frozen=True)
class CompensationPolicy:
    """A share of the order's amount, with a floor and a cap (fen); settings
    LIVEPLEDGE_COMPENSATION_* (docs/promises.md)."""

    percent: int = 30
    floor: int = 500
    cap: int = 5000

    def amount(self, order_amount: int) -> int:
        return rules.compensation(order_amount, percent=self.percent, floor=self.floor,
                                  cap=self.cap)


async def do_compensate(uow: UnitOfWork, provider: PaymentProvider, order: Any, *,
                        amount: int, cause: str, key: str, now: datetime,
                        details: dict[str, Any]) -> None:
    """Pay the buyer compensation through the provider and record it (payments, event)."""
    paid = await provider.compensate(order_id=int(order.id), buyer_id=int(order.buyer_id),
                                     amount=amount, idempotency_key=key)
    await uow.conn.execute(insert(payments).values(
        order_id=order.id, provider=paid.provider, provider_ref=paid.reference, amount=-amount,
        status="succeeded", created_at=now, reason="compensation",
        related={"cause": cause, **details}))
    await record_event(uow, "OrderCompensated", now, shop_id=order.shop_id,
                       session_id=order.session_id, order_id=order.id,
                       payload={"amount": amount, "cause": cause, **details})


async def cancel(db: Database, provider: PaymentProvider, gate: StockGate, notifier: Notifier,
                 principal: Principal, order_id: int, *, reason: str | None,
                 now: datetime, reason_code: str | None = None,
                 policy: CompensationPolicy | None = None) -> dict[str, Any]:
    """A buyer may cancel an unpaid order. A shop may cancel an unpaid or paid order, picking a
    reason from a fixed list; a paid order is refunded what is left of it and, unless the buyer
    asked for the cancellation, the buyer is compensated at once (docs/promises.md)."""
    policy = policy or CompensationPolicy()
    async with db.read() as conn:
        order = await access_order(conn, principal, order_id)
    by_merchant = order.buyer_id != principal.user_id
    if by_merchant and (error := rules.merchant_cancel_error(reason_code, reason)):
        raise Problem("validation_failed", error)
    action = "merchant_cancel" if by_merchant else "buyer_cancel"
    if not by_merchant and order.status == "paid" and rules.cooling(order.cooling_off_until, now):
        action = "cooling_cancel"  # one tap, full refund, during the buyer's cooling-off
    words = (reason or "").strip() or None
    async with db.write() as uow:
        current = (await uow.conn.execute(select(orders).where(orders.c.id == order_id))).one()
        await _move(uow, current, action, now, {
            "closed_at": now, "cancel_reason": words, "cancel_code": reason_code,
            "cancelled_by": "merchant" if by_merchant else "buyer"})
        await do_return_units(uow, current, now)
        refund = None
        compensated = 0
        if current.status == "paid":
            paid = (await uow.conn.execute(select(payments).where(
                payments.c.order_id == order_id, payments.c.status == "succeeded",
                payments.c.amount > 0))).first()
            # What is left to give back: a price-protection refund may already have paid part.
            left = paid.amount - await _refunded(uow.conn, order_id) if paid else 0
            if paid is not None and left > 0:
                refund = await provider.refund(reference=paid.provider_ref, amount=left,
                                               idempotency_key=f"cancel:{order_id}")
                await uow.conn.execute(insert(payments).values(
                    order_id=order_id, provider=refund.provider, provider_ref=refund.reference,
                    amount=-left, status="succeeded", created_at=now, reason="order_cancelled"))
            await coupons.do_return_claim(uow, current, now)
            if by_merchant and reason_code != "buyer_asked":
                compensated = policy.amount(await paid_amount(uow.conn, current))
                await do_compensate(uow, provider, current, amount=compensated,
                                    cause="merchant_cancel", key=f"cancel:{order_id}", now=now,
                                    details={"code": reason_code})
        await record_event(uow, "OrderCancelled", now, shop_id=current.shop_id,
                           session_id=current.session_id, order_id=order_id,
                           payload={"by": "merchant" if by_merchant else "buyer",
                                    "reason": words or "", "code": reason_code,
                                    "was": current.status,
                                    "refunded": refund.amount if refund else 0,
                                    "refund_paid": refund.amount if refund else 0,
                                    "compensated": compensated})
        await deadlines.cancel(uow, ShipBy.kind, order_id, now)
        await deadlines.cancel(uow, CoolingOffEnds.kind, order_id, now)
        uow.on_commit(_after_units_returned(gate, notifier, [current], db))
    return await get_order(db, principal, order_id)


async def do_place_prize_order(uow: UnitOfWork, *, buyer_id: int, shop_id: int,
                               session_id: int, sku_id: int, quantity: int, key: str,
                               snapshot: dict[str, Any], now: datetime) -> int:
    """A lottery prize as a real order: zero price, nothing to pay (it starts `paid`), its units
    already taken from the SKU's stock by the lottery; shipped once the winner gives an address.
    One per (buyer, key): placing it again returns the same order."""
    insert_ = pg_insert if uow.conn.dialect.name == "postgresql" else sqlite_insert
    await uow.conn.execute(insert_(orders).values(
        buyer_id=buyer_id, shop_id=shop_id, session_id=session_id, lineup_item_id=None,
        sku_id=sku_id, quantity=quantity, unit_price=0, amount=0, status="paid",
        idempotency_key=key, snapshot=snapshot, created_at=now, expires_at=now, paid_at=now,
    ).on_conflict_do_nothing(index_elements=["buyer_id", "idempotency_key"]))
    return int((await uow.conn.execute(select(orders.c.id).where(
        orders.c.buyer_id == buyer_id, orders.c.idempotency_key == key))).scalar_one())


async def do_close_refunded(uow: UnitOfWork, order: Any, now: datetime) -> None:
    """A paid, unshipped order refunded in full through after-sales: nothing is left to ship.
    It is cancelled (by the buyer's request) and its units go back."""
    await _move(uow, order, "refunded_cancel", now, {
        "closed_at": now, "cancel_reason": "仅退款（未发货）/ refunded before shipping",
        "cancelled_by": "buyer"})
    await do_return_units(uow, order, now)
    await coupons.do_return_claim(uow, order, now)
    await deadlines.cancel(uow, ShipBy.kind, int(order.id), now)
    await deadlines.cancel(uow, CoolingOffEnds.kind, int(order.id), now)
    await record_event(uow, "OrderCancelled", now, shop_id=order.shop_id,
                       session_id=order.session_id, order_id=order.id,
                       payload={"by": "buyer", "reason": "refund before shipping", "code": None,
                                "was": order.status,
                                "refunded": await paid_amount(uow.conn, order),
                                # the refund itself was the case's (CaseRefunded)
                                "refund_paid": 0, "compensated": 0})


async def order_cases(conn: AsyncConnection, order_id: int) -> list[dict[str, Any]]:
    """The order's after-sales cases, oldest first (the contract of GET /orders/{id})."""
    rows = (await conn.execute(select(cases).where(cases.c.order_id == order_id)
                               .order_by(cases.c.id))).all()
    iso = lambda v: clock.as_utc(v).isoformat() if v else None  # noqa: E731
    return [{"id": r.id, "type": r.type, "status": r.status, "opened_at": iso(r.opened_at),
             "decided_at": iso(r.decided_at), "outcome": r.outcome,
             "deadline": iso(r.deadline_at)} for r in rows]


class ShipBy:
    """The `ship_by` deadline, set at payment when the order carries a shipping-time promise
    (the shortest one): if the order is still unshipped when it passes, the buyer is
    compensated at once, as for a cancellation they did not ask for."""

    kind = "ship_by"

    def __init__(self, provider: PaymentProvider, policy: CompensationPolicy) -> None:
        self.provider = provider
        self.policy = policy

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        order = (await uow.conn.execute(select(orders).where(orders.c.id == ref_id))).first()
        if order is None or order.status != "paid":
            return f"nothing due: {order.status if order else 'no order'}"
        amount = self.policy.amount(await paid_amount(uow.conn, order))
        await do_compensate(uow, self.provider, order, amount=amount, cause="late_shipment",
                            key=f"late:{ref_id}", now=now,
                            details={"hours": payload.get("hours")})
        return f"compensated {amount}"


class CoolingOffEnds:
    """The `cooling_off_end` deadline: the buyer's cooling-off period is over and the order is
    released for shipping (`OrderReleased`)."""

    kind = "cooling_off_end"

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        order = (await uow.conn.execute(select(orders).where(orders.c.id == ref_id))).first()
        if order is None or order.status != "paid":
            return f"nothing to release: {order.status if order else 'no order'}"
        await record_event(uow, "OrderReleased", now, shop_id=order.shop_id,
                           session_id=order.session_id, order_id=ref_id,
                           payload={"cooling_off_until": clock.as_utc(
                               order.cooling_off_until).isoformat()})
        return "released"


def prize_shipping_hours(snapshot: dict[str, Any] | None) -> int | None:
    """A lottery prize order's shipping time (hours from the winner's address), else None."""
    lottery = (snapshot or {}).get("lottery")
    return int(lottery["ship_within_hours"]) if lottery else None


def shipping_hours(snapshot: dict[str, Any] | None) -> int | None:
    hours = [p["terms"]["hours"] for p in (snapshot or {}).get("promises", [])
             if p.get("kind") == "shipping_deadline"]
    return min(hours) if hours else None


async def do_return_units(uow: UnitOfWork, order: Any, now: datetime) -> None:
    """Give an order's units back: to the sale while its session has not ended, else to the
    SKU's stock on hand. The buyer's count for the item drops by the same quantity."""
    if order.lineup_item_id is None:
        await uow.conn.execute(update(skus).where(skus.c.id == order.sku_id)
                               .values(stock=skus.c.stock + order.quantity))
        return
    session_status = (await uow.conn.execute(select(live_sessions.c.status).where(
        live_sessions.c.id == order.session_id))).scalar_one()
    if session_status == "ended":
        await uow.conn.execute(update(skus).where(skus.c.id == order.sku_id)
                               .values(stock=skus.c.stock + order.quantity))
        await uow.conn.execute(update(lineup_items).where(lineup_items.c.id == order.lineup_item_id)
                               .values(stock_allocated=lineup_items.c.stock_allocated
                                       - order.quantity))
    else:
        await uow.conn.execute(update(lineup_items).where(lineup_items.c.id == order.lineup_item_id)
                               .values(stock_remaining=lineup_items.c.stock_remaining
                                       + order.quantity))
    await uow.conn.execute(update(buyer_item_counts).where(
        buyer_item_counts.c.lineup_item_id == order.lineup_item_id,
        buyer_item_counts.c.buyer_id == order.buyer_id,
    ).values(quantity=buyer_item_counts.c.quantity - order.quantity))


def _after_units_returned(gate: StockGate, notifier: Notifier, returned: list[Any],
                          db: Database):  # type: ignore[no-untyped-def]
    async def after() -> None:
        touched: dict[int, int] = {}
        for order in returned:
            if order.lineup_item_id is None:
                continue
            await gate.release(order.lineup_item_id, order.buyer_id, order.quantity)
            touched[order.lineup_item_id] = order.session_id
        if not touched:
            return
        async with db.read() as conn:
            rows = await conn.execute(select(lineup_items.c.id, lineup_items.c.stock_remaining)
                                      .where(lineup_items.c.id.in_(list(touched))))
            for row in rows:
                await notifier.room(touched[row.id], {"type": "stock", "item_id": row.id,
                                                      "stock_remaining": row.stock_remaining})
    return after


async def expire_unpaid(db: Database, gate: StockGate, notifier: Notifier, *, now: datetime,
                        limit: int = 500) -> int:
    """Expire unpaid orders past their deadline and give their units back, exactly once: the
    conditional status update lets only one sweeper (of any worker) win each order."""
    async with db.write() as uow:
        due = select(orders.c.id).where(orders.c.status == "pending_payment",
                                        orders.c.expires_at <= now).order_by(orders.c.id)
        ids = [r.id for r in await uow.conn.execute(due.limit(limit))]
        if not ids:
            return 0
        result = await uow.conn.execute(
            update(orders).where(orders.c.id.in_(ids), orders.c.status == "pending_payment")
            .values(status="expired", closed_at=now, cancelled_by="system")
            .returning(orders.c.id, orders.c.lineup_item_id, orders.c.buyer_id,
                       orders.c.quantity, orders.c.session_id, orders.c.shop_id,
                       orders.c.sku_id))
        expired = result.all()
        for order in expired:
            await do_return_units(uow, order, now)
            await record_event(uow, "OrderExpired", now, shop_id=order.shop_id,
                               session_id=order.session_id, order_id=order.id,
                               payload={"quantity": order.quantity})
        uow.on_commit(_after_units_returned(gate, notifier, expired, db))
    return len(expired)


async def sales_summary(conn: AsyncConnection, item_id: int) -> dict[str, int]:
    """Units per order status for one lineup item (tests and the console use it)."""
    rows = await conn.execute(select(orders.c.status, func.sum(orders.c.quantity))
                              .where(orders.c.lineup_item_id == item_id)
                              .group_by(orders.c.status))
    return {status: int(total) for status, total in rows}
