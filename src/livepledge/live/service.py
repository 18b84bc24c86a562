"""Live sessions: schedule, lineup, go live, pin/unpin (上链接), end.

Every change records its event in the outbox and is announced to the room only after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shop_members, shops, users
from livepledge.accounts.service import Principal, access_shop
from livepledge.catalog.models import price_history, products, skus
from livepledge.catalog.service import access_sku
from livepledge.infra import deadlines
from livepledge.infra.clock import as_utc
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.live import rules
from livepledge.live.models import lineup_items, live_sessions, script_checks
from livepledge.promises import service as promise_ledger
from livepledge.settlement.service import check_deposit


async def access_session(conn: AsyncConnection, session_id: int) -> Any:
    query = select(live_sessions).where(live_sessions.c.id == session_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise Problem("not_found", f"直播场次不存在 / no such live session: {session_id}")
    return row


def access_session_control(principal: Principal, session: Any) -> None:
    """Shop staff, or the session's own anchor, may run the live."""
    if principal.can_manage(session.shop_id) or principal.user_id == session.anchor_id:
        return
    raise Problem("forbidden", "你不能操作这场直播 / you cannot run this live session")


async def schedule_session(
    db: Database, principal: Principal, shop_id: int, *, title: str, anchor_id: int,
    scheduled_at: datetime, playback_url: str | None, now: datetime,
) -> int:
    access_shop(principal, shop_id)
    if not 1 <= len(title.strip()) <= 120:
        raise Problem("validation_failed", "标题须为 1–120 个字符 / title must be 1-120 chars")
    if error := rules.playback_url_error(playback_url):
        raise Problem("validation_failed", error)
    async with db.write() as uow:
        anchor = (await uow.conn.execute(select(shop_members.c.role).where(
            shop_members.c.shop_id == shop_id, shop_members.c.user_id == anchor_id))).first()
        if anchor is None or anchor.role != "anchor":
            raise Problem("validation_failed",
                          f"用户 {anchor_id} 不是本店主播 / user {anchor_id} is not this "
                          "shop's anchor")
        session_id = int((await uow.conn.execute(insert(live_sessions).values(
            shop_id=shop_id, anchor_id=anchor_id, title=title.strip(), scheduled_at=scheduled_at,
            playback_url=playback_url or None, status="scheduled", created_at=now,
        ).returning(live_sessions.c.id))).scalar_one())
        await record_event(uow, "SessionScheduled", now, shop_id=shop_id, session_id=session_id,
                           payload={"title": title.strip(), "anchor_id": anchor_id})
    return session_id


