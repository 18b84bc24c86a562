"""Red packet use cases (红包, docs/fans.md "Red packets"): the shop funds one in a live session
through the payment provider; its shares are fixed at creation (rules.split_red_packet); fans
grab them, each at most once, first come first served; each share is transferred to its fan by
the `red_packet_payouts` consumer (an idempotency key per grab); what is not grabbed in 24 hours
goes back to the shop's available balance (the durable `red_packet_expiry` deadline)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from livepledge.accounts.service import Principal, access_shop
from livepledge.coupons import rules
from livepledge.coupons.models import coupon_claims, coupons, red_packet_grabs, red_packets
from livepledge.infra import deadlines
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import record_event
from livepledge.infra.problems import Problem
from livepledge.live.models import live_sessions
from livepledge.orders import rules as order_rules
from livepledge.orders.payments import PaymentProvider

EXPIRY_KIND = "red_packet_expiry"


def packet_view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    amounts = view.pop("amounts")
    view.pop("idempotency_key", None)
    view["remaining_shares"] = int(row.shares) - int(row.grabbed)
    view["remaining_amount"] = sum(amounts[int(row.grabbed):])
    if row.status == "open":  # the split is revealed once nothing more can be grabbed
        view["seed"] = None
    else:
        view["amounts"] = amounts
    return view


async def _session(conn: Any, session_id: int) -> Any:
    row = (await conn.execute(select(live_sessions.c.shop_id, live_sessions.c.status).where(
        live_sessions.c.id == session_id))).first()
    if row is None:
        raise Problem("not_found", f"直播不存在 / no such session: {session_id}")
    return row


async def create(db: Database, provider: PaymentProvider, principal: Principal,
                 session_id: int, *, total: int, shares: int, split_mode: str,
                 key: str | None, outcome: str | None, now: datetime,
                 coupon_id: int | None = None) -> tuple[dict[str, Any], bool]:
    """Fund a red packet in a live session: the shop is charged `total` through the provider
    (the Idempotency-Key makes a repeat return the same red packet, never a second charge).
    With `coupon_id`: a coupon red packet, `shares` coupons of the shop's coupon taken from its
    budget now, one to each of the first fans; nothing is charged."""
    if error := order_rules.idempotency_key_error(key):
        raise Problem("idempotency_key_missing" if not key else "validation_failed", error)
    assert key is not None
    async with db.read() as conn:
        session = await _session(conn, session_id)
        access_shop(principal, int(session.shop_id))
        existing = (await conn.execute(select(red_packets).where(
            red_packets.c.shop_id == session.shop_id,
            red_packets.c.idempotency_key == key))).first()
    if existing is not None:
        return packet_view(existing), False
    if coupon_id is not None:
        total, split_mode = shares, "even"  # one coupon per share
    if error := rules.red_packet_error(total=total, shares=shares, split_mode=split_mode):
        raise Problem("validation_failed", error)
    if session.status != "live":
        raise Problem("invalid_transition", "只能在直播中发红包 / red packets go out only while "
                      "the session is live", session_status=session.status)
    shop_id = int(session.shop_id)
    if coupon_id is not None:
        return await _create_coupon_packet(db, principal, shop_id, session_id, coupon_id,
                                           shares=shares, key=key, now=now), True
    charge = await provider.collect(shop_id=shop_id, amount=total,
                                    idempotency_key=f"red-packet:{key}", outcome=outcome)
    if not charge.succeeded:
        raise Problem("payment_failed", f"红包充值失败：{charge.message}",
                      provider=charge.provider)
    seed = secrets.token_hex(16)
    amounts = rules.split_red_packet(total, shares, split_mode, bytes.fromhex(seed))
    expires = now + timedelta(hours=rules.RED_PACKET_HOURS)
    async with db.write() as uow:
        packet_id = int((await uow.conn.execute(insert(red_packets).values(
            shop_id=shop_id, session_id=session_id, kind="cash", coupon_id=None,
            total_amount=total, shares=shares,
            split=split_mode, seed=seed, amounts=amounts, grabbed=0, status="open",
            idempotency_key=key, provider=charge.provider, funding_ref=charge.reference,
            returned_amount=None, created_at=now, expires_at=expires, closed_at=None,
            created_by=principal.user_id).returning(red_packets.c.id))).scalar_one())
        await record_event(uow, "RedPacketFunded", now, shop_id=shop_id, session_id=session_id,
                           payload={"red_packet_id": packet_id, "amount": total,
                                    "shares": shares, "split": split_mode,
                                    "provider": charge.provider})
        await deadlines.schedule(uow, EXPIRY_KIND, packet_id, expires, now)
        row = (await uow.conn.execute(select(red_packets).where(
            red_packets.c.id == packet_id))).one()
    return packet_view(row), True


async def _create_coupon_packet(db: Database, principal: Principal, shop_id: int,
                                session_id: int, coupon_id: int, *, shares: int, key: str,
                                now: datetime) -> dict[str, Any]:
    """Take `shares` coupons from the coupon's budget (`remaining >= shares`, in one
    conditional update) for the red packet; the claim gate may still count them for a while
    and is then corrected by the database (claims beyond the budget are refused there)."""
    expires = now + timedelta(hours=rules.RED_PACKET_HOURS)
    async with db.write() as uow:
        coupon = (await uow.conn.execute(select(coupons).where(coupons.c.id == coupon_id))
                  ).first()
        if coupon is None or coupon.shop_id != shop_id:
            raise Problem("validation_failed", f"优惠券不属于本店 / coupon {coupon_id} is not "
                          "this shop's", errors=[{"field": "coupon_id", "message": "not found"}])
        if coupon.points_price is not None or coupon.min_fan_level is not None or \
                coupon.segment_id is not None:  # a red packet would hand them out to anyone
            raise Problem("validation_failed", "积分兑换券和定向券不能放进红包 / a coupon for "
                          "points or for chosen fans cannot go in a red packet",
                          errors=[{"field": "coupon_id", "message": "points or targeted"}])
        taken = (await uow.conn.execute(update(coupons).where(
            coupons.c.id == coupon_id, coupons.c.status == "active",
            coupons.c.remaining >= shares, coupons.c.claim_ends_at > now)
            .values(remaining=coupons.c.remaining - shares))).rowcount
        if taken != 1:
            raise Problem("sold_out", "优惠券已结束或余量不足 / the coupon has ended or has fewer "
                          f"than {shares} left", coupon_id=coupon_id)
        packet_id = int((await uow.conn.execute(insert(red_packets).values(
            shop_id=shop_id, session_id=session_id, kind="coupon", coupon_id=coupon_id,
            total_amount=0, shares=shares, split="even", seed="", amounts=[0] * shares,
            grabbed=0, status="open", idempotency_key=key, provider="", funding_ref="",
            returned_amount=None, created_at=now, expires_at=expires, closed_at=None,
            created_by=principal.user_id).returning(red_packets.c.id))).scalar_one())
        await record_event(uow, "RedPacketFunded", now, shop_id=shop_id, session_id=session_id,
                           payload={"red_packet_id": packet_id, "amount": 0, "shares": shares,
                                    "coupon_id": coupon_id})
        await deadlines.schedule(uow, EXPIRY_KIND, packet_id, expires, now)
        row = (await uow.conn.execute(select(red_packets).where(
            red_packets.c.id == packet_id))).one()
    return packet_view(row)


async def _issue_coupon(uow: UnitOfWork, packet: Any, buyer_id: int, now: datetime) -> int:
    """The coupon of a coupon red packet's share, as the fan's claim (its budget was taken when
    the red packet was funded)."""
    coupon = (await uow.conn.execute(select(coupons).where(
        coupons.c.id == packet.coupon_id))).one()
    valid_from, valid_until = rules.validity(
        claimed_at=now, valid_from=coupon.valid_from, valid_until=coupon.valid_until,
        valid_days=coupon.valid_days)
    claim_id = int((await uow.conn.execute(insert(coupon_claims).values(
        coupon_id=coupon.id, buyer_id=buyer_id, shop_id=coupon.shop_id,
        idempotency_key=f"red-packet-{packet.id}", claimed_at=now, valid_from=valid_from,
        valid_until=valid_until, status="unused", order_id=None, discount=None, used_at=None)
        .returning(coupon_claims.c.id))).scalar_one())
    await record_event(uow, "CouponClaimed", now, shop_id=coupon.shop_id,
                       session_id=packet.session_id,
                       payload={"coupon_id": coupon.id, "claim_id": claim_id,
                                "buyer_id": buyer_id, "red_packet_id": int(packet.id)})
    return claim_id


async def session_packets(db: Database, principal: Principal | None,
                          session_id: int) -> list[dict[str, Any]]:
    """The session's red packets, newest first, with what is left and (logged in) my grab."""
    async with db.read() as conn:
        await _session(conn, session_id)
        rows = (await conn.execute(select(red_packets).where(
            red_packets.c.session_id == session_id).order_by(red_packets.c.id.desc())
            .limit(50))).all()
        mine: dict[int, int] = {}
        if principal is not None and rows:
            grabs = await conn.execute(select(red_packet_grabs).where(
                red_packet_grabs.c.buyer_id == principal.user_id,
                red_packet_grabs.c.red_packet_id.in_([r.id for r in rows])))
            mine = {g.red_packet_id: int(g.amount) for g in grabs}
    return [{**packet_view(r), "my_amount": mine.get(r.id)} for r in rows]


