"""Lotteries (福袋/抽奖), commit–reveal (docs/lottery.md).

Created in a live session by the shop's staff or the session's anchor: the prize units are taken
from the SKU's stock at once, a secret seed is drawn and its SHA-256 commitment published
(`LotteryCreated`) before anyone can enter. Buyers who meet the conditions enter once each
(`LotteryEntered`, with only the entrant hash). When the window ends, the durable `lottery_draw`
deadline fixes the entry list and its Merkle root (`LotteryClosed`), reveals the seed and draws
(`LotteryDrawn`); the `lottery_prizes` deadline then places one zero-price prize order per
winner (`PrizeOrderPlaced`), exactly once in effect after any crash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops
from livepledge.accounts.service import Principal
from livepledge.catalog.models import products, skus
from livepledge.catalog.service import access_sku
from livepledge.infra import clock, deadlines
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.live.models import chat_messages, viewer_visits
from livepledge.live.service import access_session, access_session_control
from livepledge.lottery import draw, rules
from livepledge.lottery.models import lotteries, lottery_entries, lottery_winners
from livepledge.lottery.verify import KIND
from livepledge.orders import service as orders_service
from livepledge.orders.models import orders

DRAW_KIND = "lottery_draw"
PRIZES_KIND = "lottery_prizes"
BOUGHT_STATUSES = ("paid", "shipped", "received")


def _iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value else None


# --- reading --------------------------------------------------------------------------------

async def access_lottery(conn: AsyncConnection, lottery_id: int) -> Any:
    row = (await conn.execute(select(lotteries).where(lotteries.c.id == lottery_id))).first()
    if row is None:
        raise Problem("not_found", f"抽奖不存在 / no such lottery: {lottery_id}")
    return row


async def _prize(conn: AsyncConnection, sku_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(skus.c.id, skus.c.name, skus.c.price,
                                     products.c.title.label("product_title"))
                              .join(products, products.c.id == skus.c.product_id)
                              .where(skus.c.id == sku_id))).one()
    return {"sku_id": row.id, "product_title": row.product_title, "sku_name": row.name,
            "list_price": row.price}


def public_view(row: Any, prize: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What anyone may see: never the seed before the draw, never who entered."""
    state = rules.state(status=row.status, opens_at=clock.as_utc(row.opens_at),
                        closes_at=clock.as_utc(row.closes_at), now=now)
    return {
        "id": row.id, "session_id": row.session_id, "shop_id": row.shop_id, "title": row.title,
        "prize": {**prize, "quantity": row.prize_quantity},
        "winners_count": row.winners_count, "opens_at": _iso(row.opens_at),
        "closes_at": _iso(row.closes_at), "conditions": list(row.conditions),
        "condition_labels": rules.labels(list(row.conditions)),
        "ship_within_hours": row.ship_within_hours, "state": state,
        "commitment": row.commitment, "entry_count": row.entries,
        "entry_root": row.entry_root, "seed": row.revealed_seed, "drawn_at": _iso(row.drawn_at),
        "verification_url": f"/lotteries/{row.id}/verify",
    }


async def _winner_hashes(conn: AsyncConnection, lottery_id: int) -> list[str]:
    return list((await conn.execute(select(lottery_winners.c.entrant_hash).where(
        lottery_winners.c.lottery_id == lottery_id).order_by(lottery_winners.c.rank)))
        .scalars().all())


async def _my_entry(conn: AsyncConnection, lottery_id: int,
                    principal: Principal | None) -> dict[str, Any] | None:
    if principal is None:
        return None
    entry = (await conn.execute(select(lottery_entries).where(
        lottery_entries.c.lottery_id == lottery_id,
        lottery_entries.c.buyer_id == principal.user_id))).first()
    if entry is None:
        return None
    won = (await conn.execute(select(lottery_winners.c.order_id).where(
        lottery_winners.c.lottery_id == lottery_id,
        lottery_winners.c.entry_id == entry.id))).first()
    return {"position": entry.position, "nonce": entry.nonce,
            "entrant_hash": entry.entrant_hash, "entered_at": _iso(entry.created_at),
            "won": won is not None, "prize_order_id": won.order_id if won else None}


async def _view(conn: AsyncConnection, row: Any, principal: Principal | None,
                now: datetime) -> dict[str, Any]:
    view = public_view(row, await _prize(conn, row.prize_sku_id), now)
    view["winners"] = await _winner_hashes(conn, row.id) if row.status == "drawn" else []
    view["my_entry"] = await _my_entry(conn, row.id, principal)
    return view


