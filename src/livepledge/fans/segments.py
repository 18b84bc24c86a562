"""Segments (人群): a shop's buyers filtered by RFM net of returns (from the shop's own paid
orders), fan level, check-in streak, sessions bought in and the merchant's tags. Saved segments
keep only their filter; counts are computed when asked, so they are always current. The facts
are loaded once per request and the filter is the pure `rules.matches`."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal, access_shop
from livepledge.fans import rules
from livepledge.fans.models import fan_members, fan_orders, fan_segments
from livepledge.fans.service import levels_of
from livepledge.infra.db import Database
from livepledge.infra.events import record_event
from livepledge.infra.problems import Problem

MAX_SEGMENTS = 50


def to_filter(raw: dict[str, Any]) -> rules.SegmentFilter:
    """A stored or submitted filter (already validated by schemas.SegmentFilterIn)."""
    values = dict(raw)
    for key in ("tags_any", "tags_all"):
        values[key] = frozenset(values.get(key) or ())
    return rules.SegmentFilter(**values)


def check_filter(raw: dict[str, Any]) -> rules.SegmentFilter:
    f = to_filter(raw)
    for low, high in (("recency_days_min", "recency_days_max"), ("orders_min", "orders_max"),
                      ("net_min_fen", "net_max_fen"), ("level_min", "level_max")):
        a, b = getattr(f, low), getattr(f, high)
        if a is not None and b is not None and a > b:
            raise Problem("validation_failed", f"{low} 不能大于 {high} / {low} is above {high}")
    return f


async def load_facts(conn: AsyncConnection, shop_id: int, now: datetime) -> list[rules.FanFacts]:
    """Every buyer with a paid order in the shop, and every current member."""
    levels = await levels_of(conn, shop_id)
    today = rules.local_day(now)
    per: dict[int, dict[str, Any]] = {}
    for r in await conn.execute(select(
            fan_orders.c.user_id, fan_orders.c.session_id, fan_orders.c.paid,
            fan_orders.c.refunded, fan_orders.c.paid_at).where(fan_orders.c.shop_id == shop_id)):
        fan = per.setdefault(r.user_id, {"last": None, "orders": 0, "net": 0, "sessions": set()})
        fan["net"] += r.paid - r.refunded
        if r.refunded < r.paid:
            fan["orders"] += 1
            fan["last"] = max(fan["last"] or r.paid_at, r.paid_at)
            if r.session_id is not None:
                fan["sessions"].add(r.session_id)
    members = {r.user_id: r for r in await conn.execute(select(fan_members).where(
        fan_members.c.shop_id == shop_id, fan_members.c.left_at.is_(None)))}
    out = []
    for user_id in sorted(set(per) | set(members)):
        fan = per.get(user_id, {"last": None, "orders": 0, "net": 0, "sessions": set()})
        member = members.get(user_id)
        out.append(rules.FanFacts(
            user_id=user_id, is_member=member is not None, last_order_at=fan["last"],
            orders=fan["orders"], net_fen=fan["net"],
            level=rules.level_for(int(member.affinity), levels) if member else 0,
            streak=rules.current_streak(int(member.streak), member.last_checkin, today)
            if member else 0,
            sessions=frozenset(fan["sessions"]),
            tags=frozenset(member.tags) if member else frozenset()))
    return out


def _count(f: rules.SegmentFilter, facts: list[rules.FanFacts], now: datetime) -> int:
    return sum(1 for fan in facts if rules.matches(f, fan, now))


def _filter_view(f: rules.SegmentFilter) -> dict[str, Any]:
    view = asdict(f)
    view["tags_any"], view["tags_all"] = sorted(f.tags_any), sorted(f.tags_all)
    return view


async def preview(db: Database, principal: Principal, shop_id: int, raw: dict[str, Any],
                  now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    f = check_filter(raw)
    async with db.read() as conn:
        facts = await load_facts(conn, shop_id, now)
    return {"filter": _filter_view(f), "count": _count(f, facts, now), "buyers": len(facts)}


async def list_segments(db: Database, principal: Principal, shop_id: int,
                        now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = (await conn.execute(select(fan_segments).where(
            fan_segments.c.shop_id == shop_id).order_by(fan_segments.c.id))).all()
        facts = await load_facts(conn, shop_id, now)
    return {"buyers": len(facts), "segments": [
        {"id": r.id, "name": r.name, "filter": _filter_view(to_filter(r.filter)),
         "count": _count(to_filter(r.filter), facts, now),
         "created_at": r.created_at.isoformat()} for r in rows]}


async def create_segment(db: Database, principal: Principal, shop_id: int, name: str,
                         raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    f = check_filter(raw)
    name = name.strip()
    if not name:
        raise Problem("validation_failed", "人群名称不能为空 / the segment needs a name")
    async with db.write() as uow:
        existing = (await uow.conn.execute(select(func.count()).select_from(fan_segments)
                                           .where(fan_segments.c.shop_id == shop_id))).scalar_one()
        if existing >= MAX_SEGMENTS:
            raise Problem("validation_failed", f"最多保存 {MAX_SEGMENTS} 个人群 / at most "
                          f"{MAX_SEGMENTS} saved segments")
        stored = _filter_view(f)
        segment_id = (await uow.conn.execute(insert(fan_segments).values(
            shop_id=shop_id, name=name, filter=stored, created_by=principal.user_id,
            created_at=now).returning(fan_segments.c.id))).scalar_one()
        await record_event(uow, "SegmentSaved", now, shop_id=shop_id,
                           payload={"segment_id": segment_id, "name": name, "filter": stored})
        facts = await load_facts(uow.conn, shop_id, now)
    return {"id": segment_id, "name": name, "filter": stored, "count": _count(f, facts, now),
            "created_at": now.isoformat()}


async def _access_segment(conn: AsyncConnection, principal: Principal, shop_id: int,
                          segment_id: int) -> Any:
    access_shop(principal, shop_id)
    row = (await conn.execute(select(fan_segments).where(
        fan_segments.c.id == segment_id, fan_segments.c.shop_id == shop_id))).first()
    if row is None:
        raise Problem("not_found", f"人群不存在 / no such segment: {segment_id}")
    return row


async def delete_segment(db: Database, principal: Principal, shop_id: int, segment_id: int,
                         now: datetime) -> None:
    async with db.write() as uow:
        await _access_segment(uow.conn, principal, shop_id, segment_id)
        await uow.conn.execute(delete(fan_segments).where(fan_segments.c.id == segment_id))
        await record_event(uow, "SegmentDeleted", now, shop_id=shop_id,
                           payload={"segment_id": segment_id})


async def members_of(db: Database, principal: Principal, shop_id: int, segment_id: int,
                     now: datetime) -> list[int]:
    """The buyer ids in a saved segment, ascending (the campaign sender's list; it leaves out
    who opted out, fans.service.campaign_recipients)."""
    async with db.read() as conn:
        row = await _access_segment(conn, principal, shop_id, segment_id)
        facts = await load_facts(conn, shop_id, now)
    f = to_filter(row.filter)
    return [fan.user_id for fan in facts if rules.matches(f, fan, now)]


async def export_csv(db: Database, principal: Principal, shop_id: int, segment_id: int,
                     now: datetime) -> str:
    """The segment's buyer ids as CSV: ids only, no names, phones or addresses."""
    ids = await members_of(db, principal, shop_id, segment_id, now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user_id"])
    writer.writerows([i] for i in ids)
    return out.getvalue()


async def access_segment(conn: AsyncConnection, principal: Principal, shop_id: int,
                         segment_id: int) -> Any:
    """The shop's saved segment, for its staff (404 otherwise)."""
    return await _access_segment(conn, principal, shop_id, segment_id)