async def get_packet(db: Database, packet_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        row = (await conn.execute(select(red_packets).where(
            red_packets.c.id == packet_id))).first()
        if row is None:
            raise Problem("not_found", f"红包不存在 / no such red packet: {packet_id}")
        grabs = (await conn.execute(select(red_packet_grabs).where(
            red_packet_grabs.c.red_packet_id == packet_id).order_by(
            red_packet_grabs.c.position))).all()
    return {**packet_view(row), "grabs": [
        {"position": g.position, "amount": int(g.amount),
         "grabbed_at": row_dict(g)["grabbed_at"], "paid": g.paid_at is not None}
        for g in grabs]}


def _grab_view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    view.pop("payout_ref", None)
    return view


async def grab(db: Database, principal: Principal, packet_id: int, *,
               now: datetime) -> tuple[dict[str, Any], bool]:
    """Grab a share (抢红包): the next share in order, once per fan; a second grab by the same
    fan returns the first. One conditional UPDATE hands out positions, so no share is given
    twice and no more than `shares` fans get one, on SQLite and PostgreSQL alike."""
    async with db.read() as conn:
        found = (await conn.execute(select(red_packet_grabs).where(
            red_packet_grabs.c.red_packet_id == packet_id,
            red_packet_grabs.c.buyer_id == principal.user_id))).first()
    if found is not None:
        return _grab_view(found), False
    try:
        async with db.write() as uow:
            packet = (await uow.conn.execute(select(red_packets).where(
                red_packets.c.id == packet_id))).first()
            if packet is None:
                raise Problem("not_found", f"红包不存在 / no such red packet: {packet_id}")
            taken = (await uow.conn.execute(update(red_packets).where(
                red_packets.c.id == packet_id, red_packets.c.status == "open",
                red_packets.c.grabbed < red_packets.c.shares, red_packets.c.expires_at > now)
                .values(grabbed=red_packets.c.grabbed + 1)
                .returning(red_packets.c.grabbed, red_packets.c.shares,
                           red_packets.c.amounts))).first()
            if taken is None:
                mine = (await uow.conn.execute(select(red_packet_grabs).where(
                    red_packet_grabs.c.red_packet_id == packet_id,
                    red_packet_grabs.c.buyer_id == principal.user_id))).first()
                if mine is not None:  # this fan's other press won while this one waited
                    return _grab_view(mine), False
                raise Problem("sold_out", "红包已抢完或已结束 / the red packet is all taken or "
                              "has ended", red_packet_id=packet_id)
            position = int(taken.grabbed) - 1
            amount = int(taken.amounts[position])
            claim_id = None if packet.coupon_id is None else await _issue_coupon(
                uow, packet, principal.user_id, now)
            grab_id = int((await uow.conn.execute(insert(red_packet_grabs).values(
                red_packet_id=packet_id, buyer_id=principal.user_id, position=position,
                amount=amount, claim_id=claim_id, grabbed_at=now, payout_ref=None,
                paid_at=None)
                .returning(red_packet_grabs.c.id))).scalar_one())
            if taken.grabbed == taken.shares:
                await uow.conn.execute(update(red_packets).where(red_packets.c.id == packet_id)
                                       .values(status="finished", closed_at=now))
                await deadlines.cancel(uow, EXPIRY_KIND, packet_id, now)
            await record_event(uow, "RedPacketGrabbed", now, shop_id=packet.shop_id,
                               session_id=packet.session_id,
                               payload={"red_packet_id": packet_id, "grab_id": grab_id,
                                        "buyer_id": principal.user_id, "position": position,
                                        "amount": amount,
                                        **({"claim_id": claim_id} if claim_id else {})})
            row = (await uow.conn.execute(select(red_packet_grabs).where(
                red_packet_grabs.c.id == grab_id))).one()
    except IntegrityError:  # the same fan's concurrent grab won: answer with it
        async with db.read() as conn:
            found = (await conn.execute(select(red_packet_grabs).where(
                red_packet_grabs.c.red_packet_id == packet_id,
                red_packet_grabs.c.buyer_id == principal.user_id))).first()
        if found is None:
            raise
        return _grab_view(found), False
    return _grab_view(row), True


class RedPacketPayouts:
    """The `red_packet_payouts` consumer: transfers each grabbed share to its fan through the
    provider (key `red-packet-grab:{grab id}`: a replay after a crash pays nothing twice) and
    records `RedPacketSharePaid`, which the ledger posts, in the same transaction as its
    checkpoint."""

    name = "red_packet_payouts"
    types = frozenset({"RedPacketGrabbed"})

    def __init__(self, provider: PaymentProvider) -> None:
        self.provider = provider

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        grab_id = int(event.payload["grab_id"])
        row = (await uow.conn.execute(select(red_packet_grabs, red_packets.c.provider).join(
            red_packets, red_packets.c.id == red_packet_grabs.c.red_packet_id).where(
            red_packet_grabs.c.id == grab_id))).first()
        if row is None or row.paid_at is not None or int(row.amount) == 0:
            return  # paid already, or a coupon (no cash to transfer)
        paid = await self.provider.pay_buyer(buyer_id=int(row.buyer_id), amount=int(row.amount),
                                             idempotency_key=f"red-packet-grab:{grab_id}")
        await uow.conn.execute(update(red_packet_grabs).where(
            red_packet_grabs.c.id == grab_id).values(payout_ref=paid.reference,
                                                     paid_at=event.occurred_at))
        await record_event(uow, "RedPacketSharePaid", event.occurred_at, shop_id=event.shop_id,
                           session_id=event.session_id,
                           payload={"red_packet_id": int(row.red_packet_id), "grab_id": grab_id,
                                    "buyer_id": int(row.buyer_id), "amount": int(row.amount),
                                    "provider": paid.provider})


class RedPacketExpires:
    """The `red_packet_expiry` deadline, 24 hours after funding: the shares nobody grabbed go
    back to the shop's available balance (`RedPacketReturned`, posted by the ledger)."""

    kind = EXPIRY_KIND

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        closed = (await uow.conn.execute(update(red_packets).where(
            red_packets.c.id == ref_id, red_packets.c.status == "open")
            .values(status="returned", closed_at=now)
            .returning(red_packets.c.grabbed, red_packets.c.amounts, red_packets.c.shop_id,
                       red_packets.c.session_id, red_packets.c.coupon_id,
                       red_packets.c.shares))).first()
        if closed is None:
            return "nothing to return"
        if closed.coupon_id is not None:  # the coupons nobody grabbed go back to its budget
            left_coupons = int(closed.shares) - int(closed.grabbed)
            await uow.conn.execute(update(coupons).where(coupons.c.id == closed.coupon_id)
                                   .values(remaining=coupons.c.remaining + left_coupons))
            await uow.conn.execute(update(red_packets).where(red_packets.c.id == ref_id)
                                   .values(returned_amount=0))
            await record_event(uow, "RedPacketReturned", now, shop_id=closed.shop_id,
                               session_id=closed.session_id,
                               payload={"red_packet_id": ref_id, "amount": 0,
                                        "shares": left_coupons,
                                        "coupon_id": closed.coupon_id})
            return f"returned {left_coupons} coupons"
        left = sum(int(a) for a in closed.amounts[int(closed.grabbed):])
        await uow.conn.execute(update(red_packets).where(red_packets.c.id == ref_id)
                               .values(returned_amount=left))
        if left:
            await record_event(uow, "RedPacketReturned", now, shop_id=closed.shop_id,
                               session_id=closed.session_id,
                               payload={"red_packet_id": ref_id, "amount": left,
                                        "shares": len(closed.amounts) - int(closed.grabbed)})
        return f"returned {left}"