async def get_lottery(db: Database, principal: Principal | None, lottery_id: int,
                      now: datetime) -> dict[str, Any]:
    async with db.read() as conn:
        return await _view(conn, await access_lottery(conn, lottery_id), principal, now)


async def session_lotteries(db: Database, principal: Principal | None, session_id: int,
                            now: datetime) -> list[dict[str, Any]]:
    """A session's lotteries, newest first (the room's lottery card shows the first)."""
    async with db.read() as conn:
        await access_session(conn, session_id)
        rows = (await conn.execute(select(lotteries).where(lotteries.c.session_id == session_id)
                                   .order_by(lotteries.c.id.desc()).limit(20))).all()
        return [await _view(conn, row, principal, now) for row in rows]


async def verification_document(db: Database, lottery_id: int) -> dict[str, Any]:
    """Everything needed to recompute the draw, public (lottery/verify.py checks it)."""
    async with db.read() as conn:
        row = await access_lottery(conn, lottery_id)
        prize = await _prize(conn, row.prize_sku_id)
        drawn = row.status == "drawn"
        entries = (await conn.execute(select(lottery_entries.c.entrant_hash).where(
            lottery_entries.c.lottery_id == lottery_id).order_by(lottery_entries.c.position))
            ).scalars().all() if drawn else []
        winners = (await conn.execute(
            select(lottery_winners.c.rank, lottery_winners.c.entrant_hash,
                   lottery_entries.c.position)
            .join(lottery_entries, lottery_entries.c.id == lottery_winners.c.entry_id)
            .where(lottery_winners.c.lottery_id == lottery_id)
            .order_by(lottery_winners.c.rank))).all()
    return {
        "kind": KIND, "algorithm": draw.ALGORITHM, "lottery_id": row.id,
        "session_id": row.session_id, "shop_id": row.shop_id, "title": row.title,
        "prize": {**prize, "quantity": row.prize_quantity},
        "conditions": list(row.conditions), "opens_at": _iso(row.opens_at),
        "closes_at": _iso(row.closes_at), "created_at": _iso(row.created_at),
        "status": row.status, "commitment": row.commitment,
        "seed": row.revealed_seed if drawn else None,
        "entry_count": row.entries, "entry_root": row.entry_root,
        # the entry list is published once it is fixed (at the close), with the seed
        "entries": list(entries), "winners_count": row.winners_count,
        "winners": [{"rank": w.rank, "index": w.position, "entrant_hash": w.entrant_hash}
                    for w in winners],
        "drawn_at": _iso(row.drawn_at),
    }


# --- creating -------------------------------------------------------------------------------

async def create_lottery(db: Database, notifier: Notifier, principal: Principal,
                         session_id: int, *, title: str, sku_id: int, prize_quantity: int,
                         winners: int, opens_at: datetime | None, closes_at: datetime,
                         conditions: list[dict[str, Any]], ship_within_hours: int,
                         now: datetime) -> dict[str, Any]:
    opens_at = opens_at or now
    if error := (rules.conditions_error(conditions) or rules.lottery_error(
            title=title, winners=winners, prize_quantity=prize_quantity, opens_at=opens_at,
            closes_at=closes_at, ship_within_hours=ship_within_hours, now=now)):
        raise Problem("validation_failed", error)
    seed = draw.new_seed()
    units = winners * prize_quantity
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        if session.status != "live":
            raise Problem("invalid_transition", "只能在直播中发起抽奖 / a lottery is created "
                          f"while the session is live (it is {session.status})")
        sku = await access_sku(uow.conn, sku_id)
        if sku.shop_id != session.shop_id:
            raise Problem("forbidden", "奖品 SKU 不属于本店 / the prize SKU belongs to another "
                          "shop")
        product = (await uow.conn.execute(select(products.c.status).where(
            products.c.id == sku.product_id))).one()
        if product.status != "active" or sku.status != "active":
            raise Problem("archived", "奖品商品未上架 / the prize product is not on sale")
        moved = await uow.conn.execute(update(skus).where(
            skus.c.id == sku_id, skus.c.stock >= units).values(stock=skus.c.stock - units))
        if moved.rowcount != 1:
            raise Problem("insufficient_stock", f"奖品需要 {units} 件，库存只有 {sku.stock} 件 / "
                          f"the prizes need {units} units, {sku.stock} on hand",
                          stock_on_hand=sku.stock)
        lottery_id = int((await uow.conn.execute(insert(lotteries).values(
            session_id=session_id, shop_id=session.shop_id, created_by=principal.user_id,
            title=title.strip(), prize_sku_id=sku_id, prize_quantity=prize_quantity,
            winners_count=winners, stock_reserved=units, opens_at=opens_at,
            closes_at=closes_at, conditions=conditions, ship_within_hours=ship_within_hours,
            seed=seed.hex(), commitment=draw.commitment(seed).hex(), status="open",
            entries=0, created_at=now).returning(lotteries.c.id))).scalar_one())
        await record_event(uow, "LotteryCreated", now, shop_id=session.shop_id,
                           session_id=session_id, payload={
                               "session_id": session_id, "lottery_id": lottery_id,
                               "title": title.strip(),
                               "commitment": draw.commitment(seed).hex(),
                               "prize": {"sku_id": sku_id, "quantity": prize_quantity},
                               "winners": winners, "window": {
                                   "opens_at": opens_at.isoformat(),
                                   "closes_at": closes_at.isoformat()},
                               "conditions": conditions, "algorithm": draw.ALGORITHM})
        await deadlines.schedule(uow, DRAW_KIND, lottery_id, closes_at, now)
        row = await access_lottery(uow.conn, lottery_id)
        view = await _view(uow.conn, row, principal, now)
        _announce(uow, notifier, view)
    return view


