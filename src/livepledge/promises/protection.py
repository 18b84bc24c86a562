"""Automatic price protection (保价): the `price_protection` event consumer.

When a shop offers a SKU publicly for less — a list price change, or a live price when its sale
opens in a live session — every paid order of that SKU from that shop whose frozen promises
protect it, and whose protection window contains the moment of the offer, is refunded the
difference × the units kept, through the payment provider, with a notice to the buyer. Nobody
asks. Successive drops refund only the new increment; an order's refunds never exceed what was
paid (promises/rules.py). Each refund call carries an idempotency key made of the order and the
event, so a batch repeated after a crash pays nothing twice (docs/promises.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.infra import clock
from livepledge.infra.consumers import Event
from livepledge.infra.db import UnitOfWork
from livepledge.infra.events import insert_events
from livepledge.live.models import lineup_items, live_sessions
from livepledge.notices.service import do_notify_many, notice_row
from livepledge.orders.models import orders, payments
from livepledge.orders.payments import PaymentProvider
from livepledge.promises import rules

KEPT = ("paid", "shipped", "received")


@dataclass(frozen=True)
class Offer:
    shop_id: int
    sku_id: int
    price: int
    at: datetime
    flash_sale: bool  # a limited-quantity live price (some terms exclude it)
    related: dict[str, Any]


def _live(session: Any, at: datetime) -> bool:
    started = session.started_at and clock.as_utc(session.started_at) <= at
    ended = session.ended_at and clock.as_utc(session.ended_at) <= at
    return bool(started and not ended)


async def _item_offer(conn: AsyncConnection, item_id: int, at: datetime,
                      event: Event) -> list[Offer]:
    """The item's live price, if at `at` its sale is open in a live session."""
    row = (await conn.execute(
        select(lineup_items, live_sessions.c.shop_id, live_sessions.c.started_at,
               live_sessions.c.ended_at)
        .join(live_sessions, live_sessions.c.id == lineup_items.c.session_id)
        .where(lineup_items.c.id == item_id))).first()
    if row is None or not _live(row, at):
        return []
    if not clock.as_utc(row.sale_starts_at) <= at <= clock.as_utc(row.sale_ends_at):
        return []
    return [Offer(int(row.shop_id), int(row.sku_id), int(row.live_price), at, True,
                  {"type": "live_price", "item_id": item_id, "session_id": int(row.session_id),
                   "price": int(row.live_price), "event_id": event.id})]


async def offers_of(conn: AsyncConnection, event: Event) -> list[Offer]:
    at = event.occurred_at
    p = event.payload
    if event.type == "PriceChanged" and event.shop_id is not None:
        return [Offer(event.shop_id, int(p["sku_id"]), int(p["price"]), at, False,
                      {"type": "list_price", "sku_id": int(p["sku_id"]), "price": int(p["price"]),
                       "event_id": event.id})]
    if event.type == "SaleOpened" or (event.type == "LineupItemChanged" and "live_price" in p):
        return await _item_offer(conn, int(p["item_id"]), at, event)
    if event.type == "SessionStarted" and event.session_id is not None:
        items = await conn.execute(select(lineup_items.c.id).where(
            lineup_items.c.session_id == event.session_id))
        found: list[Offer] = []
        for item in items:
            found += await _item_offer(conn, int(item.id), at, event)
        return found
    return []


MONEY_CHUNK = 10_000


async def _money(conn: AsyncConnection, order_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per order: the charge to refund against, all refunds so far, price-protection refunds."""
    money: dict[int, dict[str, Any]] = {
        i: {"charge": None, "paid": 0, "refunded": 0, "protected": 0} for i in order_ids}
    rows = []
    # in chunks: PostgreSQL takes at most 32,767 parameters in one statement (100,000
    # protected orders of one SKU is the benchmark's case)
    for start in range(0, len(order_ids), MONEY_CHUNK):
        rows += (await conn.execute(select(payments).where(
            payments.c.order_id.in_(order_ids[start:start + MONEY_CHUNK]),
            payments.c.status == "succeeded"))).all()
    for r in rows:
        entry = money[int(r.order_id)]
        if r.amount > 0:
            entry["charge"] = r.provider_ref
            entry["paid"] = int(r.amount)
        elif r.reason != "compensation":  # compensation is paid on top of the payment
            entry["refunded"] += -int(r.amount)
            if r.reason == "price_protection":
                entry["protected"] += -int(r.amount)
    return money


async def sweep(uow: UnitOfWork, provider: PaymentProvider, offer: Offer, event: Event) -> int:
    """Refund every protected order the offer undercuts; returns how many were refunded."""
    conn = uow.conn
    candidates = (await conn.execute(select(orders).where(
        orders.c.sku_id == offer.sku_id, orders.c.shop_id == offer.shop_id,
        orders.c.status.in_(KEPT), orders.c.paid_at.is_not(None), orders.c.paid_at <= offer.at,
        orders.c.unit_price > offer.price).order_by(orders.c.id))).all()
    eligible = []
    for order in candidates:
        days = rules.protection_days((order.snapshot or {}).get("promises", []),
                                     flash_sale=offer.flash_sale)
        if days and rules.in_protection_window(clock.as_utc(order.paid_at), days, offer.at):
            eligible.append(order)
    if not eligible:
        return 0
    money = await _money(conn, [int(o.id) for o in eligible])
    refunds, events_, notes = [], [], []
    for order in eligible:
        entry = money[int(order.id)]
        amount = rules.protection_refund(
            unit_price=int(order.unit_price), offer_price=offer.price,
            quantity=int(order.quantity),
            returned=int(order.returned_quantity or 0), already=entry["protected"],
            refunded_total=entry["refunded"], amount=entry["paid"],
            discount=int(order.amount) - entry["paid"])
        if amount <= 0 or entry["charge"] is None:
            continue
        refund = await provider.refund(reference=entry["charge"], amount=amount,
                                       idempotency_key=f"pp:{order.id}:{event.id}")
        refunds.append({"order_id": order.id, "provider": refund.provider,
                        "provider_ref": refund.reference, "amount": -amount,
                        "status": "succeeded", "created_at": offer.at,
                        "reason": "price_protection", "related": offer.related})
        events_.append({"type": "PriceProtectionRefunded", "shop_id": offer.shop_id,
                        "session_id": None, "order_id": int(order.id),
                        "occurred_at": event.occurred_at,
                        "payload": {"amount": amount, "unit_price": int(order.unit_price),
                                    "offer_price": offer.price, "offer": offer.related}})
        notes.append(notice_row(event, user_id=int(order.buyer_id),
                                kind="price_protection_refund", session_id=order.session_id,
                                order_id=int(order.id), dedupe=f"e{event.id}:o{order.id}",
                                params={"order_id": int(order.id), "amount": amount,
                                        "unit_price": int(order.unit_price),
                                        "offer_price": offer.price,
                                        "offer_type": offer.related["type"]}))
    if refunds:  # three statements for the whole sweep, not three per order
        await conn.execute(insert(payments), refunds)
        await conn.execute(insert_events(conn), events_)
        await do_notify_many(uow, notes)
    return len(refunds)


class PriceProtection:
    name = "price_protection"
    types = frozenset({"PriceChanged", "SaleOpened", "LineupItemChanged", "SessionStarted"})

    def __init__(self, provider: PaymentProvider) -> None:
        self.provider = provider

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        for offer in await offers_of(uow.conn, event):
            await sweep(uow, self.provider, offer, event)