async def add_lineup_item(
    db: Database, notifier: Notifier, principal: Principal, session_id: int, *, sku_id: int,
    live_price: int, stock_allocated: int, per_buyer_limit: int, sale_starts_at: datetime,
    sale_ends_at: datetime, now: datetime,
) -> int:
    if error := rules.lineup_error(live_price=live_price, allocated=stock_allocated,
                                   per_buyer_limit=per_buyer_limit, starts_at=sale_starts_at,
                                   ends_at=sale_ends_at, now=now):
        raise Problem("validation_failed", error)
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_shop(principal, session.shop_id)
        if session.status == "ended":
            raise Problem("invalid_transition", "直播已结束 / the session has ended")
        sku = await access_sku(uow.conn, sku_id)
        product = (await uow.conn.execute(select(products.c.status).where(
            products.c.id == sku.product_id))).one()
        if sku.shop_id != session.shop_id:
            raise Problem("forbidden", "SKU 不属于本店 / the SKU belongs to another shop")
        if product.status == "draft":
            raise Problem("compliance_blocked",
                          "商品描述未通过合规检查，尚未发布 / the listing has not passed the "
                          "compliance check and is not published")
        if product.status != "active":
            raise Problem("archived", "商品已归档 / the product is archived")
        moved = await uow.conn.execute(update(skus).where(
            skus.c.id == sku_id, skus.c.stock >= stock_allocated
        ).values(stock=skus.c.stock - stock_allocated))
        if moved.rowcount != 1:
            raise Problem("insufficient_stock",
                          f"分配库存 {stock_allocated} 超过现有库存 {sku.stock} / allocation "
                          f"{stock_allocated} exceeds stock on hand {sku.stock}",
                          stock_on_hand=sku.stock)
        item_id = int((await uow.conn.execute(insert(lineup_items).values(
            session_id=session_id, sku_id=sku_id, live_price=live_price,
            stock_allocated=stock_allocated, stock_remaining=stock_allocated,
            per_buyer_limit=per_buyer_limit, sale_starts_at=sale_starts_at,
            sale_ends_at=sale_ends_at, created_at=now).returning(lineup_items.c.id)
        )).scalar_one())
        await uow.conn.execute(insert(price_history).values(
            sku_id=sku_id, price=live_price, changed_by=principal.user_id, changed_at=now,
            context="live"))
        await record_event(uow, "LineupItemAdded", now, shop_id=session.shop_id,
                           session_id=session_id,
                           payload={"item_id": item_id, "sku_id": sku_id, "live_price": live_price,
                                    "stock_allocated": stock_allocated})
        # When the sale opens, its live price is a public offer (price protection reads it).
        await deadlines.schedule(uow, SaleOpens.kind, item_id, sale_starts_at, now)
        await _announce_lineup(uow, notifier, session_id, now)
    return item_id


class SaleOpens:
    """The `sale_opens` deadline: at a lineup item's sale start, record `SaleOpened` if its
    session is live (a session that goes live later opens its sales with `SessionStarted`).
    The event's time is when the sale really opened, even when the server was down then."""

    kind = "sale_opens"

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        row = (await uow.conn.execute(
            select(lineup_items, live_sessions.c.shop_id, live_sessions.c.started_at,
                   live_sessions.c.ended_at)
            .join(live_sessions, live_sessions.c.id == lineup_items.c.session_id)
            .where(lineup_items.c.id == ref_id))).first()
        if row is None:
            return "no such item"
        started = as_utc(row.started_at) if row.started_at else None
        if started is None:
            return "session not live yet (SessionStarted opens the sale)"
        # Open from its start, or from when the session went live, or from when the item was
        # added to a live session with a start already past: whichever came last.
        opened = max(as_utc(row.sale_starts_at), started, as_utc(row.created_at))
        if opened == started:  # it opened with the session: `SessionStarted` says so already
            return "opened with the session (SessionStarted)"
        ended = as_utc(row.ended_at) if row.ended_at else None
        if (ended is not None and ended <= opened) or opened > as_utc(row.sale_ends_at):
            return "session not live while the sale was open"
        await record_event(uow, "SaleOpened", opened, shop_id=row.shop_id,
                           session_id=row.session_id,
                           payload={"item_id": ref_id, "sku_id": row.sku_id,
                                    "live_price": row.live_price})
        return "opened"


async def update_lineup_item(
    db: Database, notifier: Notifier, principal: Principal, session_id: int, item_id: int, *,
    live_price: int | None, sale_ends_at: datetime | None, now: datetime,
) -> None:
    """A live price change applies going forward; orders already placed keep their price."""
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_shop(principal, session.shop_id)
        item = await access_item(uow.conn, session_id, item_id)
        if session.status == "ended":
            raise Problem("invalid_transition", "直播已结束 / the session has ended")
        values: dict[str, Any] = {}
        if live_price is not None and live_price != item.live_price:
            if not 1 <= live_price <= 100_000_000_00:
                raise Problem("validation_failed", "直播价须大于 0 / live price must be positive")
            values["live_price"] = live_price
            await uow.conn.execute(insert(price_history).values(
                sku_id=item.sku_id, price=live_price, changed_by=principal.user_id,
                changed_at=now, context="live"))
        if sale_ends_at is not None:
            if sale_ends_at <= item.sale_starts_at:
                raise Problem("validation_failed",
                              "结束时间须晚于开始时间 / the sale must end after it starts")
            values["sale_ends_at"] = sale_ends_at
        if values:
            await uow.conn.execute(update(lineup_items).where(lineup_items.c.id == item_id)
                                   .values(**values))
            await record_event(uow, "LineupItemChanged", now, shop_id=session.shop_id,
                               session_id=session_id,
                               payload={"item_id": item_id, **{k: str(v) if isinstance(
                                   v, datetime) else v for k, v in values.items()}})
            await _announce_lineup(uow, notifier, session_id, now, changed=[item_id])