def _announce(uow: UnitOfWork, notifier: Notifier | None, view: dict[str, Any]) -> None:
    if notifier is None:
        return
    public = {k: v for k, v in view.items() if k != "my_entry"}

    async def announce() -> None:
        await notifier.room(public["session_id"], {"type": "lottery", "lottery": public})

    uow.on_commit(announce)


# --- entering -------------------------------------------------------------------------------

async def _facts(conn: AsyncConnection, session_id: int, user_id: int,
                 now: datetime) -> dict[str, Any]:
    visits = (await conn.execute(select(viewer_visits.c.joined_at, viewer_visits.c.left_at)
                                 .where(viewer_visits.c.session_id == session_id,
                                        viewer_visits.c.viewer_key == f"u:{user_id}"))).all()
    watched = rules.watched_seconds(
        ((clock.as_utc(v.joined_at), clock.as_utc(v.left_at) if v.left_at else None)
         for v in visits), now)
    chatted = bool((await conn.execute(select(exists().where(
        chat_messages.c.session_id == session_id, chat_messages.c.user_id == user_id,
        chat_messages.c.status == "shown")))).scalar())
    bought = bool((await conn.execute(select(exists().where(
        orders.c.session_id == session_id, orders.c.buyer_id == user_id,
        orders.c.status.in_(BOUGHT_STATUSES), orders.c.unit_price > 0)))).scalar())
    return {"watched": watched, "chatted": chatted, "bought": bought}


async def check_entry(conn: AsyncConnection, principal: Principal, lottery: Any,
                      now: datetime) -> None:
    """Refuse an entry that may not be made, before anything is written."""
    state = rules.state(status=lottery.status, opens_at=clock.as_utc(lottery.opens_at),
                        closes_at=clock.as_utc(lottery.closes_at), now=now)
    if state != "open":
        raise Problem("lottery_closed", "抽奖尚未开始 / the lottery has not opened yet"
                      if state == "upcoming" else "抽奖已截止 / the entry window has closed",
                      state=state)
    session = await access_session(conn, lottery.session_id)
    if principal.is_member(lottery.shop_id) or principal.user_id == session.anchor_id:
        raise Problem("not_eligible", "本店员工和主播不能参与本店抽奖 / the shop's staff and "
                      "anchor cannot enter its lotteries")
    if (await conn.execute(select(lottery_entries.c.id).where(
            lottery_entries.c.lottery_id == lottery.id,
            lottery_entries.c.buyer_id == principal.user_id))).first():
        raise Problem("already_entered", "你已参与过该抽奖 / you have already entered")
    facts = await _facts(conn, lottery.session_id, principal.user_id, now)
    if missing := rules.unmet(list(lottery.conditions), **facts):
        labels = rules.labels(missing)
        raise Problem("not_eligible", "未满足参与条件：" + "、".join(m["zh-CN"] for m in labels)
                      + " / conditions not met: " + ", ".join(m["en"] for m in labels),
                      unmet=labels, watched_seconds=int(facts["watched"]))


