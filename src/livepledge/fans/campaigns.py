"""Campaigns (营销触达) to the merchant's own fans, inside the platform (docs/fans.md,
"Campaigns"): a short message, optionally with a coupon, to a saved segment — now, at a set
time, or when a live session starts. Only fan-club members who have not opted out receive it,
at most `rules.CAMPAIGN_CAP` campaigns a fan in any 7 days from one shop, in their notice inbox
with the way to unsubscribe. The text is checked like chat: nothing that leads buyers off the
platform. Results are counted from stored rows: delivered, opened, the coupon claimed, and the
orders and net sales attributed within 7 days (last touch)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops
from livepledge.accounts.service import Principal, access_shop
from livepledge.fans import rules, segments
from livepledge.fans.models import campaign_messages, campaigns, fan_orders
from livepledge.fans.service import campaign_recipients
from livepledge.infra import clock, deadlines
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import record_event, record_event_id
from livepledge.infra.problems import Problem
from livepledge.notices.models import notices

SEND_KIND = "campaign_send"
CHUNK = 5_000  # rows per insert and ids per IN (PostgreSQL's parameter limit)


def _iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value else None


def check_text(title: str, body: str) -> tuple[str, str]:
    from livepledge.aftersales.service import diversion_verdict

    title, body = title.strip(), body.strip()
    if error := rules.campaign_text_error(title, body):
        raise Problem("validation_failed", error)
    held, findings = diversion_verdict(f"{title}\n{body}")
    if held:
        words = "、".join(sorted({f.get("text", "") for f in findings if f.get("text")}))
        raise Problem("validation_failed", "营销消息不得引导站外联系或私下交易 / a campaign may "
                      f"not lead buyers off the platform: {words}", findings=findings)
    return title, body


async def create(db: Database, principal: Principal, shop_id: int, *, segment_id: int,
                 title: str, body: str, coupon_id: int | None, send_at: datetime | None,
                 on_session_id: int | None, now: datetime) -> dict[str, Any]:
    """Schedule a campaign (staff): `send_at` (default now) or when `on_session_id` goes live."""
    access_shop(principal, shop_id)
    title, body = check_text(title, body)
    send_at = clock.as_utc(send_at) if send_at else None
    if error := rules.campaign_time_error(send_at, on_session_id, now):
        raise Problem("validation_failed", error)
    if send_at is None and on_session_id is None:
        send_at = now
    async with db.write() as uow:
        segment = await segments.access_segment(uow.conn, principal, shop_id, segment_id)
        if coupon_id is not None:
            await _check_coupon(uow.conn, shop_id, coupon_id)
        if on_session_id is not None:
            await _check_session(uow.conn, shop_id, on_session_id)
        campaign_id = int((await uow.conn.execute(insert(campaigns).values(
            shop_id=shop_id, segment_id=segment_id, segment_filter=segment.filter,
            title=title, body=body,
            coupon_id=coupon_id, send_at=send_at, on_session_id=on_session_id,
            status="scheduled", created_by=principal.user_id, created_at=now)
            .returning(campaigns.c.id))).scalar_one())
        await record_event(uow, "CampaignScheduled", now, shop_id=shop_id,
                           session_id=on_session_id, payload={
                               "campaign_id": campaign_id, "segment_id": segment_id,
                               "coupon_id": coupon_id, "send_at": _iso(send_at),
                               "on_session_id": on_session_id})
        if send_at is not None:
            await deadlines.schedule(uow, SEND_KIND, campaign_id, send_at, now)
    return await get(db, principal, campaign_id, now=now)


async def _check_coupon(conn: AsyncConnection, shop_id: int, coupon_id: int) -> None:
    from livepledge.coupons.service import access_coupon

    coupon = await access_coupon(conn, coupon_id)
    if coupon.shop_id != shop_id:
        raise Problem("not_found", f"优惠券不存在 / no such coupon: {coupon_id}")


async def _check_session(conn: AsyncConnection, shop_id: int, session_id: int) -> None:
    from livepledge.live.service import access_session

    session = await access_session(conn, session_id)
    if session.shop_id != shop_id:
        raise Problem("not_found", f"直播场次不存在 / no such session: {session_id}")
    if session.status != "scheduled":
        raise Problem("validation_failed", "只能选择尚未开播的场次 / choose a session that has "
                                           "not started yet")


async def cancel(db: Database, principal: Principal, campaign_id: int, *,
                 now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        row = (await uow.conn.execute(select(campaigns).where(
            campaigns.c.id == campaign_id))).first()
        if row is None or not principal.can_manage(row.shop_id):
            raise Problem("not_found", f"营销活动不存在 / no such campaign: {campaign_id}")
        if row.status != "scheduled":
            raise Problem("invalid_transition", f"活动状态为 {row.status}，不能取消 / the "
                                                f"campaign is {row.status}")
        await uow.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id)
                               .values(status="cancelled"))
        await deadlines.cancel(uow, SEND_KIND, campaign_id, now)
        await record_event(uow, "CampaignCancelled", now, shop_id=row.shop_id,
                           payload={"campaign_id": campaign_id})
    return await get(db, principal, campaign_id, now=now)


async def _results(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    """Delivered, opened, coupon claimed, and orders attributed within 7 days: an order counts
    for the last campaign of the shop delivered to its buyer before it was paid."""
    cm = campaign_messages
    later = campaign_messages.alias("later")
    opened = (await conn.execute(select(func.count()).where(
        cm.c.campaign_id == row.id, cm.c.opened_at.is_not(None)))).scalar_one()
    window = rules.ATTRIBUTION_WINDOW
    attributed = and_(  # the 7-day bound is applied below (date arithmetic differs per dialect)
        fan_orders.c.shop_id == row.shop_id, fan_orders.c.user_id == cm.c.user_id,
        fan_orders.c.paid_at >= cm.c.delivered_at)
    query = (select(fan_orders.c.order_id, fan_orders.c.paid, fan_orders.c.refunded,
                    fan_orders.c.paid_at, cm.c.delivered_at)
             .select_from(cm.join(fan_orders, attributed))
             .where(cm.c.campaign_id == row.id, ~exists().where(
                 later.c.shop_id == row.shop_id, later.c.user_id == cm.c.user_id,
                 later.c.delivered_at > cm.c.delivered_at,
                 later.c.delivered_at <= fan_orders.c.paid_at)))
    orders = [r for r in (await conn.execute(query)).all()
              if clock.as_utc(r.paid_at) <= clock.as_utc(r.delivered_at) + window]
    claimed = 0
    if row.coupon_id is not None:
        from livepledge.coupons.models import coupon_claims

        claimed = (await conn.execute(select(func.count(func.distinct(
            coupon_claims.c.buyer_id))).select_from(coupon_claims.join(cm, and_(
                cm.c.campaign_id == row.id, cm.c.user_id == coupon_claims.c.buyer_id,
                coupon_claims.c.claimed_at >= cm.c.delivered_at))).where(
            coupon_claims.c.coupon_id == row.coupon_id))).scalar_one()
    return {"delivered": row.delivered or 0, "opened": int(opened),
            "coupon_claimed": int(claimed), "orders": len(orders),
            "net_sales": sum(int(r.paid) - int(r.refunded) for r in orders),
            "attributed_order_ids": sorted(int(r.order_id) for r in orders)}


def _view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    for key in ("send_at", "created_at", "sent_at"):
        view[key] = _iso(row._mapping[key])
    return view


async def get(db: Database, principal: Principal, campaign_id: int, *,
              now: datetime) -> dict[str, Any]:
    async with db.read() as conn:
        row = (await conn.execute(select(campaigns).where(
            campaigns.c.id == campaign_id))).first()
        if row is None or not principal.can_manage(row.shop_id):
            raise Problem("not_found", f"营销活动不存在 / no such campaign: {campaign_id}")
        return {**_view(row), "results": await _results(conn, row)}


async def list_for_shop(db: Database, principal: Principal, shop_id: int, *, limit: int,
                        offset: int) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = (await conn.execute(select(campaigns).where(campaigns.c.shop_id == shop_id)
                                   .order_by(campaigns.c.id.desc()).limit(limit)
                                   .offset(offset))).all()
        return [{**_view(r), "results": await _results(conn, r)} for r in rows]


async def opened(db: Database, principal: Principal, campaign_id: int,
                 now: datetime) -> int | None:
    """The recipient opened the message (first time counts); returns the campaign's shop."""
    async with db.write() as uow:
        found = (await uow.conn.execute(select(campaign_messages.c.shop_id).where(
            campaign_messages.c.campaign_id == campaign_id,
            campaign_messages.c.user_id == principal.user_id))).scalar_one_or_none()
        if found is None:
            return None
        await uow.conn.execute(update(campaign_messages).where(
            campaign_messages.c.campaign_id == campaign_id,
            campaign_messages.c.user_id == principal.user_id,
            campaign_messages.c.opened_at.is_(None)).values(opened_at=now))
        return int(found)