async def access_item(conn: AsyncConnection, session_id: int, item_id: int) -> Any:
    row = (await conn.execute(select(lineup_items).where(
        lineup_items.c.id == item_id, lineup_items.c.session_id == session_id))).first()
    if row is None:
        raise Problem("not_found", f"直播商品不存在 / no such lineup item: {item_id}")
    return row


async def _transition(
    db: Database, notifier: Notifier, principal: Principal, session_id: int, action: str,
    now: datetime, *, min_deposit: int = 0,
) -> None:
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        target = rules.transition(session.status, action)
        if target is None:
            raise Problem("invalid_transition",
                          f"当前状态 {session.status} 不能 {action} / cannot {action} a "
                          f"{session.status} session")
        if action == "start" and await latest_script_blocks(uow.conn, session_id):
            raise Problem("compliance_blocked",
                          "最近提交的话术脚本仍有违规，请修改后重新检查 / the latest script still "
                          "has violations; fix it and check it again before going live")
        if action == "start":
            await check_anchor_free(uow.conn, session)
            await check_deposit(uow.conn, session.shop_id, min_deposit)
        stamp = {"started_at": now} if action == "start" else {"ended_at": now,
                                                                "pinned_item_id": None}
        try:
            result = await uow.conn.execute(update(live_sessions).where(
                live_sessions.c.id == session_id, live_sessions.c.status == session.status
            ).values(status=target, **stamp))
        except IntegrityError as exc:  # the anchor went live elsewhere at this very moment
            raise _anchor_busy() from exc
        if result.rowcount != 1:
            raise Problem("invalid_transition", "状态已被他人修改 / status changed concurrently")
        if action == "end":
            await _return_unsold_stock(uow, session_id)
        event = "SessionStarted" if action == "start" else "SessionEnded"
        await record_event(uow, event, now, shop_id=session.shop_id, session_id=session_id,
                           payload={"by": principal.user_id})
        await _announce_lineup(uow, notifier, session_id, now)


def _anchor_busy(other: int | None = None) -> Problem:
    where = f"（场次 {other}）" if other else ""
    return Problem("invalid_transition",
                   f"该主播正在另一场直播中{where}，请先下播 / the anchor is live in another "
                   f"session{f' ({other})' if other else ''}; end it first", live_session_id=other)


async def check_anchor_free(conn: AsyncConnection, session: Any) -> None:
    """One anchor, one live room at a time (the database's unique index is the last word)."""
    other = (await conn.execute(select(live_sessions.c.id).where(
        live_sessions.c.anchor_id == session.anchor_id, live_sessions.c.status == "live",
        live_sessions.c.id != session.id))).scalar_one_or_none()
    if other is not None:
        raise _anchor_busy(other)


async def latest_script_blocks(conn: AsyncConnection, session_id: int) -> bool:
    """True when the latest pre-live script submitted for the session has violations."""
    row = (await conn.execute(select(script_checks.c.violation).where(
        script_checks.c.session_id == session_id).order_by(script_checks.c.id.desc()).limit(1)
    )).first()
    return bool(row and row.violation)


