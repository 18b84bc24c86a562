"""Fan club use cases: join and leave, the merchant's levels, affinity from verified actions,
check-ins, points, the buyer's and the merchant's views, and the fan's personal data.

Affinity and points are append-only histories (`affinity_entries`, `point_entries`) whose
running totals sit on the member row; every credit locks that row first (`FOR UPDATE` on
PostgreSQL; SQLite has one writer), so the daily caps and the no-overdraft rule hold under any
interleaving of workers (docs/fans.md)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops, users
from livepledge.accounts.service import Principal, access_shop
from livepledge.fans import rules
from livepledge.fans.models import (
    affinity_entries,
    fan_club_settings,
    fan_members,
    fan_orders,
    fan_post_comments,
    fan_post_reactions,
    fan_watch,
    point_entries,
)
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.problems import Problem
from livepledge.settlement.rules import refund_paid

log = logging.getLogger("livepledge.fans")
MAX_TAGS = 20
WATCH_CHUNK = 1000  # viewers per watch-minute transaction
MAX_TAG_LENGTH = 16


def _insert(conn: AsyncConnection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- levels ----------------------------------------------------------------------------------

async def levels_of(conn: AsyncConnection, shop_id: int) -> tuple[rules.Level, ...]:
    stored = (await conn.execute(select(fan_club_settings.c.levels).where(
        fan_club_settings.c.shop_id == shop_id))).scalar()
    if not stored:
        return rules.DEFAULT_LEVELS
    return tuple(rules.Level(str(x["name"]), int(x["threshold"])) for x in stored)


def levels_view(levels: Iterable[rules.Level]) -> list[dict[str, Any]]:
    return [{"level": n, "name": level.name, "threshold": level.threshold}
            for n, level in enumerate(levels, 1)]


def check_levels(levels: list[dict[str, Any]]) -> tuple[rules.Level, ...]:
    errors = rules.level_errors(levels)
    if errors:
        raise Problem("validation_failed", "；".join(errors),
                      errors=[{"field": "body.levels", "message": e} for e in errors])
    return tuple(rules.Level(str(x["name"]).strip(), int(x["threshold"])) for x in levels)


async def _access_shop_row(conn: AsyncConnection, shop_id: int) -> Any:
    shop = (await conn.execute(select(shops.c.id, shops.c.name).where(
        shops.c.id == shop_id))).first()
    if shop is None:
        raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
    return shop


async def set_levels(db: Database, principal: Principal, shop_id: int,
                     levels: list[dict[str, Any]], now: datetime,
                     badges: BadgeCache | None = None) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    valid = check_levels(levels)
    async with db.write() as uow:
        await _access_shop_row(uow.conn, shop_id)
        stored = [{"name": level.name, "threshold": level.threshold} for level in valid]
        stmt = _insert(uow.conn)(fan_club_settings).values(
            shop_id=shop_id, levels=stored, updated_at=now, updated_by=principal.user_id)
        await uow.conn.execute(stmt.on_conflict_do_update(
            index_elements=["shop_id"],
            set_={"levels": stored, "updated_at": now, "updated_by": principal.user_id}))
        await record_event(uow, "FanLevelsChanged", now, shop_id=shop_id,
                           payload={"levels": stored, "by": principal.user_id})
    if badges is not None:
        badges.forget_shop(shop_id)
    return levels_view(valid)


# --- membership ------------------------------------------------------------------------------

async def _member(conn: AsyncConnection, shop_id: int, user_id: int, *,
                  lock: bool = False) -> Any:
    query = select(fan_members).where(fan_members.c.shop_id == shop_id,
                                      fan_members.c.user_id == user_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def access_member(conn: AsyncConnection, shop_id: int, user_id: int, *,
                        lock: bool = False) -> Any:
    row = await _member(conn, shop_id, user_id, lock=lock)
    if row is None or row.left_at is not None:
        raise Problem("not_a_fan", "请先加入粉丝团 / join the fan club first")
    return row


def member_view(row: Any, levels: tuple[rules.Level, ...]) -> dict[str, Any]:
    level = rules.level_for(int(row.affinity), levels)
    following = levels[level] if level < len(levels) else None
    return {
        "shop_id": row.shop_id, "user_id": row.user_id, "is_member": row.left_at is None,
        "joined_at": _iso(row.joined_at), "affinity": int(row.affinity),
        "level": level, "level_name": levels[level - 1].name,
        "next_level": ({"level": level + 1, "name": following.name,
                        "threshold": following.threshold} if following else None),
        "points": int(row.points), "streak": int(row.streak),
        "last_checkin": row.last_checkin.isoformat() if row.last_checkin else None,
        "campaigns_opt_out": bool(row.campaigns_opt_out),
    }


async def club(db: Database, principal: Principal | None, shop_id: int,
               now: datetime) -> dict[str, Any]:
    """A shop's fan club as anyone sees it: levels and member count; logged in, one's own
    membership and whether one has checked in today."""
    async with db.read() as conn:
        shop = await _access_shop_row(conn, shop_id)
        levels = await levels_of(conn, shop_id)
        members = int((await conn.execute(select(func.count()).select_from(fan_members).where(
            fan_members.c.shop_id == shop_id, fan_members.c.left_at.is_(None)))).scalar_one())
        mine = None
        if principal is not None:
            row = await _member(conn, shop_id, principal.user_id)
            if row is not None and row.left_at is None:
                mine = member_view(row, levels)
                mine["checked_in_today"] = row.last_checkin == rules.local_day(now)
    return {"shop": {"id": shop.id, "name": shop.name}, "members": members,
            "levels": levels_view(levels), "me": mine}


async def join(db: Database, principal: Principal, shop_id: int, now: datetime,
               badges: BadgeCache | None = None) -> dict[str, Any]:
    """加入粉丝团. Joining twice is joining once; a fan who left joins again from zero."""
    async with db.write() as uow:
        await _access_shop_row(uow.conn, shop_id)
        row = await _member(uow.conn, shop_id, principal.user_id, lock=True)
        if row is None:
            await uow.conn.execute(insert(fan_members).values(
                shop_id=shop_id, user_id=principal.user_id, joined_at=now, left_at=None,
                affinity=0, points=0, streak=0, last_checkin=None, tags=[],
                campaigns_opt_out=False))
        elif row.left_at is not None:
            await uow.conn.execute(update(fan_members).where(
                fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id)
                .values(joined_at=now, left_at=None))
        if row is None or row.left_at is not None:
            await record_event(uow, "FanJoined", now, shop_id=shop_id,
                               payload={"user_id": principal.user_id})
    if badges is not None:
        badges.forget(shop_id, principal.user_id)
    return await club(db, principal, shop_id, now)


async def leave(db: Database, principal: Principal, shop_id: int, now: datetime,
                badges: BadgeCache | None = None) -> dict[str, Any]:
    """退出粉丝团. The club's purpose for this fan has ended, so what only served it goes
    (《个人信息保护法》 art. 47): the affinity history, level, streak, tags and watch minutes.
    Points stay the fan's until they delete their fan data; so does the day of the last
    check-in, so leaving and joining again cannot check in twice in a day (docs/fans.md)."""
    async with db.write() as uow:
        await _access_shop_row(uow.conn, shop_id)
        row = await _member(uow.conn, shop_id, principal.user_id, lock=True)
        if row is not None and row.left_at is None:
            await _forget_affinity(uow.conn, shop_id, principal.user_id)
            await uow.conn.execute(update(fan_members).where(
                fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id)
                .values(left_at=now, affinity=0, streak=0, tags=[]))
            await record_event(uow, "FanLeft", now, shop_id=shop_id,
                               payload={"user_id": principal.user_id})
    if badges is not None:
        badges.forget(shop_id, principal.user_id)
    return await club(db, principal, shop_id, now)


async def _forget_affinity(conn: AsyncConnection, shop_id: int, user_id: int) -> None:
    await conn.execute(delete(affinity_entries).where(affinity_entries.c.shop_id == shop_id,
                                                      affinity_entries.c.user_id == user_id))
    await conn.execute(delete(fan_watch).where(fan_watch.c.shop_id == shop_id,
                                               fan_watch.c.user_id == user_id))


# --- affinity --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Award:
    user_id: int
    source: str  # rules.SOURCES
    units: int
    ref: str  # unique per fan and shop: a replay of the same action adds nothing
    session_id: int | None = None
    order_id: int | None = None


async def _lock_members(conn: AsyncConnection, shop_id: int,
                        user_ids: Iterable[int]) -> dict[int, Any]:
    """The current members among `user_ids`, their rows locked in id order (no deadlock)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    query = (select(fan_members).where(fan_members.c.shop_id == shop_id,
                                       fan_members.c.user_id.in_(ids),
                                       fan_members.c.left_at.is_(None))
             .order_by(fan_members.c.user_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.user_id: row for row in await conn.execute(query)}


async def _granted_today(conn: AsyncConnection, shop_id: int, user_ids: list[int],
                         sources: set[str], now: datetime) -> dict[tuple[int, str], int]:
    rows = await conn.execute(
        select(affinity_entries.c.user_id, affinity_entries.c.source,
               func.sum(affinity_entries.c.points))
        .where(affinity_entries.c.shop_id == shop_id, affinity_entries.c.user_id.in_(user_ids),
               affinity_entries.c.day == rules.local_day(now),
               affinity_entries.c.source.in_(sorted(sources)), affinity_entries.c.points > 0)
        .group_by(affinity_entries.c.user_id, affinity_entries.c.source))
    return {(r[0], r[1]): int(r[2]) for r in rows}


async def do_award(uow: UnitOfWork, shop_id: int, awards: list[Award],
                   now: datetime) -> dict[int, int]:
    """Credit verified actions of one shop's fans, within each source's daily cap. Non-members
    get nothing. Returns affinity granted per user (0s left out)."""
    conn = uow.conn
    members = await _lock_members(conn, shop_id, (a.user_id for a in awards))
    awards = [a for a in awards if a.user_id in members]
    if not awards:
        return {}
    today = rules.local_day(now)
    granted_today = await _granted_today(conn, shop_id, sorted({a.user_id for a in awards}),
                                         {a.source for a in awards}, now)
    rows = []
    for award in awards:
        key = (award.user_id, award.source)
        points = rules.grant(award.source, award.units, granted_today.get(key, 0))
        if points:
            granted_today[key] = granted_today.get(key, 0) + points
            rows.append({"shop_id": shop_id, "user_id": award.user_id, "source": award.source,
                         "points": points, "ref": award.ref, "day": today,
                         "session_id": award.session_id, "order_id": award.order_id,
                         "created_at": now})
    return await _append_affinity(conn, shop_id, rows)


async def _append_affinity(conn: AsyncConnection, shop_id: int,
                           rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert history rows (a ref already there is skipped) and add what was inserted to the
    members' totals."""
    if not rows:
        return {}
    inserted = await conn.execute(
        _insert(conn)(affinity_entries).on_conflict_do_nothing(
            index_elements=["shop_id", "user_id", "ref"])
        .returning(affinity_entries.c.user_id, affinity_entries.c.points), rows)
    totals: dict[int, int] = defaultdict(int)
    for user_id, points in inserted:
        totals[user_id] += int(points)
    if totals:
        await conn.execute(
            update(fan_members).where(fan_members.c.shop_id == shop_id,
                                      fan_members.c.user_id == bindparam("b_user"))
            .values(affinity=fan_members.c.affinity + bindparam("b_points")),
            [{"b_user": u, "b_points": p} for u, p in sorted(totals.items())])
    return {k: v for k, v in totals.items() if v}


async def _mark_engaged(conn: AsyncConnection, shop_id: int, session_id: int,
                        user_ids: Iterable[int]) -> None:
    """The viewer interacted in the session: their watch minutes may count (rules.py)."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    stmt = _insert(conn)(fan_watch)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=["session_id", "user_id"], set_={"engaged": True}),
        [{"session_id": session_id, "user_id": uid, "shop_id": shop_id, "minutes": 0,
          "credited": 0, "last_minute": 0, "engaged": True} for uid in ids])


def crediting_chats(commit: Any, engagement: Engagement) -> Any:
    """The chat writer's commit (live/chat.commit_chat_batch), then the batch's affinity in
    the same transaction: one pass per batch of chat messages, not per message."""

    async def commit_and_credit(uow: UnitOfWork, batch: list[Any]) -> list[int]:
        ids: list[int] = await commit(uow, batch)
        shown = [(chat_id, c.session_id, c.user_id) for chat_id, c in zip(ids, batch, strict=True)
                 if c.status == "shown"]
        if shown:
            await engagement.chats(uow, shown, max(c.created_at for c in batch))
        return ids

    return commit_and_credit


class Engagement:
    """The live room's verified actions turned into affinity, in batches: the chat writer's
    batch, a room tick's likes, and once a minute the viewers whose sockets sent a heartbeat
    in that minute (live/room.py calls these; none of it runs per message). A failure here is
    logged and rolled back to a savepoint: it never costs the room its chat or likes."""

    async def chats(self, uow: UnitOfWork, chats: list[tuple[int, int, int]],
                    now: datetime) -> None:
        """(chat id, session id, user id) of chat messages just stored and shown."""
        try:
            async with uow.conn.begin_nested():
                await self._chats(uow, chats, now)
        except Exception:
            log.exception("affinity for chat messages failed")

    async def _chats(self, uow: UnitOfWork, chats: list[tuple[int, int, int]],
                     now: datetime) -> None:
        from livepledge.live.models import live_sessions

        session_ids = sorted({s for _, s, _ in chats})
        shop_of = {r.id: r.shop_id for r in await uow.conn.execute(
            select(live_sessions.c.id, live_sessions.c.shop_id).where(
                live_sessions.c.id.in_(session_ids)))}
        by_shop: dict[int, list[Award]] = defaultdict(list)
        engaged: dict[tuple[int, int], set[int]] = defaultdict(set)
        for chat_id, session_id, user_id in chats:
            shop_id = shop_of[session_id]
            by_shop[shop_id].append(Award(user_id, "chat", 1, f"chat:{chat_id}", session_id))
            engaged[(shop_id, session_id)].add(user_id)
        for shop_id, awards in sorted(by_shop.items()):
            await do_award(uow, shop_id, awards, now)
        for (shop_id, session_id), ids in sorted(engaged.items()):
            await _mark_engaged(uow.conn, shop_id, session_id, ids)

    async def likes(self, uow: UnitOfWork, shop_id: int, session_id: int,
                    counts: dict[int, int], like_ids: dict[int, int], now: datetime) -> None:
        """Likes a room stored in one tick: user id -> count, user id -> the stored row's id."""
        awards = [Award(uid, "like", n, f"like:{like_ids[uid]}", session_id)
                  for uid, n in sorted(counts.items())]
        try:
            async with uow.conn.begin_nested():
                await do_award(uow, shop_id, awards, now)
                await _mark_engaged(uow.conn, shop_id, session_id, counts)
        except Exception:
            log.exception("affinity for likes failed")

    async def watched(self, db: Database, shop_id: int, session_id: int, user_ids: set[int],
                      minute: int, now: datetime) -> None:
        """One verified minute for each viewer who sent a heartbeat during `minute` (minutes
        since the epoch). A second tab or worker crediting the same minute adds nothing."""
        ordered = sorted(user_ids)
        # In chunks, each its own short transaction: the SQLite writer is never held long.
        for start in range(0, len(ordered), WATCH_CHUNK):
            await self._watched(db, shop_id, session_id, ordered[start:start + WATCH_CHUNK],
                                minute, now)

    async def _watched(self, db: Database, shop_id: int, session_id: int, ids: list[int],
                       minute: int, now: datetime) -> None:
        async with db.write() as uow:
            conn = uow.conn
            stmt = _insert(conn)(fan_watch)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["session_id", "user_id"],
                set_={"minutes": fan_watch.c.minutes + 1, "last_minute": stmt.excluded.last_minute},
                where=fan_watch.c.last_minute < stmt.excluded.last_minute),
                [{"session_id": session_id, "user_id": uid, "shop_id": shop_id, "minutes": 1,
                  "credited": 0, "last_minute": minute, "engaged": False} for uid in ids])
            due = (await conn.execute(
                select(fan_watch.c.user_id, fan_watch.c.minutes, fan_watch.c.credited)
                .join(fan_members, (fan_members.c.shop_id == fan_watch.c.shop_id)
                      & (fan_members.c.user_id == fan_watch.c.user_id))
                .where(fan_watch.c.session_id == session_id, fan_watch.c.user_id.in_(ids),
                       fan_watch.c.engaged.is_(True), fan_members.c.left_at.is_(None),
                       fan_watch.c.minutes > fan_watch.c.credited))).all()
            awards = [Award(r.user_id, "watch",
                            rules.watch_minutes_due(r.minutes, r.credited, engaged=True),
                            f"watch:{session_id}:{minute}", session_id) for r in due]
            await do_award(uow, shop_id, awards, now)
            if due:  # minutes over the day's cap are used up, not banked
                await conn.execute(
                    update(fan_watch).where(fan_watch.c.session_id == session_id,
                                            fan_watch.c.user_id == bindparam("b_user"))
                    .values(credited=bindparam("b_minutes")),
                    [{"b_user": r.user_id, "b_minutes": r.minutes} for r in due])


