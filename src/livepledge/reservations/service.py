"""预约 (reservations) of scheduled sessions, and the in-app notices they produce.

A logged-in buyer reserves a scheduled session from the shop's upcoming-lives page. When the
session goes live, the `reservations` event consumer (infra/consumers.py) reads its
`SessionStarted` event from the outbox and puts a notice in each reserving buyer's inbox
(站内通知, notices/): durable, once per buyer, never lost. There is no push channel: the pages
read the inbox from the API.

Also the buyer's read-only views of a room that the live room page needs besides its WebSocket:
the product bag (images, what this buyer has already bought of each item, what was sold) and
this buyer's orders in the session (the order strip, cancellations and refunds included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    case,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops, users
from livepledge.accounts.service import Principal
from livepledge.catalog.models import product_images, products, skus
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.problems import Problem
from livepledge.live.models import lineup_items, live_sessions
from livepledge.live.service import access_session
from livepledge.orders.models import buyer_item_counts, orders, payments
from livepledge.orders.rules import cancel_label
from livepledge.reservations.models import session_reservations

# Orders that count as sold: paid and on their way or delivered (not pending, not cancelled).
SOLD_STATUSES = ("paid", "shipped", "received")
UPCOMING_LIMIT = 50
ENDED_LIMIT = 10


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _reservation_counts(conn: AsyncConnection, session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = await conn.execute(
        select(session_reservations.c.session_id, func.count())
        .where(session_reservations.c.session_id.in_(session_ids))
        .group_by(session_reservations.c.session_id))
    return {r[0]: r[1] for r in rows}


async def _mine(conn: AsyncConnection, user_id: int | None, session_ids: list[int]) -> set[int]:
    if user_id is None or not session_ids:
        return set()
    rows = await conn.execute(select(session_reservations.c.session_id).where(
        session_reservations.c.user_id == user_id,
        session_reservations.c.session_id.in_(session_ids)))
    return {r[0] for r in rows}


async def _covers(conn: AsyncConnection, product_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """Each product's pictures in the merchant's order: {product_id: [{thumb_url, url}]}."""
    if not product_ids:
        return {}
    rows = await conn.execute(
        select(product_images.c.product_id, product_images.c.thumb_key,
               product_images.c.large_key)
        .where(product_images.c.product_id.in_(product_ids),
               product_images.c.removed_at.is_(None))
        .order_by(product_images.c.product_id, product_images.c.position, product_images.c.id))
    covers: dict[int, list[dict[str, str]]] = {}
    for r in rows:
        covers.setdefault(r.product_id, []).append(
            {"thumb_url": f"/media/{r.thumb_key}", "url": f"/media/{r.large_key}"})
    return covers


async def shop_lives(db: Database, principal: Principal | None, shop_id: int) -> dict[str, Any]:
    """A shop's public schedule: live now, upcoming (soonest first) and the latest ended
    sessions, each with its lineup's pictures and how many buyers reserved it."""
    async with db.read() as conn:
        shop = (await conn.execute(select(shops.c.id, shops.c.name, shops.c.legal_name,
                                          shops.c.license_no).where(shops.c.id == shop_id))).first()
        if shop is None:
            raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
        base = (select(live_sessions, users.c.display_name.label("anchor_name"))
                .join(users, users.c.id == live_sessions.c.anchor_id)
                .where(live_sessions.c.shop_id == shop_id))
        live_rows = (await conn.execute(base.where(live_sessions.c.status == "live")
                                        .order_by(live_sessions.c.started_at.desc()))).all()
        upcoming_rows = (await conn.execute(
            base.where(live_sessions.c.status == "scheduled")
            .order_by(live_sessions.c.scheduled_at, live_sessions.c.id)
            .limit(UPCOMING_LIMIT))).all()
        ended_rows = (await conn.execute(
            base.where(live_sessions.c.status == "ended")
            .order_by(live_sessions.c.ended_at.desc(), live_sessions.c.id.desc())
            .limit(ENDED_LIMIT))).all()
        every = [*live_rows, *upcoming_rows, *ended_rows]
        ids = [r.id for r in every]
        counts = await _reservation_counts(conn, ids)
        mine = await _mine(conn, principal.user_id if principal else None, ids)
        lineup: dict[int, list[Any]] = {}
        if ids:
            for r in await conn.execute(
                    select(lineup_items.c.session_id, lineup_items.c.live_price,
                           products.c.id.label("product_id"), products.c.title)
                    .join(skus, skus.c.id == lineup_items.c.sku_id)
                    .join(products, products.c.id == skus.c.product_id)
                    .where(lineup_items.c.session_id.in_(ids))
                    .order_by(lineup_items.c.session_id, lineup_items.c.id)):
                lineup.setdefault(r.session_id, []).append(r)
        covers = await _covers(conn, list({r.product_id for rs in lineup.values() for r in rs}))

    def view(r: Any) -> dict[str, Any]:
        items = lineup.get(r.id, [])
        return {
            "id": r.id, "title": r.title, "status": r.status,
            "scheduled_at": _iso(r.scheduled_at), "started_at": _iso(r.started_at),
            "ended_at": _iso(r.ended_at), "has_replay": bool(r.playback_url),
            "anchor": {"id": r.anchor_id, "display_name": r.anchor_name},
            "items": [{"title": i.title, "live_price": i.live_price,
                       "thumb_url": (covers.get(i.product_id) or [{}])[0].get("thumb_url")}
                      for i in items],
            "reservations": counts.get(r.id, 0), "reserved": r.id in mine,
        }

    return {"shop": {"id": shop.id, "name": shop.name, "legal_name": shop.legal_name,
                     "license_no": shop.license_no},
            "live": [view(r) for r in live_rows], "upcoming": [view(r) for r in upcoming_rows],
            "ended": [view(r) for r in ended_rows]}