async def _return_unsold_stock(uow: UnitOfWork, session_id: int) -> None:
    """At the end of a live, units not sold go back to the SKU's stock on hand."""
    items = await uow.conn.execute(select(lineup_items.c.id, lineup_items.c.sku_id,
                                          lineup_items.c.stock_remaining)
                                   .where(lineup_items.c.session_id == session_id))
    for item in items.all():
        if item.stock_remaining <= 0:
            continue
        await uow.conn.execute(update(skus).where(skus.c.id == item.sku_id)
                               .values(stock=skus.c.stock + item.stock_remaining))
        await uow.conn.execute(update(lineup_items).where(lineup_items.c.id == item.id).values(
            stock_allocated=lineup_items.c.stock_allocated - item.stock_remaining,
            stock_remaining=0))


async def start_session(db: Database, notifier: Notifier, principal: Principal,
                        session_id: int, now: datetime, *, min_deposit: int = 0) -> None:
    """Go live; a shop whose deposit is below `min_deposit` fen cannot (docs/money.md)."""
    await _transition(db, notifier, principal, session_id, "start", now,
                      min_deposit=min_deposit)


async def end_session(db: Database, notifier: Notifier, principal: Principal,
                      session_id: int, now: datetime) -> None:
    await _transition(db, notifier, principal, session_id, "end", now)


async def pin_item(
    db: Database, notifier: Notifier, principal: Principal, session_id: int,
    item_id: int | None, now: datetime,
) -> None:
    """Pin (上链接) an item, or unpin with item_id None. Only while live."""
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        if session.status != "live":
            raise Problem("invalid_transition",
                          "只能在直播中上链接 / items can be pinned only while live")
        if item_id is not None:
            await access_item(uow.conn, session_id, item_id)
        await uow.conn.execute(update(live_sessions).where(live_sessions.c.id == session_id)
                               .values(pinned_item_id=item_id))
        await record_event(uow, "ItemPinned" if item_id else "ItemUnpinned", now,
                           shop_id=session.shop_id, session_id=session_id,
                           payload={"item_id": item_id or session.pinned_item_id})
        await _announce_lineup(uow, notifier, session_id, now)


async def _announce_lineup(
    uow: UnitOfWork, notifier: Notifier, session_id: int, now: datetime,
    changed: list[int] | None = None,
) -> None:
    view = await session_view(uow.conn, session_id, now)
    message = {"type": "session", "session": _room_session(view)}

    async def announce() -> None:
        await notifier.room(session_id, message)
        await notifier.items_changed(changed or [i["id"] for i in view["lineup"]])

    uow.on_commit(announce)


async def republish(db: Database, notifier: Notifier, session_ids: list[int],
                    now: datetime) -> None:
    """Send the rooms their session again (the lineup's promises or prices changed outside a
    lineup action: a promise declared or withdrawn)."""
    for session_id in session_ids:
        async with db.read() as conn:
            view = await session_view(conn, session_id, now)
        await notifier.room(session_id, {"type": "session", "session": _room_session(view)})


def _room_session(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("id", "status", "title", "pinned_item_id", "lineup",
                                  "started_at", "ended_at", "playback_url")}