# --- check-ins and points -------------------------------------------------------------------

async def do_add_points(uow: UnitOfWork, shop_id: int, user_id: int, delta: int, *,
                        reason: str, ref: str, now: datetime,
                        order_id: int | None = None) -> int | None:
    """Add (or with a negative delta take, never below zero) points, with its history row.
    Returns the new balance, or None when `ref` was already applied or nothing moved."""
    conn = uow.conn
    if delta == 0:
        return None
    exists = (await conn.execute(select(point_entries.c.id).where(
        point_entries.c.shop_id == shop_id, point_entries.c.user_id == user_id,
        point_entries.c.ref == ref))).first()
    if exists is not None:
        return None
    balance = (await conn.execute(
        update(fan_members).where(fan_members.c.shop_id == shop_id,
                                  fan_members.c.user_id == user_id,
                                  fan_members.c.points + delta >= 0)
        .values(points=fan_members.c.points + delta).returning(fan_members.c.points))).scalar()
    if balance is None:
        return None
    await conn.execute(insert(point_entries).values(
        shop_id=shop_id, user_id=user_id, delta=delta, balance=balance, reason=reason, ref=ref,
        order_id=order_id, created_at=now))
    return int(balance)


MAX_REASON = 24


async def spend(db: Database, shop_id: int, user_id: int, amount: int, *, reason: str,
                ref: str, now: datetime) -> dict[str, Any]:
    """Spend points (a coupon bought with them, later). Atomic: one conditional UPDATE, so
    concurrent spends never take the balance below zero; refused with 409
    `insufficient_points` and nothing changed. `ref` makes a retry of the same spend a no-op."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Problem("validation_failed", "积分须为正整数 / points must be a positive integer")
    if not reason or len(reason) > MAX_REASON or not 1 <= len(ref) <= 48:
        raise Problem("validation_failed", "需要用途（≤24 字）和编号 / a reason (≤24) and ref")
    async with db.write() as uow:
        member = await access_member(uow.conn, shop_id, user_id)
        done = (await uow.conn.execute(select(point_entries.c.balance).where(
            point_entries.c.shop_id == shop_id, point_entries.c.user_id == user_id,
            point_entries.c.ref == f"spend:{ref}"))).scalar()
        if done is not None:
            return {"balance": int(done), "spent": amount, "repeated": True}
        balance = await do_add_points(uow, shop_id, user_id, -amount, reason=f"spend:{reason}",
                                      ref=f"spend:{ref}", now=now)
        if balance is None:
            raise Problem("insufficient_points",
                          f"积分不足：现有 {member.points}，需要 {amount} / not enough points: "
                          f"{member.points} < {amount}", balance=int(member.points),
                          needed=amount)
    return {"balance": balance, "spent": amount, "repeated": False}


async def checkin(db: Database, principal: Principal, shop_id: int,
                  now: datetime) -> dict[str, Any]:
    """打卡: once per Asia/Shanghai calendar day; a check-in the day after the last continues
    the streak. Gives affinity and points (rules.py)."""
    today = rules.local_day(now)
    async with db.write() as uow:
        await _access_shop_row(uow.conn, shop_id)
        row = await access_member(uow.conn, shop_id, principal.user_id, lock=True)
        streak = rules.next_streak(row.last_checkin, int(row.streak), today)
        if streak is None:
            raise Problem("already_checked_in", "今天已经打过卡了 / already checked in today")
        await uow.conn.execute(update(fan_members).where(
            fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id)
            .values(streak=streak, last_checkin=today))
        ref = f"checkin:{today.isoformat()}"
        affinity = await do_award(uow, shop_id, [Award(principal.user_id, "checkin", 1, ref)],
                                  now)
        points = rules.checkin_points(streak)
        await do_add_points(uow, shop_id, principal.user_id, points, reason="checkin", ref=ref,
                            now=now)
    view = await club(db, principal, shop_id, now)
    return {**view, "checkin": {"day": today.isoformat(), "streak": streak,
                                "affinity": affinity.get(principal.user_id, 0),
                                "points": points}}


# --- purchases, net of returns (an event consumer) -------------------------------------------

class FanPurchases:
    """Affinity from a paid order at payment, points once its escrow is released (the return
    window is over); refunds take back their share of both (docs/fans.md)."""

    name = "fans"
    types = frozenset({"OrderPaid", "OrderCancelled", "CaseRefunded", "EscrowReleased"})

    async def handle(self, uow: UnitOfWork, event: Any) -> None:
        if event.order_id is None:
            return
        if event.type == "OrderPaid":
            await self._paid(uow, event)
        elif event.type == "EscrowReleased":
            await self._released(uow, event)
        elif event.type == "OrderCancelled":
            # what this cancellation itself paid back (the ledger's reading of the event)
            await self._refunded(uow, event, refund_paid(event.payload))
        else:
            await self._refunded(uow, event, int(event.payload.get("amount") or 0))

    async def _paid(self, uow: UnitOfWork, event: Any) -> None:
        from livepledge.orders.models import orders

        conn = uow.conn
        order = (await conn.execute(select(orders.c.id, orders.c.buyer_id, orders.c.shop_id,
                                           orders.c.session_id, orders.c.amount).where(
            orders.c.id == event.order_id))).first()
        if order is None or order.amount <= 0:
            return
        # what was charged (the order's amount less a coupon's discount), as the event says
        paid = min(int(event.payload.get("amount") or order.amount), int(order.amount))
        created = await conn.execute(_insert(conn)(fan_orders).values(
            order_id=order.id, shop_id=order.shop_id, user_id=order.buyer_id,
            session_id=order.session_id, paid=paid, refunded=0, affinity_granted=0,
            affinity_taken=0, points_granted=0, points_taken=0, paid_at=event.occurred_at)
            .on_conflict_do_nothing(index_elements=["order_id"]))
        if created.rowcount != 1:
            return  # a replay
        granted = await do_award(uow, order.shop_id, [Award(
            order.buyer_id, "purchase", rules.purchase_units(paid), f"order:{order.id}",
            order.session_id, order.id)], event.occurred_at)
        if granted:
            await conn.execute(update(fan_orders).where(fan_orders.c.order_id == order.id)
                               .values(affinity_granted=granted[order.buyer_id]))
        if order.session_id is not None:
            await _mark_engaged(conn, order.shop_id, order.session_id, [order.buyer_id])

    async def _released(self, uow: UnitOfWork, event: Any) -> None:
        row = (await uow.conn.execute(select(fan_orders).where(
            fan_orders.c.order_id == event.order_id))).first()
        if row is None or row.points_granted:
            return
        members = await _lock_members(uow.conn, row.shop_id, [row.user_id])
        points = rules.purchase_points(row.paid - row.refunded)
        if row.user_id not in members or points <= 0:
            return
        if await do_add_points(uow, row.shop_id, row.user_id, points, reason="purchase",
                               ref=f"order:{row.order_id}", order_id=row.order_id,
                               now=event.occurred_at) is not None:
            await uow.conn.execute(update(fan_orders).where(
                fan_orders.c.order_id == row.order_id).values(points_granted=points))

    async def _refunded(self, uow: UnitOfWork, event: Any, amount: int) -> None:
        conn = uow.conn
        if amount <= 0:
            return
        row = (await conn.execute(select(fan_orders).where(
            fan_orders.c.order_id == event.order_id))).first()
        if row is None:
            return
        refunded = min(row.paid, row.refunded + amount)
        members = await _lock_members(conn, row.shop_id, [row.user_id])
        member = members.get(row.user_id)
        affinity = rules.take_back(row.affinity_granted, row.affinity_taken, row.paid, refunded)
        if member is not None:
            affinity = min(affinity, int(member.affinity))  # a fan who left starts from zero
        points = rules.take_back(row.points_granted, row.points_taken, row.paid, refunded)
        ref = f"refund:{event.id}"
        if affinity and member is not None:
            await _append_affinity(conn, row.shop_id, [{
                "shop_id": row.shop_id, "user_id": row.user_id, "source": "refund",
                "points": -affinity, "ref": ref, "day": rules.local_day(event.occurred_at),
                "session_id": row.session_id, "order_id": row.order_id,
                "created_at": event.occurred_at}])
        else:
            affinity = 0
        taken_points = 0
        if points and member is not None:
            # Points already spent are not clawed below zero; what is left is taken.
            taken_points = min(points, int(member.points))
            if await do_add_points(uow, row.shop_id, row.user_id, -taken_points,
                                   reason="refund", ref=ref, order_id=row.order_id,
                                   now=event.occurred_at) is None:
                taken_points = 0
        await conn.execute(update(fan_orders).where(fan_orders.c.order_id == row.order_id)
                           .values(refunded=refunded,
                                   affinity_taken=row.affinity_taken + affinity,
                                   points_taken=row.points_taken + taken_points))


# --- the chat badge -------------------------------------------------------------------------

class BadgeCache:
    """The fan level beside a chat message, without a database query per message: each
    (shop, fan) is read at most once per `ttl` seconds per process, a shop's levels likewise;
    joining, leaving and new levels forget the entries at once in this process (others see it
    within `ttl`)."""

    def __init__(self, db: Database, ttl: float = 60.0, clock: Any = None) -> None:
        import time

        self.db = db
        self.ttl = ttl
        self._clock = clock or time.monotonic
        self._fans: dict[tuple[int, int], tuple[float, dict[str, Any] | None]] = {}
        self._levels: dict[int, tuple[float, tuple[rules.Level, ...]]] = {}
        self.reads = 0  # database reads made (tests, metrics)

    def forget(self, shop_id: int, user_id: int) -> None:
        self._fans.pop((shop_id, user_id), None)

    def forget_shop(self, shop_id: int) -> None:
        self._levels.pop(shop_id, None)

    async def badge(self, shop_id: int, user_id: int) -> dict[str, Any] | None:
        now = self._clock()
        hit = self._fans.get((shop_id, user_id))
        levels_hit = self._levels.get(shop_id)
        if hit is not None and hit[0] > now and levels_hit is not None and levels_hit[0] > now:
            return hit[1]
        self.reads += 1
        async with self.db.read() as conn:
            levels = await levels_of(conn, shop_id)
            affinity = (await conn.execute(select(fan_members.c.affinity).where(
                fan_members.c.shop_id == shop_id, fan_members.c.user_id == user_id,
                fan_members.c.left_at.is_(None)))).scalar()
        badge = None
        if affinity is not None:
            level = rules.level_for(int(affinity), levels)
            badge = {"level": level, "name": levels[level - 1].name}
        if len(self._fans) > 100_000:
            self._fans.clear()
        self._fans[(shop_id, user_id)] = (now + self.ttl, badge)
        self._levels[shop_id] = (now + self.ttl, levels)
        return badge


# --- the buyer's views -----------------------------------------------------------------------

async def my_clubs(db: Database, principal: Principal, now: datetime) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = (await conn.execute(
            select(fan_members, shops.c.name.label("shop_name"))
            .join(shops, shops.c.id == fan_members.c.shop_id)
            .where(fan_members.c.user_id == principal.user_id, fan_members.c.left_at.is_(None))
            .order_by(fan_members.c.affinity.desc(), fan_members.c.shop_id))).all()
        out = []
        for row in rows:
            view = member_view(row, await levels_of(conn, row.shop_id))
            view["shop_name"] = row.shop_name
            view["checked_in_today"] = row.last_checkin == rules.local_day(now)
            out.append(view)
    return out


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= 200 or not 0 <= offset <= 10**9:
        raise Problem("validation_failed", "limit 须为 1–200，offset ≥ 0 / limit 1-200, offset ≥ 0")


async def affinity_history(db: Database, principal: Principal, shop_id: int, *, limit: int,
                           offset: int) -> dict[str, Any]:
    _page(limit, offset)
    async with db.read() as conn:
        await _access_shop_row(conn, shop_id)
        row = await access_member(conn, shop_id, principal.user_id)
        entries = (await conn.execute(
            select(affinity_entries).where(affinity_entries.c.shop_id == shop_id,
                                           affinity_entries.c.user_id == principal.user_id)
            .order_by(affinity_entries.c.id.desc()).limit(limit).offset(offset))).all()
        levels = await levels_of(conn, shop_id)
    return {**member_view(row, levels), "entries": [_affinity_view(e) for e in entries]}


def _affinity_view(e: Any) -> dict[str, Any]:
    source = rules.SOURCES[e.source]
    return {"id": e.id, "source": e.source, "label": {"zh-CN": source.zh, "en": source.en},
            "points": e.points, "ref": e.ref, "day": e.day.isoformat(),
            "session_id": e.session_id, "order_id": e.order_id,
            "created_at": e.created_at.isoformat()}


async def points_history(db: Database, principal: Principal, shop_id: int, *, limit: int,
                         offset: int) -> dict[str, Any]:
    _page(limit, offset)
    async with db.read() as conn:
        await _access_shop_row(conn, shop_id)
        row = await _member(conn, shop_id, principal.user_id)
        entries = (await conn.execute(
            select(point_entries).where(point_entries.c.shop_id == shop_id,
                                        point_entries.c.user_id == principal.user_id)
            .order_by(point_entries.c.id.desc()).limit(limit).offset(offset))).all()
    return {"shop_id": shop_id, "balance": int(row.points) if row is not None else 0,
            "entries": [{"id": e.id, "delta": e.delta, "balance": e.balance, "reason": e.reason,
                         "ref": e.ref, "order_id": e.order_id,
                         "created_at": e.created_at.isoformat()} for e in entries]}


# --- the merchant's views --------------------------------------------------------------------

FAN_SORTS = {"affinity": (fan_members.c.affinity.desc(),),
             "joined": (fan_members.c.joined_at.desc(),),
             "streak": (fan_members.c.streak.desc(),)}


async def fan_list(db: Database, principal: Principal, shop_id: int, *, limit: int,
                   offset: int, sort: str) -> dict[str, Any]:
    """The shop's current fans with level, affinity, check-in streak and joined date."""
    access_shop(principal, shop_id)
    _page(limit, offset)
    if sort not in FAN_SORTS:
        raise Problem("validation_failed", f"sort 须为 {'/'.join(FAN_SORTS)} / unknown sort")
    async with db.read() as conn:
        levels = await levels_of(conn, shop_id)
        where = (fan_members.c.shop_id == shop_id, fan_members.c.left_at.is_(None))
        total = int((await conn.execute(select(func.count()).select_from(fan_members)
                                        .where(*where))).scalar_one())
        rows = (await conn.execute(
            select(fan_members, users.c.display_name)
            .join(users, users.c.id == fan_members.c.user_id).where(*where)
            .order_by(*FAN_SORTS[sort], fan_members.c.user_id).limit(limit).offset(offset))).all()
    return {"total": total, "levels": levels_view(levels), "fans": [
        {"user_id": r.user_id, "display_name": r.display_name, "affinity": int(r.affinity),
         "level": (lv := rules.level_for(int(r.affinity), levels)),
         "level_name": levels[lv - 1].name, "streak": int(r.streak),
         "last_checkin": r.last_checkin.isoformat() if r.last_checkin else None,
         "joined_at": r.joined_at.isoformat(), "tags": list(r.tags)} for r in rows]}