async def _reservation_view(conn: AsyncConnection, session_id: int,
                            user_id: int) -> dict[str, Any]:
    mine = await _mine(conn, user_id, [session_id])
    counts = await _reservation_counts(conn, [session_id])
    return {"session_id": session_id, "reserved": session_id in mine,
            "reservations": counts.get(session_id, 0)}


async def reserve(db: Database, principal: Principal, session_id: int,
                  now: datetime) -> dict[str, Any]:
    """Reserve a scheduled session. Reserving twice is the same as once (idempotent)."""
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        if session.status == "live":
            raise Problem("invalid_transition",
                          "已经开播了，直接进入直播间吧 / the session is already live")
        if session.status != "scheduled":
            raise Problem("invalid_transition", "直播已结束，无法预约 / the session has ended")
        insert_ = sqlite.insert if db.is_sqlite else postgresql.insert
        await uow.conn.execute(insert_(session_reservations).values(
            session_id=session_id, user_id=principal.user_id, created_at=now)
            .on_conflict_do_nothing())
        return await _reservation_view(uow.conn, session_id, principal.user_id)


async def cancel_reservation(db: Database, principal: Principal,
                             session_id: int) -> dict[str, Any]:
    """Withdraw a reservation (idempotent: withdrawing none changes nothing)."""
    async with db.write() as uow:
        await access_session(uow.conn, session_id)
        await uow.conn.execute(session_reservations.delete().where(
            session_reservations.c.session_id == session_id,
            session_reservations.c.user_id == principal.user_id))
        return await _reservation_view(uow.conn, session_id, principal.user_id)


class ReservationNotices:
    """When a session goes live (`SessionStarted`), each buyer who reserved it gets a notice in
    their inbox (站内通知, notices/): one per buyer and session, however often the event is
    handled."""

    name = "reservations"
    types = frozenset({"SessionStarted"})

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        from livepledge.notices.service import do_notify

        if event.session_id is None:
            return
        session = (await uow.conn.execute(
            select(live_sessions.c.id, live_sessions.c.title, shops.c.id.label("shop_id"),
                   shops.c.name.label("shop_name"))
            .join(shops, shops.c.id == live_sessions.c.shop_id)
            .where(live_sessions.c.id == event.session_id))).first()
        if session is None:
            return
        users_ = (await uow.conn.execute(select(session_reservations.c.user_id).where(
            session_reservations.c.session_id == event.session_id)
            .order_by(session_reservations.c.user_id))).scalars().all()
        for user_id in users_:
            await do_notify(uow, event, user_id=user_id, kind="session_live",
                            params={"session_id": session.id, "title": session.title,
                                    "shop_id": session.shop_id, "shop_name": session.shop_name},
                            dedupe=f"live{session.id}")