async def session_view(conn: AsyncConnection, session_id: int, now: datetime) -> dict[str, Any]:
    """The public view of a session: seller identity, anchor, status, lineup with live stock."""
    session = await access_session(conn, session_id)
    shop = (await conn.execute(select(shops).where(shops.c.id == session.shop_id))).one()
    anchor = (await conn.execute(select(users.c.id, users.c.display_name)
                                 .where(users.c.id == session.anchor_id))).one()
    rows = await conn.execute(
        select(lineup_items, skus.c.name.label("sku_name"), skus.c.price.label("list_price"),
               products.c.title.label("product_title"), products.c.id.label("product_id"),
               products.c.category)
        .join(skus, skus.c.id == lineup_items.c.sku_id)
        .join(products, products.c.id == skus.c.product_id)
        .where(lineup_items.c.session_id == session_id).order_by(lineup_items.c.id))
    lineup = [_item_view(r, session.status, now) for r in rows]
    references = await promise_ledger.reference_prices(conn, [i["sku_id"] for i in lineup], now)
    for item in lineup:
        item["reference_price"] = references.get(item["sku_id"])
        item["promises"] = [
            {k: v[k] for k in ("id", "kind", "terms", "label", "description", "enforced")}
            for v in await promise_ledger.item_promises(conn, item["id"], now)]
    return {
        "id": session.id, "title": session.title, "status": session.status,
        "scheduled_at": _iso(session.scheduled_at), "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at), "playback_url": session.playback_url,
        "pinned_item_id": session.pinned_item_id,
        "shop": {"id": shop.id, "name": shop.name, "legal_name": shop.legal_name,
                 "license_no": shop.license_no},
        "anchor": {"id": anchor.id, "display_name": anchor.display_name},
        "lineup": lineup,
    }


def _item_view(row: Any, session_status: str, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id, "sku_id": row.sku_id, "product_id": row.product_id,
        "product_title": row.product_title, "sku_name": row.sku_name,
        "category": row.category, "list_price": row.list_price, "live_price": row.live_price,
        "stock_allocated": row.stock_allocated, "stock_remaining": row.stock_remaining,
        "per_buyer_limit": row.per_buyer_limit,
        "sale_starts_at": _iso(row.sale_starts_at), "sale_ends_at": _iso(row.sale_ends_at),
        "sale_state": rules.sale_state(session_status=session_status,
                                       starts_at=row.sale_starts_at, ends_at=row.sale_ends_at,
                                       now=now),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def list_sessions(db: Database, shop_id: int) -> list[dict[str, Any]]:
    async with db.read() as conn:
        if (await conn.execute(select(shops.c.id).where(shops.c.id == shop_id))).first() is None:
            raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
        rows = await conn.execute(select(live_sessions).where(live_sessions.c.shop_id == shop_id)
                                  .order_by(live_sessions.c.id.desc()))
        return [{"id": r.id, "title": r.title, "status": r.status,
                 "scheduled_at": _iso(r.scheduled_at), "anchor_id": r.anchor_id} for r in rows]


async def anchor_of(conn: AsyncConnection, session_id: int) -> int | None:
    """Who hosts the session (None: no such session)."""
    return (await conn.execute(select(live_sessions.c.anchor_id).where(
        live_sessions.c.id == session_id))).scalar_one_or_none()


def anchor_sessions(shop_id: int, anchor_id: int) -> Select[Any]:
    """The ids of a shop's sessions hosted by this anchor, as a subquery for other domains'
    filters (the after-sales queue by anchor)."""
    return select(live_sessions.c.id).where(live_sessions.c.shop_id == shop_id,
                                            live_sessions.c.anchor_id == anchor_id)


async def live_session_ids(db: Database) -> list[int]:
    async with db.read() as conn:
        rows = await conn.execute(select(live_sessions.c.id).where(
            live_sessions.c.status == "live").order_by(live_sessions.c.id))
        return [r.id for r in rows]




async def open_sessions_selling(conn: AsyncConnection, shop_id: int, sku_id: int,
                                at: datetime) -> list[int]:
    """The shop's sessions not ended, created by `at`, whose lineup sells this SKU (the session
    record logs the SKU's list-price changes in each)."""
    rows = await conn.execute(
        select(lineup_items.c.session_id).join(
            live_sessions, live_sessions.c.id == lineup_items.c.session_id)
        .where(live_sessions.c.shop_id == shop_id, live_sessions.c.status != "ended",
               live_sessions.c.created_at <= at, lineup_items.c.sku_id == sku_id)
        .distinct().order_by(lineup_items.c.session_id))
    return [int(r.session_id) for r in rows]