async def _recent_counts(conn: AsyncConnection, shop_id: int, user_ids: list[int],
                         since: datetime) -> dict[int, int]:
    counts: dict[int, int] = {}
    for start in range(0, len(user_ids), CHUNK):
        chunk = user_ids[start:start + CHUNK]
        for r in await conn.execute(select(campaign_messages.c.user_id, func.count()).where(
                campaign_messages.c.shop_id == shop_id,
                campaign_messages.c.user_id.in_(chunk),
                campaign_messages.c.delivered_at > since)
                .group_by(campaign_messages.c.user_id)):
            counts[int(r[0])] = int(r[1])
    return counts


class CampaignSend:
    """The `campaign_send` deadline: the segment as it is now, members who have not opted out,
    within the frequency cap; one notice and one message row each, in the deadline's
    transaction (once in effect: a repeat finds the campaign sent)."""

    kind = SEND_KIND

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        conn = uow.conn
        row = (await conn.execute(select(campaigns).where(campaigns.c.id == ref_id))).first()
        if row is None or row.status != "scheduled":
            return "nothing to send"
        facts = await segments.load_facts(conn, int(row.shop_id), now)
        wanted = segments.to_filter(row.segment_filter)
        audience = [fan.user_id for fan in facts if rules.matches(wanted, fan, now)]
        members = await _recipients(conn, int(row.shop_id), audience)
        recent = await _recent_counts(conn, int(row.shop_id), members,
                                      now - rules.CAP_WINDOW)
        chosen = [u for u in members if not rules.campaign_capped(recent.get(u, 0))]
        shop_name = (await conn.execute(select(shops.c.name).where(
            shops.c.id == row.shop_id))).scalar_one()
        event_id = await record_event_id(uow, "CampaignSent", now, shop_id=int(row.shop_id),
                                         payload={"campaign_id": ref_id,
                                                  "audience": len(audience),
                                                  "delivered": len(chosen)})
        params = {"campaign_id": ref_id, "shop_id": int(row.shop_id), "shop_name": shop_name,
                  "title": row.title, "body": row.body, "coupon_id": row.coupon_id}
        for start in range(0, len(chosen), CHUNK):
            chunk = chosen[start:start + CHUNK]
            await conn.execute(insert(campaign_messages), [
                {"campaign_id": ref_id, "user_id": u, "shop_id": int(row.shop_id),
                 "delivered_at": now} for u in chunk])
            await conn.execute(insert(notices), [
                {"user_id": u, "kind": "campaign", "params": params, "order_id": None,
                 "session_id": row.on_session_id, "event_id": event_id,
                 "dedupe": f"campaign:{ref_id}", "created_at": now} for u in chunk])
        await conn.execute(update(campaigns).where(campaigns.c.id == ref_id).values(
            status="sent", sent_at=now, audience=len(audience), delivered=len(chosen),
            skipped_opted_out=len(audience) - len(members),
            skipped_capped=len(members) - len(chosen)))
        return f"sent to {len(chosen)} of {len(audience)}"


async def _recipients(conn: AsyncConnection, shop_id: int, user_ids: list[int]) -> list[int]:
    out: list[int] = []
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), CHUNK):
        out += await campaign_recipients(conn, shop_id, ids[start:start + CHUNK])
    return out


class CampaignTriggers:
    """The `campaign_triggers` consumer: a campaign set to go out when a session starts is
    sent at its `SessionStarted`."""

    name = "campaign_triggers"
    types = frozenset({"SessionStarted"})

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        if event.session_id is None:
            return
        waiting = (await uow.conn.execute(select(campaigns.c.id).where(
            campaigns.c.on_session_id == event.session_id,
            campaigns.c.status == "scheduled"))).scalars().all()
        for campaign_id in waiting:
            await deadlines.schedule(uow, SEND_KIND, int(campaign_id), event.occurred_at,
                                     clock.utcnow())


def open_redirect(shop_id: int | None) -> str:
    return "/fan-clubs" if shop_id is None else f"/fan-clubs#shop-{shop_id}"