# --- the live room's bag and order strip ---------------------------------------------------------

async def session_bag(db: Database, principal: Principal | None,
                      session_id: int) -> dict[str, Any]:
    """The product bag's extras for each lineup item: pictures, units sold, and how many this
    buyer has bought (for the per-buyer limit); and the session's sales summary."""
    async with db.read() as conn:
        await access_session(conn, session_id)
        items = (await conn.execute(
            select(lineup_items.c.id, products.c.id.label("product_id"))
            .join(skus, skus.c.id == lineup_items.c.sku_id)
            .join(products, products.c.id == skus.c.product_id)
            .where(lineup_items.c.session_id == session_id)
            .order_by(lineup_items.c.id))).all()
        covers = await _covers(conn, list({r.product_id for r in items}))
        sold = {r.lineup_item_id: (int(r.units), int(r.count)) for r in await conn.execute(
            select(orders.c.lineup_item_id, func.sum(orders.c.quantity).label("units"),
                   func.count().label("count"))
            .where(orders.c.session_id == session_id, orders.c.status.in_(SOLD_STATUSES))
            .group_by(orders.c.lineup_item_id))}
        bought: dict[int, int] = {}
        if principal is not None and items:
            bought = {r.lineup_item_id: r.quantity for r in await conn.execute(
                select(buyer_item_counts.c.lineup_item_id, buyer_item_counts.c.quantity).where(
                    buyer_item_counts.c.buyer_id == principal.user_id,
                    buyer_item_counts.c.lineup_item_id.in_([r.id for r in items])))}
    return {
        "session_id": session_id,
        "items": [{"id": r.id, "images": covers.get(r.product_id, []),
                   "sold_units": sold.get(r.id, (0, 0))[0],
                   "sold_orders": sold.get(r.id, (0, 0))[1],
                   "bought": bought.get(r.id, 0) if principal is not None else None}
                  for r in items],
        "sold": {"units": sum(u for u, _ in sold.values()),
                 "orders": sum(c for _, c in sold.values())},
    }


async def my_session_orders(db: Database, principal: Principal,
                            session_id: int) -> list[dict[str, Any]]:
    """This buyer's orders in the session, newest first, with the cancellation's reason in
    words and what was refunded and (on top) paid in compensation."""
    async with db.read() as conn:
        await access_session(conn, session_id)
        back = (payments.c.reason.is_(None)) | (payments.c.reason != "compensation")
        refunds = (select(payments.c.order_id,
                          (-func.sum(case((back, payments.c.amount), else_=0))).label("refunded"),
                          (-func.sum(case((back, 0), else_=payments.c.amount)))
                          .label("compensated"))
                   .where(payments.c.amount < 0, payments.c.status == "succeeded")
                   .group_by(payments.c.order_id).subquery())
        rows = (await conn.execute(
            select(orders.c.id, orders.c.lineup_item_id, orders.c.quantity, orders.c.amount,
                   orders.c.status, orders.c.snapshot, orders.c.created_at,
                   orders.c.expires_at, orders.c.closed_at, orders.c.cancel_reason,
                   orders.c.cancel_code, orders.c.cancelled_by,
                   func.coalesce(refunds.c.refunded, 0).label("refunded"),
                   func.coalesce(refunds.c.compensated, 0).label("compensated"))
            .outerjoin(refunds, refunds.c.order_id == orders.c.id)
            .where(and_(orders.c.buyer_id == principal.user_id,
                        orders.c.session_id == session_id))
            .order_by(orders.c.id.desc()).limit(50))).all()
    return [{"id": r.id, "lineup_item_id": r.lineup_item_id, "quantity": r.quantity,
             "amount": r.amount, "status": r.status,
             "product_title": (r.snapshot or {}).get("product_title"),
             "sku_name": (r.snapshot or {}).get("sku_name"),
             "created_at": _iso(r.created_at), "expires_at": _iso(r.expires_at),
             "closed_at": _iso(r.closed_at), "cancel_reason": r.cancel_reason,
             "cancel_reason_words": cancel_label(r.cancel_code, r.cancel_reason)
             if r.status == "cancelled" else None,
             "cancelled_by": r.cancelled_by, "refunded": int(r.refunded),
             "compensated": int(r.compensated)} for r in rows]