async def enter(db: Database, principal: Principal, lottery_id: int,
                now: datetime) -> dict[str, Any]:
    nonce = draw.new_nonce()
    entrant = draw.entrant_hash(nonce, principal.user_id).hex()
    try:
        async with db.write() as uow:
            lottery = await access_lottery(uow.conn, lottery_id)
            await check_entry(uow.conn, principal, lottery, now)
            # the counter hands out positions and orders every entry before or after the close
            taken = (await uow.conn.execute(update(lotteries).where(
                lotteries.c.id == lottery_id, lotteries.c.status == "open")
                .values(entries=lotteries.c.entries + 1)
                .returning(lotteries.c.entries))).first()
            if taken is None:
                raise Problem("lottery_closed", "抽奖已截止 / the entry window has closed",
                              state="closing")
            position = int(taken.entries) - 1
            await uow.conn.execute(insert(lottery_entries).values(
                lottery_id=lottery_id, buyer_id=principal.user_id, position=position,
                nonce=nonce.hex(), entrant_hash=entrant, created_at=now))
            await record_event(uow, "LotteryEntered", now, shop_id=lottery.shop_id,
                               session_id=lottery.session_id, payload={
                                   "session_id": lottery.session_id, "lottery_id": lottery_id,
                                   "entrant_hash": entrant})
    except IntegrityError as exc:  # the same buyer entering twice at once
        raise Problem("already_entered", "你已参与过该抽奖 / you have already entered") from exc
    return await get_lottery(db, principal, lottery_id, now)


# --- the draw and the prizes ----------------------------------------------------------------

class LotteryDraw:
    """The `lottery_draw` deadline, due when the entry window closes: fix the entry list and
    its root, reveal the seed, draw, and set the `lottery_prizes` deadline (due at once)."""

    kind = DRAW_KIND

    def __init__(self, notifier: Notifier | None = None) -> None:
        self.notifier = notifier

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        closed = await uow.conn.execute(update(lotteries).where(
            lotteries.c.id == ref_id, lotteries.c.status == "open").values(
            status="drawn", drawn_at=now))
        if closed.rowcount != 1:
            return "already drawn"
        lottery = await access_lottery(uow.conn, ref_id)
        entries = (await uow.conn.execute(select(lottery_entries).where(
            lottery_entries.c.lottery_id == ref_id).order_by(lottery_entries.c.position))).all()
        hashes = [bytes.fromhex(e.entrant_hash) for e in entries]
        seed = bytes.fromhex(lottery.seed)
        result = draw.draw(seed, hashes, lottery.winners_count)
        await uow.conn.execute(update(lotteries).where(lotteries.c.id == ref_id).values(
            entry_root=result.entry_root.hex(), revealed_seed=lottery.seed,
            entries=len(entries)))
        if result.indexes:
            await uow.conn.execute(insert(lottery_winners), [
                {"lottery_id": ref_id, "rank": rank, "entry_id": entries[index].id,
                 "buyer_id": entries[index].buyer_id,
                 "entrant_hash": entries[index].entrant_hash}
                for rank, index in enumerate(result.indexes)])
        common = {"session_id": lottery.session_id, "lottery_id": ref_id}
        await record_event(uow, "LotteryClosed", now, shop_id=lottery.shop_id,
                           session_id=lottery.session_id, payload={
                               **common, "entry_count": len(entries),
                               "entry_root": result.entry_root.hex()})
        await record_event(uow, "LotteryDrawn", now, shop_id=lottery.shop_id,
                           session_id=lottery.session_id, payload={
                               **common, "seed": lottery.seed,
                               "winners": [h.hex() for h in result.winners]})
        await deadlines.schedule(uow, PRIZES_KIND, ref_id, now, now)
        _announce(uow, self.notifier, await _view(
            uow.conn, await access_lottery(uow.conn, ref_id), None, now))
        return f"drawn: {len(result.indexes)} of {len(entries)}"


def prize_key(lottery_id: int) -> str:
    """The prize order's idempotency key. It has spaces, which a buyer's Idempotency-Key header
    may not (visible ASCII only): no buy can take a prize order's key first."""
    return f"lottery prize {lottery_id}"