def check_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in tags})
    if len(cleaned) > MAX_TAGS or any(not 1 <= len(t) <= MAX_TAG_LENGTH for t in cleaned):
        raise Problem("validation_failed", f"标签最多 {MAX_TAGS} 个，每个 1–{MAX_TAG_LENGTH} 字 / "
                      f"at most {MAX_TAGS} tags of 1-{MAX_TAG_LENGTH} characters")
    return cleaned


async def set_tags(db: Database, principal: Principal, shop_id: int, user_id: int,
                   tags: list[str], now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    cleaned = check_tags(tags)
    async with db.write() as uow:
        await access_member(uow.conn, shop_id, user_id, lock=True)
        await uow.conn.execute(update(fan_members).where(
            fan_members.c.shop_id == shop_id, fan_members.c.user_id == user_id)
            .values(tags=cleaned))
        await record_event(uow, "FanTagged", now, shop_id=shop_id,
                           payload={"user_id": user_id, "tags": cleaned,
                                    "by": principal.user_id})
    return {"user_id": user_id, "tags": cleaned}


# --- personal information (《个人信息保护法》) -------------------------------------------------

async def set_campaigns_opt_out(db: Database, principal: Principal, shop_id: int,
                                opt_out: bool) -> dict[str, Any]:
    """A fan's choice not to receive the shop's campaigns; the campaign sender honours it."""
    async with db.write() as uow:
        await access_member(uow.conn, shop_id, principal.user_id, lock=True)
        await uow.conn.execute(update(fan_members).where(
            fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id)
            .values(campaigns_opt_out=opt_out))
    return {"shop_id": shop_id, "campaigns_opt_out": opt_out}


async def campaign_recipients(conn: AsyncConnection, shop_id: int,
                              user_ids: Iterable[int]) -> list[int]:
    """The given users who are members and have not opted out (for the campaign sender)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    return list((await conn.execute(select(fan_members.c.user_id).where(
        fan_members.c.shop_id == shop_id, fan_members.c.user_id.in_(ids),
        fan_members.c.left_at.is_(None), fan_members.c.campaigns_opt_out.is_(False))
        .order_by(fan_members.c.user_id))).scalars())


async def export_fan_data(db: Database, principal: Principal, now: datetime) -> dict[str, Any]:
    """Everything the fan club holds about the caller (《个人信息保护法》 art. 45)."""
    uid = principal.user_id
    async with db.read() as conn:
        members = (await conn.execute(select(fan_members).where(
            fan_members.c.user_id == uid).order_by(fan_members.c.shop_id))).all()
        affinity = (await conn.execute(select(affinity_entries).where(
            affinity_entries.c.user_id == uid).order_by(affinity_entries.c.id))).all()
        points = (await conn.execute(select(point_entries).where(
            point_entries.c.user_id == uid).order_by(point_entries.c.id))).all()
        watch = (await conn.execute(select(fan_watch).where(
            fan_watch.c.user_id == uid).order_by(fan_watch.c.session_id))).all()
        bought = (await conn.execute(select(fan_orders).where(
            fan_orders.c.user_id == uid).order_by(fan_orders.c.order_id))).all()
        comments = (await conn.execute(select(fan_post_comments).where(
            fan_post_comments.c.user_id == uid).order_by(fan_post_comments.c.id))).all()
        reactions = (await conn.execute(select(fan_post_reactions).where(
            fan_post_reactions.c.user_id == uid))).all()
    return {
        "user_id": uid, "exported_at": now.isoformat(),
        "memberships": [{"shop_id": m.shop_id, "joined_at": _iso(m.joined_at),
                         "left_at": _iso(m.left_at), "affinity": int(m.affinity),
                         "points": int(m.points), "streak": int(m.streak),
                         "last_checkin": m.last_checkin.isoformat() if m.last_checkin else None,
                         "tags": list(m.tags), "campaigns_opt_out": bool(m.campaigns_opt_out)}
                        for m in members],
        "affinity": [{"shop_id": e.shop_id, **_affinity_view(e)} for e in affinity],
        "points": [{"shop_id": e.shop_id, "delta": e.delta, "balance": e.balance,
                    "reason": e.reason, "ref": e.ref, "created_at": e.created_at.isoformat()}
                   for e in points],
        "watch_minutes": [{"session_id": w.session_id, "shop_id": w.shop_id,
                           "minutes": w.minutes, "engaged": bool(w.engaged)} for w in watch],
        "orders": [{"order_id": o.order_id, "shop_id": o.shop_id, "paid": o.paid,
                    "refunded": o.refunded, "affinity_granted": o.affinity_granted,
                    "points_granted": o.points_granted} for o in bought],
        "feed_comments": [{"post_id": c.post_id, "shop_id": c.shop_id, "body": c.body,
                           "status": c.status, "created_at": _iso(c.created_at)}
                          for c in comments],
        "feed_reactions": [{"post_id": r.post_id, "kind": r.kind,
                            "created_at": _iso(r.created_at)} for r in reactions],
    }


async def delete_fan_data(db: Database, principal: Principal, now: datetime,
                          badges: BadgeCache | None = None) -> dict[str, Any]:
    """Delete everything of the fan club about the caller in every shop: memberships, affinity
    and points with their histories, watch minutes. Orders, payments and after-sales records
    stay, as the law requires them kept (≥ 3 years); they are not fan data."""
    uid = principal.user_id
    async with db.write() as uow:
        conn = uow.conn
        shop_ids = list((await conn.execute(select(fan_members.c.shop_id).where(
            fan_members.c.user_id == uid))).scalars())
        counts = {}
        for name, table in (("affinity_entries", affinity_entries),
                            ("point_entries", point_entries), ("watch", fan_watch),
                            ("orders", fan_orders), ("feed_comments", fan_post_comments),
                            ("feed_reactions", fan_post_reactions),
                            ("memberships", fan_members)):
            counts[name] = (await conn.execute(delete(table).where(
                table.c.user_id == uid))).rowcount
        await record_event(uow, "FanDataDeleted", now, payload={"user_id": uid,
                                                                "shops": sorted(shop_ids)})
    if badges is not None:
        for shop_id in shop_ids:
            badges.forget(shop_id, uid)
    return {"deleted": counts}