class LotteryPrizes:
    """The `lottery_prizes` deadline: one zero-price order of the prize per winner (the unique
    (buyer, idempotency key) of orders and `lottery_winners.order_id` make a repeat add
    nothing), and the prize units no winner needs back to the SKU's stock."""

    kind = PRIZES_KIND

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        lottery = await access_lottery(uow.conn, ref_id)
        if lottery.status != "drawn":
            return "not drawn"
        prize = await _prize(uow.conn, lottery.prize_sku_id)
        shop = (await uow.conn.execute(select(shops.c.name, shops.c.legal_name).where(
            shops.c.id == lottery.shop_id))).one()
        winners = (await uow.conn.execute(select(lottery_winners).where(
            lottery_winners.c.lottery_id == ref_id, lottery_winners.c.order_id.is_(None))
            .order_by(lottery_winners.c.rank))).all()
        for winner in winners:
            order_id = await orders_service.do_place_prize_order(
                uow, buyer_id=int(winner.buyer_id), shop_id=int(lottery.shop_id),
                session_id=int(lottery.session_id), sku_id=int(lottery.prize_sku_id),
                quantity=int(lottery.prize_quantity), key=prize_key(ref_id), now=now,
                snapshot={"product_title": prize["product_title"],
                          "sku_name": prize["sku_name"], "list_price": prize["list_price"],
                          "live_price": 0, "session_title": None,
                          "seller": {"shop_id": lottery.shop_id, "name": shop.name,
                                     "legal_name": shop.legal_name},
                          "lottery": {"id": ref_id, "title": lottery.title,
                                      "ship_within_hours": lottery.ship_within_hours},
                          "promises": []})
            await uow.conn.execute(update(lottery_winners).where(
                lottery_winners.c.lottery_id == ref_id, lottery_winners.c.rank == winner.rank)
                .values(order_id=order_id))
            await record_event(uow, "PrizeOrderPlaced", now, shop_id=lottery.shop_id,
                               session_id=lottery.session_id, order_id=order_id, payload={
                                   "lottery_id": ref_id, "sku_id": lottery.prize_sku_id,
                                   "quantity": lottery.prize_quantity})
        placed = await uow.conn.execute(update(lotteries).where(
            lotteries.c.id == ref_id, lotteries.c.prizes_placed_at.is_(None)).values(
            prizes_placed_at=now))
        if placed.rowcount == 1:
            won = int((await uow.conn.execute(select(func.count()).select_from(
                lottery_winners).where(lottery_winners.c.lottery_id == ref_id))).scalar_one())
            unused = int(lottery.stock_reserved) - won * int(lottery.prize_quantity)
            if unused > 0:
                await uow.conn.execute(update(skus).where(skus.c.id == lottery.prize_sku_id)
                                       .values(stock=skus.c.stock + unused))
        return f"{len(winners)} prize orders placed"


async def confirm_address(db: Database, principal: Principal, lottery_id: int, *,
                          address_id: int, now: datetime) -> dict[str, Any]:
    """The winner says where the prize goes (a copy of one of their addresses is frozen into
    the prize order); from then the shop has `ship_within_hours` to ship it, else the buyer is
    compensated like any missed shipping promise (the `ship_by` deadline)."""
    async with db.read() as conn:
        await access_lottery(conn, lottery_id)
        winner = (await conn.execute(select(lottery_winners.c.order_id).where(
            lottery_winners.c.lottery_id == lottery_id,
            lottery_winners.c.buyer_id == principal.user_id))).first()
    if winner is None or winner.order_id is None:
        raise Problem("not_found", "你没有该抽奖的奖品订单 / you have no prize order in this "
                      "lottery")
    return await orders_service.change_address(db, principal, int(winner.order_id),
                                               address_id=address_id, now=now)


async def shop_prize_counts(db: Database, shop_id: int) -> dict[str, int]:
    """Prizes a shop owes and what became of them (public: a shop's lottery record)."""
    async with db.read() as conn:
        if (await conn.execute(select(shops.c.id).where(shops.c.id == shop_id))).first() is None:
            raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
        rows = (await conn.execute(
            select(orders.c.status, func.count())
            .select_from(lottery_winners.join(orders, orders.c.id == lottery_winners.c.order_id))
            .join(lotteries, and_(lotteries.c.id == lottery_winners.c.lottery_id))
            .where(lotteries.c.shop_id == shop_id).group_by(orders.c.status))).all()
    counts = {str(status): int(n) for status, n in rows}
    return {"prizes": sum(counts.values()),
            "delivered": counts.get("received", 0) + counts.get("shipped", 0),
            "received": counts.get("received", 0),
            "awaiting_shipment": counts.get("paid", 0),
            "cancelled": counts.get("cancelled", 0)}


class LotteryNotices:
    """Winners learn it in their inbox (站内通知): one notice per prize order."""

    name = "lottery_notices"
    types = frozenset({"PrizeOrderPlaced"})

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        from livepledge.notices.service import do_notify

        if event.order_id is None:
            return
        buyer_id = await orders_service.buyer_of(uow.conn, event.order_id)
        title = (await uow.conn.execute(select(lotteries.c.title).where(
            lotteries.c.id == event.payload.get("lottery_id")))).scalar_one_or_none()
        await do_notify(uow, event, user_id=buyer_id, kind="lottery_won",
                        params={"order_id": event.order_id,
                                "lottery_id": event.payload.get("lottery_id"),
                                "title": title or ""})

