"""Coupon use cases: the shop creates, lists, pauses and ends coupons; buyers claim them (领券)
through the same kind of atomic gate as the flash sale (orders/gate.py, its own key prefix),
and the claims are made durable in batches before the buyer is answered.

A claim burst: the gate reserves one coupon and checks the per-buyer limit atomically (in
process, or one Lua script in Redis); the claims that passed are written many per transaction,
the database re-checking both (`remaining >= n` and the conditional per-buyer upsert); only
then 201. After a crash the gate is rebuilt from the database (claims, counts, remaining)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops
from livepledge.accounts.service import Principal, access_shop
from livepledge.coupons import rules
from livepledge.coupons.models import coupon_buyer_counts, coupon_claims, coupons
from livepledge.coupons.red_packets import RedPacketExpires, RedPacketPayouts
from livepledge.fans.models import fan_members, fan_segments, point_entries
from livepledge.infra.batching import BatchQueue
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import insert_events, record_event
from livepledge.infra.problems import Problem
from livepledge.infra.singleflight import SingleFlight
from livepledge.live.models import live_sessions
from livepledge.orders import rules as order_rules
from livepledge.orders.gate import ItemStock, Reservation, StockGate

log = logging.getLogger("livepledge.coupons")
__all__ = ["RedPacketExpires", "RedPacketPayouts"]  # wired by deps.py with the claim desk
FACTS_TTL_SECONDS = 1.0
REPEAT_WAIT_SECONDS = 10.0


# --- the shop's coupons ---------------------------------------------------------------------

def coupon_view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    view["issued"] = int(row.budget) - int(row.remaining)
    return view


async def access_coupon(conn: AsyncConnection, coupon_id: int) -> Any:
    row = (await conn.execute(select(coupons).where(coupons.c.id == coupon_id))).first()
    if row is None:
        raise Problem("not_found", f"优惠券不存在 / no such coupon: {coupon_id}")
    return row


async def check_create(conn: AsyncConnection, principal: Principal, shop_id: int,
                       terms: rules.Terms, *, session_id: int | None, now: datetime) -> None:
    access_shop(principal, shop_id)
    if errors := rules.terms_errors(terms, now):
        raise Problem("validation_failed", "；".join(errors),
                      errors=[{"field": "body", "message": e} for e in errors])
    if session_id is not None:
        owner = (await conn.execute(select(live_sessions.c.shop_id, live_sessions.c.status).where(
            live_sessions.c.id == session_id))).first()
        if owner is None or owner.shop_id != shop_id:
            raise Problem("validation_failed", f"该场直播不属于本店 / session {session_id} is not "
                          "this shop's", errors=[{"field": "session_id",
                                                  "message": "not this shop's session"}])
        if owner.status == "ended":
            raise Problem("validation_failed", "该场直播已结束 / the session has ended",
                          errors=[{"field": "session_id", "message": "the session has ended"}])


async def _check_segment(conn: AsyncConnection, shop_id: int, segment_id: int) -> None:
    owner = (await conn.execute(select(fan_segments.c.shop_id).where(
        fan_segments.c.id == segment_id))).scalar()
    if owner != shop_id:
        raise Problem("validation_failed", f"人群不属于本店 / segment {segment_id} is not this "
                      "shop's", errors=[{"field": "segment_id", "message": "not this shop's"}])


async def create(db: Database, principal: Principal, shop_id: int, terms: rules.Terms, *,
                 title: str, session_id: int | None, stackable: bool,
                 min_fan_level: int | None, segment_id: int | None,
                 now: datetime, points_price: int | None = None) -> dict[str, Any]:
    async with db.write() as uow:
        await check_create(uow.conn, principal, shop_id, terms, session_id=session_id, now=now)
        if segment_id is not None:
            await _check_segment(uow.conn, shop_id, segment_id)
        coupon_id = (await uow.conn.execute(insert(coupons).values(
            shop_id=shop_id, title=title.strip(), kind=terms.kind, threshold=terms.threshold,
            amount_off=terms.amount_off, percent_off=terms.percent_off, cap=terms.cap,
            budget=terms.budget, remaining=terms.budget, per_buyer_limit=terms.per_buyer_limit,
            claim_starts_at=terms.claim_starts_at, claim_ends_at=terms.claim_ends_at,
            valid_from=terms.valid_from, valid_until=terms.valid_until,
            valid_days=terms.valid_days, session_id=session_id, min_fan_level=min_fan_level,
            segment_id=segment_id, points_price=points_price, stackable=stackable,
            status="active", created_at=now,
            created_by=principal.user_id).returning(coupons.c.id))).scalar_one()
        await record_event(uow, "CouponCreated", now, shop_id=shop_id, session_id=session_id,
                           payload={"coupon_id": coupon_id, "kind": terms.kind,
                                    "budget": terms.budget})
        row = await access_coupon(uow.conn, coupon_id)
    return coupon_view(row)


async def list_shop_coupons(db: Database, principal: Principal,
                            shop_id: int) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = (await conn.execute(select(coupons).where(coupons.c.shop_id == shop_id)
                                   .order_by(coupons.c.id.desc()).limit(500))).all()
        used = {r.coupon_id: int(r.n) for r in await conn.execute(
            select(coupon_claims.c.coupon_id, func.count().label("n")).where(
                coupon_claims.c.shop_id == shop_id, coupon_claims.c.status == "used")
            .group_by(coupon_claims.c.coupon_id))}
        return [{**coupon_view(r), "used": used.get(r.id, 0)} for r in rows]


async def get_coupon(db: Database, principal: Principal | None,
                     coupon_id: int) -> dict[str, Any]:
    """A coupon's public terms (anyone may see what a coupon offers)."""
    async with db.read() as conn:
        return coupon_view(await access_coupon(conn, coupon_id))


async def change_status(db: Database, principal: Principal, coupon_id: int, action: str, *,
                        now: datetime, desk: ClaimDesk | None = None) -> dict[str, Any]:
    """Pause, resume or end a coupon. Claims already made stay usable."""
    async with db.write() as uow:
        row = await access_coupon(uow.conn, coupon_id)
        if not principal.can_manage(row.shop_id):
            raise Problem("not_found", f"优惠券不存在 / no such coupon: {coupon_id}")
        target = rules.next_status(row.status, action)
        if target is None:
            raise Problem("invalid_transition", f"优惠券状态为 {row.status}，不能 {action} / the "
                          f"coupon is {row.status}; cannot {action}", coupon_status=row.status)
        await uow.conn.execute(update(coupons).where(
            coupons.c.id == coupon_id, coupons.c.status == row.status).values(status=target))
        await record_event(uow, "CouponStatusChanged", now, shop_id=row.shop_id,
                           session_id=row.session_id,
                           payload={"coupon_id": coupon_id, "from": row.status, "to": target})
        row = await access_coupon(uow.conn, coupon_id)
    if desk is not None:
        desk.facts.invalidate(coupon_id)
    return coupon_view(row)


async def session_coupons(db: Database, principal: Principal | None, session_id: int, *,
                          now: datetime, desk: ClaimDesk | None = None) -> dict[str, Any]:
    """The coupons a live room offers: those targeted at the session and the shop's untargeted
    ones, claimable now or later; with what is left and (logged in) how many the caller holds."""
    async with db.read() as conn:
        session = (await conn.execute(select(live_sessions.c.shop_id, live_sessions.c.status)
                                      .where(live_sessions.c.id == session_id))).first()
        if session is None:
            raise Problem("not_found", f"直播不存在 / no such session: {session_id}")
        rows = (await conn.execute(select(coupons).where(
            coupons.c.shop_id == session.shop_id, coupons.c.status == "active",
            coupons.c.claim_ends_at >= now,
            or_(coupons.c.session_id.is_(None), coupons.c.session_id == session_id),
            coupons.c.points_price.is_(None))
            .order_by(coupons.c.id))).all()
        held: dict[int, int] = {}
        if principal is not None and rows:
            counts = await conn.execute(select(coupon_buyer_counts).where(
                coupon_buyer_counts.c.buyer_id == principal.user_id,
                coupon_buyer_counts.c.coupon_id.in_([r.id for r in rows])))
            held = {c.coupon_id: c.claimed for c in counts}
    rows = await _targeted_for(desk, principal, rows, now)
    items = []
    for row in rows:
        view = coupon_view(row)
        if desk is not None:  # the gate's count runs ahead of the database during a burst
            gated = await desk.gate.remaining(int(row.id))
            if gated is not None:
                view["remaining"] = min(int(row.remaining), gated)
        view["claimed_by_me"] = held.get(row.id, 0)
        view["state"] = rules.claim_state(status=row.status, starts_at=row.claim_starts_at,
                                          ends_at=row.claim_ends_at, now=now)
        items.append(view)
    return {"session_id": session_id, "shop_id": session.shop_id, "coupons": items}


async def _targeted_for(desk: ClaimDesk | None, principal: Principal | None, rows: list[Any],
                        now: datetime) -> list[Any]:
    """Leave out the targeted coupons the caller may not claim (anonymous: all of them)."""
    async def may_claim(row: Any) -> bool:
        if row.min_fan_level is None and row.segment_id is None:
            return True
        if principal is None or desk is None or desk.targeting is None:
            return False
        return bool(await desk.targeting.eligible(
            row.shop_id, principal.user_id, min_level=row.min_fan_level,
            segment_id=row.segment_id, now=now))

    return [row for row in rows if await may_claim(row)]


async def club_coupons(db: Database, principal: Principal | None, shop_id: int, *,
                       now: datetime, desk: ClaimDesk | None = None) -> dict[str, Any]:
    """The coupons of the fan club page: the shop's coupons not tied to a live session,
    claimable now or later — free ones (领券) and those offered for points (积分兑换) — each
    with `eligible` (the caller is in its target) and how many the caller holds."""
    async with db.read() as conn:
        if (await conn.execute(select(shops.c.id).where(shops.c.id == shop_id))).first() is None:
            raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
        rows = (await conn.execute(select(coupons).where(
            coupons.c.shop_id == shop_id, coupons.c.status == "active",
            coupons.c.claim_ends_at >= now, coupons.c.session_id.is_(None))
            .order_by(coupons.c.id).limit(200))).all()
        held: dict[int, int] = {}
        if principal is not None and rows:
            counts = await conn.execute(select(coupon_buyer_counts).where(
                coupon_buyer_counts.c.buyer_id == principal.user_id,
                coupon_buyer_counts.c.coupon_id.in_([r.id for r in rows])))
            held = {c.coupon_id: c.claimed for c in counts}
    allowed = {r.id for r in await _targeted_for(desk, principal, rows, now)}
    items = []
    for row in rows:
        view = coupon_view(row)
        view["eligible"] = row.id in allowed
        view["claimed_by_me"] = held.get(row.id, 0)
        view["state"] = rules.claim_state(status=row.status, starts_at=row.claim_starts_at,
                                          ends_at=row.claim_ends_at, now=now)
        items.append(view)
    return {"shop_id": shop_id, "coupons": items}


def claim_view(row: Any) -> dict[str, Any]:
    return row_dict(row)


async def my_claims(db: Database, principal: Principal, *, shop_id: int | None,
                    usable_at: datetime | None) -> list[dict[str, Any]]:
    """The caller's claimed coupons with their terms, newest first; `usable_at`: only unused
    ones valid at that moment."""
    query = (select(coupon_claims, coupons.c.title, coupons.c.kind, coupons.c.threshold,
                    coupons.c.amount_off, coupons.c.percent_off, coupons.c.cap,
                    coupons.c.stackable)
             .join(coupons, coupons.c.id == coupon_claims.c.coupon_id)
             .where(coupon_claims.c.buyer_id == principal.user_id))
    if shop_id is not None:
        query = query.where(coupon_claims.c.shop_id == shop_id)
    if usable_at is not None:
        query = query.where(coupon_claims.c.status == "unused",
                            coupon_claims.c.valid_from <= usable_at,
                            coupon_claims.c.valid_until > usable_at)
    async with db.read() as conn:
        rows = await conn.execute(query.order_by(coupon_claims.c.id.desc()).limit(500))
        return [claim_view(r) for r in rows]


# --- claiming -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CouponFacts:
    """What a claim needs to know about a coupon, cached briefly per process; the database
    re-checks status, window, session and budget when it commits."""

    coupon_id: int
    shop_id: int
    session_id: int | None
    status: str
    claim_starts_at: datetime
    claim_ends_at: datetime
    per_buyer_limit: int
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    session_live: bool  # its targeted session is live (re-checked by the database)
    min_fan_level: int | None = None  # targeting (fans/targeting.py, cached eligibility)
    segment_id: int | None = None
    points_price: int | None = None  # redeemed with points only (积分兑换)

    @property
    def targeted(self) -> bool:
        return self.min_fan_level is not None or self.segment_id is not None


class CouponFactsCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[int, tuple[float, CouponFacts]] = {}
        self._loading: SingleFlight[int, CouponFacts] = SingleFlight()

    async def get(self, coupon_id: int) -> CouponFacts:
        entry = self._entries.get(coupon_id)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return await self._loading.run(coupon_id, lambda: self._load(coupon_id))

    async def _load(self, coupon_id: int) -> CouponFacts:
        async with self.db.read() as conn:
            row = await access_coupon(conn, coupon_id)
            live = row.session_id is not None and (await conn.execute(
                select(live_sessions.c.status).where(live_sessions.c.id == row.session_id)
            )).scalar_one() == "live"
        facts = CouponFacts(
            coupon_id=row.id, shop_id=row.shop_id, session_id=row.session_id, status=row.status,
            claim_starts_at=row.claim_starts_at, claim_ends_at=row.claim_ends_at,
            per_buyer_limit=row.per_buyer_limit, valid_from=row.valid_from,
            valid_until=row.valid_until, valid_days=row.valid_days,
            session_live=live, min_fan_level=row.min_fan_level, segment_id=row.segment_id,
            points_price=row.points_price)
        self._entries[coupon_id] = (time.monotonic() + FACTS_TTL_SECONDS, facts)
        return facts

    def invalidate(self, coupon_id: int) -> None:
        self._entries.pop(coupon_id, None)


def claim_gate_loader(db: Database):  # type: ignore[no-untyped-def]
    """The gate's starting point for a coupon, from the database (after a crash, too)."""
    async def load(coupon_id: int) -> ItemStock:
        async with db.read() as conn:
            remaining = (await conn.execute(select(coupons.c.remaining).where(
                coupons.c.id == coupon_id))).scalar_one()
            rows = await conn.execute(select(coupon_buyer_counts).where(
                coupon_buyer_counts.c.coupon_id == coupon_id, coupon_buyer_counts.c.claimed > 0))
            held = {r.buyer_id: r.claimed for r in rows}
            refs = await conn.execute(select(coupon_claims.c.buyer_id,
                                             coupon_claims.c.idempotency_key).where(
                coupon_claims.c.coupon_id == coupon_id))
            return ItemStock(int(remaining), held,
                             {f"{r.buyer_id}:{r.idempotency_key}" for r in refs})
    return load


@dataclass
class PendingClaim:
    facts: CouponFacts
    buyer_id: int
    key: str
    now: datetime
    reservation: Reservation | None = None

    @property
    def pair(self) -> tuple[int, str]:
        return (self.buyer_id, self.key)


@dataclass(frozen=True)
class ClaimOutcome:
    kind: str  # created | existing | rejected
    claim: dict[str, Any] | None = None
    code: str | None = None


@dataclass
class ClaimDesk:
    """The claim path's parts: the gate (its own key prefix), the facts cache and the batched
    writer. Built by deps.build_runtime."""

    db: Database
    gate: StockGate
    facts: CouponFactsCache
    queue: BatchQueue[PendingClaim] = field(init=False)
    inflight: dict[tuple[int, str], asyncio.Future[ClaimOutcome]] = field(default_factory=dict)
    batch_max: int = 256
    targeting: Any = None  # fans.targeting.TargetingCache (deps.build_runtime)

    def __post_init__(self) -> None:
        self.queue = BatchQueue(self.db, commit_claims, batch_max=self.batch_max,
                                name="coupon-claims")


def check_claim_request(key: str | None) -> str:
    if error := order_rules.idempotency_key_error(key):
        raise Problem("idempotency_key_missing" if not key else "validation_failed", error)
    assert key is not None
    return key


def _closed(state: str) -> Problem:
    words = {"upcoming": "尚未开始领取 / claiming has not started",
             "paused": "商家已暂停发放 / the shop has paused this coupon",
             "ended": "领取已结束 / claiming has ended",
             "not_live": "该券仅在直播进行时可领 / claimable only while its live session is on",
             "points_only": "该券需用积分兑换 / this coupon is redeemed with points",
             "not_for_points": "该券不能用积分兑换 / this coupon is not offered for points"}
    return Problem("claim_closed", words[state], state=state)


def _refusal(code: str, facts: CouponFacts, held: int | None = None,
             balance: int | None = None) -> Problem:
    if code == "insufficient_points":
        return Problem("insufficient_points", f"积分不足：需要 {facts.points_price} / not enough "
                       f"points: {facts.points_price} needed", needed=facts.points_price,
                       **({"balance": balance} if balance is not None else {}))
    if code == "not_a_fan":
        return Problem("not_a_fan", "请先加入粉丝团 / join the fan club first")
    if code == "over_limit":
        return Problem("over_limit", f"每人限领 {facts.per_buyer_limit} 张 / limit "
                       f"{facts.per_buyer_limit} per buyer", per_buyer_limit=facts.per_buyer_limit,
                       **({"already_claimed": held} if held else {}))
    if code in ("upcoming", "paused", "ended", "not_live", "points_only", "not_for_points"):
        return _closed(code)
    if code == "service_unavailable":
        return Problem("service_unavailable", "领券服务繁忙，请重试 / claiming unavailable, retry")
    return Problem("sold_out", "券已领完 / all coupons have been claimed",
                   coupon_id=facts.coupon_id)


async def check_targeting(desk: ClaimDesk, facts: CouponFacts, user_id: int,
                          now: datetime) -> None:
    """A targeted coupon (fan level, segment) for a fan outside its target: 403, before the
    gate is touched. Answered from the targeting cache, not a query per claim
    (fans/targeting.py: up to 60 s old)."""
    if not facts.targeted:
        return
    if desk.targeting is not None and await desk.targeting.eligible(
            facts.shop_id, user_id, min_level=facts.min_fan_level,
            segment_id=facts.segment_id, now=now):
        return
    words = []
    if facts.min_fan_level is not None:
        words.append(f"粉丝团等级 ≥ {facts.min_fan_level} / fan level {facts.min_fan_level}+")
    if facts.segment_id is not None:
        words.append("商家选定的人群 / the shop's chosen fans")
    raise Problem("not_eligible", "该券仅限：" + "；".join(words) + " / this coupon is for "
                  "chosen fans only", coupon_id=facts.coupon_id,
                  min_fan_level=facts.min_fan_level, segment_id=facts.segment_id)


async def _check_points(desk: ClaimDesk, facts: CouponFacts, user_id: int) -> None:
    """A cheap early refusal of a redemption the fan cannot pay for; the writer re-checks."""
    async with desk.db.read() as conn:
        row = (await conn.execute(select(fan_members.c.points, fan_members.c.left_at).where(
            fan_members.c.shop_id == facts.shop_id, fan_members.c.user_id == user_id))).first()
    if row is None or row.left_at is not None:
        raise Problem("not_a_fan", "请先加入粉丝团 / join the fan club first")
    assert facts.points_price is not None
    if int(row.points) < facts.points_price:
        raise _refusal("insufficient_points", facts, balance=int(row.points))


async def _targeted(desk: ClaimDesk, facts: CouponFacts, user_id: int, key: str,
                    now: datetime) -> dict[str, Any] | None:
    """Refuse a fan outside a targeted coupon's target — unless this is a repeat of a claim made
    while they were in it, which still gets that claim (returned)."""
    try:
        await check_targeting(desk, facts, user_id, now)
    except Problem:
        if existing := await _existing(desk.db, user_id, key):
            return _replay(existing, facts.coupon_id)
        raise
    return None


async def claim(desk: ClaimDesk, principal: Principal, coupon_id: int, *, key: str | None,
                now: datetime, redeem: bool = False) -> tuple[dict[str, Any], bool]:
    """领券 (or, `redeem`, 积分兑换: a coupon offered for points, paid for in the claim's own
    transaction). Returns (claim, created); a repeat with the same key returns the first claim."""
    key = check_claim_request(key)
    facts = await desk.facts.get(coupon_id)
    state = rules.claim_state(status=facts.status, starts_at=facts.claim_starts_at,
                              ends_at=facts.claim_ends_at, now=now)
    if state == "open" and facts.session_id is not None and not facts.session_live:
        state = "not_live"
    if state == "open" and redeem != (facts.points_price is not None):
        state = "not_for_points" if redeem else "points_only"
    if state != "open":
        if existing := await _existing(desk.db, principal.user_id, key):
            return _replay(existing, coupon_id), False
        raise _closed(state)
    # A redemption's repeat first: its points are already spent.
    if facts.points_price is not None and (
            existing := await _existing(desk.db, principal.user_id, key)):
        return _replay(existing, coupon_id), False
    if (repeat := await _targeted(desk, facts, principal.user_id, key, now)) is not None:
        return repeat, False
    if facts.points_price is not None:
        await _check_points(desk, facts, principal.user_id)
    reference = f"{principal.user_id}:{key}"
    while True:
        reservation = await desk.gate.reserve(coupon_id, principal.user_id, 1,
                                              facts.per_buyer_limit, reference=reference)
        if reservation.outcome != "known":
            break
        repeated = await _repeat(desk, principal.user_id, key, coupon_id, facts)
        if repeated is not None:
            return repeated
    if not reservation.is_reserved:
        raise _refusal(reservation.outcome, facts, reservation.bought_before)
    pending = PendingClaim(facts, principal.user_id, key, now, reservation)
    outcome = await _submit(desk, pending)
    return _answer(outcome, coupon_id, facts)


async def _submit(desk: ClaimDesk, pending: PendingClaim) -> ClaimOutcome:
    future: asyncio.Future[ClaimOutcome] = asyncio.get_running_loop().create_future()
    desk.inflight[pending.pair] = future
    try:
        try:
            outcome: ClaimOutcome = await desk.queue.submit(pending)
        except Exception:
            log.exception("coupon claim batch failed")
            # Not committed (or a concurrent worker wrote the same key): the database decides.
            existing = await _existing(desk.db, pending.buyer_id, pending.key)
            outcome = (ClaimOutcome("existing", existing) if existing
                       else ClaimOutcome("rejected", code="service_unavailable"))
        coupon_id = pending.facts.coupon_id
        assert pending.reservation is not None
        try:
            if outcome.kind == "created":
                await desk.gate.confirm(coupon_id, [pending.reservation])
            else:
                await desk.gate.release(coupon_id, pending.buyer_id, 1, pending.reservation)
        except Exception:  # the gate is an accelerator; the database already decided
            log.exception("settling a coupon reservation failed")
        future.set_result(outcome)
        return outcome
    finally:
        if desk.inflight.get(pending.pair) is future:
            del desk.inflight[pending.pair]


async def _repeat(desk: ClaimDesk, buyer_id: int, key: str, coupon_id: int,
                  facts: CouponFacts) -> tuple[dict[str, Any], bool] | None:
    """A repeat of an earlier request: its claim, waiting while it is being written. None: the
    first request's worker died unwritten and its reservation was released (retry reserves)."""
    first = desk.inflight.get((buyer_id, key))
    if first is not None:
        outcome = await asyncio.shield(first)
        if outcome.kind == "rejected":
            return _answer(outcome, coupon_id, facts)
        assert outcome.claim is not None
        return _replay(outcome.claim, coupon_id), False
    deadline = time.monotonic() + REPEAT_WAIT_SECONDS

    async def committed() -> bool:
        return await _existing(desk.db, buyer_id, key) is not None

    while (existing := await _existing(desk.db, buyer_id, key)) is None:
        if await desk.gate.reclaim_orphan(coupon_id, f"{buyer_id}:{key}", committed):
            return None
        if time.monotonic() > deadline:
            raise Problem("service_unavailable",
                          "同一请求仍在处理中，请稍后用同一 Idempotency-Key 重试 / the first "
                          "request with this key is still being processed; retry with the key")
        await asyncio.sleep(0.02)
    return _replay(existing, coupon_id), False


def _answer(outcome: ClaimOutcome, coupon_id: int,
            facts: CouponFacts) -> tuple[dict[str, Any], bool]:
    if outcome.kind == "created":
        assert outcome.claim is not None
        return outcome.claim, True
    if outcome.kind == "existing":
        assert outcome.claim is not None
        return _replay(outcome.claim, coupon_id), False
    raise _refusal(outcome.code or "sold_out", facts)


def _replay(claim_: dict[str, Any], coupon_id: int) -> dict[str, Any]:
    if claim_["coupon_id"] != coupon_id:
        raise Problem("idempotency_key_reused", "该 Idempotency-Key 已用于领取另一张券 / this "
                      "Idempotency-Key was used for another coupon", claim_id=claim_["id"])
    return claim_


async def _existing(db: Database, buyer_id: int, key: str) -> dict[str, Any] | None:
    async with db.read() as conn:
        row = (await conn.execute(select(coupon_claims).where(
            coupon_claims.c.buyer_id == buyer_id,
            coupon_claims.c.idempotency_key == key))).first()
    return claim_view(row) if row else None


# --- at checkout ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Applied:
    """A claimed coupon applied to an order at payment."""

    claim_id: int
    coupon_id: int
    discount: int


async def check_coupon_for_order(conn: AsyncConnection, principal: Principal, claim_id: int,
                                 order: Any, now: datetime) -> Applied:
    """The caller's own claimed coupon, unused, valid now, of the order's shop, and worth
    something on this order; else 404 (not yours) or 409 (not usable here)."""
    row = (await conn.execute(
        select(coupon_claims, coupons.c.kind, coupons.c.threshold, coupons.c.amount_off,
               coupons.c.percent_off, coupons.c.cap)
        .join(coupons, coupons.c.id == coupon_claims.c.coupon_id)
        .where(coupon_claims.c.id == claim_id))).first()
    if row is None or row.buyer_id != principal.user_id:
        raise Problem("not_found", f"优惠券不存在 / no such claimed coupon: {claim_id}")
    if error := rules.usable_error(status=row.status, claim_shop_id=row.shop_id,
                                   order_shop_id=int(order.shop_id), valid_from=row.valid_from,
                                   valid_until=row.valid_until, now=now):
        raise Problem("coupon_not_usable", error, claim_id=claim_id)
    off = rules.discount(kind=row.kind, threshold=int(row.threshold), amount_off=row.amount_off,
                         percent_off=row.percent_off, cap=row.cap, amount=int(order.amount))
    if off <= 0:
        raise Problem("coupon_not_usable", f"订单金额未达到使用门槛 {row.threshold} 分 / the "
                      f"order does not reach the coupon's threshold of {row.threshold} fen",
                      claim_id=claim_id, threshold=int(row.threshold))
    return Applied(claim_id=claim_id, coupon_id=int(row.coupon_id), discount=off)


async def usable_for_order(db: Database, principal: Principal, order: dict[str, Any], *,
                           now: datetime) -> list[dict[str, Any]]:
    """The caller's claimed coupons that can be applied to this (unpaid) order now, with the
    discount each would give, best first (the checkout page's choice)."""
    if order["buyer_id"] != principal.user_id or order["status"] != "pending_payment":
        return []
    found = []
    for claim_ in await my_claims(db, principal, shop_id=int(order["shop_id"]), usable_at=now):
        off = rules.discount(kind=claim_["kind"], threshold=int(claim_["threshold"]),
                             amount_off=claim_["amount_off"], percent_off=claim_["percent_off"],
                             cap=claim_["cap"], amount=int(order["amount"]))
        if off > 0:
            found.append({**claim_, "discount_on_order": off,
                          "payable": int(order["amount"]) - off})
    return sorted(found, key=lambda c: (-c["discount_on_order"], c["valid_until"], c["id"]))


async def do_use_claim(uow: UnitOfWork, applied: Applied, order: Any, now: datetime) -> None:
    """Mark the claim used by the order, in the payment's transaction; a claim used meanwhile
    (another order, another tab) refuses the payment, which is then refunded."""
    used = await uow.conn.execute(update(coupon_claims).where(
        coupon_claims.c.id == applied.claim_id, coupon_claims.c.status == "unused").values(
        status="used", order_id=order.id, discount=applied.discount, used_at=now))
    if used.rowcount != 1:
        raise Problem("coupon_not_usable", "该券已使用 / the coupon has been used",
                      claim_id=applied.claim_id)
    await record_event(uow, "CouponUsed", now, shop_id=order.shop_id,
                       session_id=order.session_id, order_id=order.id,
                       payload={"coupon_id": applied.coupon_id, "claim_id": applied.claim_id,
                                "discount": applied.discount})


async def do_return_claim(uow: UnitOfWork, order: Any, now: datetime) -> None:
    """A paid order cancelled before shipping gives its coupon back: unused again, usable until
    its original validity ends (docs/fans.md, "Price rules")."""
    rows = (await uow.conn.execute(update(coupon_claims).where(
        coupon_claims.c.order_id == order.id, coupon_claims.c.status == "used").values(
        status="unused", order_id=None, discount=None, used_at=None)
        .returning(coupon_claims.c.id, coupon_claims.c.coupon_id))).all()
    for row in rows:
        await record_event(uow, "CouponReturned", now, shop_id=order.shop_id,
                           session_id=order.session_id, order_id=order.id,
                           payload={"coupon_id": row.coupon_id, "claim_id": row.id})


# --- the batched claim writer ---------------------------------------------------------------

async def commit_claims(uow: UnitOfWork, batch: list[PendingClaim]) -> list[ClaimOutcome]:
    """Write a batch of gated claims in one transaction: repeats answered with their claim,
    each claim counted against its buyer's limit (conditional upsert), the budget taken with
    one conditional update per coupon (`remaining >= n`, open, session live), the claims and
    their CouponClaimed events inserted. The database refuses over-issue even if a gate is
    wrong; whatever it refuses is answered as such."""
    conn = uow.conn
    outcomes: dict[int, ClaimOutcome] = {}
    existing = await _existing_claims(conn, [p.pair for p in batch])
    primary: dict[tuple[int, str], PendingClaim] = {}
    for pending in batch:
        if pending.pair in existing:
            outcomes[id(pending)] = ClaimOutcome("existing", existing[pending.pair])
        elif pending.pair not in primary:
            primary[pending.pair] = pending
    by_coupon: dict[int, list[PendingClaim]] = defaultdict(list)
    for pending in primary.values():
        by_coupon[pending.facts.coupon_id].append(pending)
    created: list[PendingClaim] = []
    balances: dict[int, int] = {}  # id(pending) -> points balance after its redemption
    for coupon_id, group in by_coupon.items():
        created.extend(await _commit_group(conn, coupon_id, group, outcomes, balances))
    if created:
        await _insert_claims(conn, created, outcomes)
        await _record_spends(conn, created, outcomes, balances)
    results = []
    for pending in batch:
        if id(pending) not in outcomes:  # an in-batch repeat: its primary's answer
            first = outcomes[id(primary[pending.pair])]
            outcomes[id(pending)] = ClaimOutcome("existing", first.claim) if first.claim \
                else first
        results.append(outcomes[id(pending)])
    return results


async def _commit_group(conn: AsyncConnection, coupon_id: int, group: list[PendingClaim],
                        outcomes: dict[int, ClaimOutcome],
                        balances: dict[int, int]) -> list[PendingClaim]:
    """One coupon's share of a batch: limits, budget, points; returns the claims to insert."""
    accepted = await _count_against_limits(conn, group)
    passed = {id(p) for p in accepted}
    for pending in group:
        if id(pending) not in passed:
            outcomes[id(pending)] = ClaimOutcome("rejected", code="over_limit")
    taken, refusal = await _take_budget(conn, coupon_id, len(accepted),
                                        max(p.now for p in group))
    for pending in accepted[taken:]:
        outcomes[id(pending)] = ClaimOutcome("rejected", code=refusal)
    await _uncount(conn, accepted[taken:])
    kept = accepted[:taken]
    unpaid = await _spend_points(conn, kept, balances)
    if unpaid:  # not enough points: neither counted nor taken from the budget
        for pending in unpaid:
            outcomes[id(pending)] = ClaimOutcome("rejected", code="insufficient_points")
        await _uncount(conn, unpaid)
        await conn.execute(update(coupons).where(coupons.c.id == coupon_id).values(
            remaining=coupons.c.remaining + len(unpaid)))
    refused = {id(p) for p in unpaid}
    return [p for p in kept if id(p) not in refused]


async def _existing_claims(conn: AsyncConnection, pairs: list[tuple[int, str]]
                           ) -> dict[tuple[int, str], dict[str, Any]]:
    found: dict[tuple[int, str], dict[str, Any]] = {}
    unique = list(set(pairs))
    for start in range(0, len(unique), 200):
        rows = await conn.execute(select(coupon_claims).where(tuple_(
            coupon_claims.c.buyer_id, coupon_claims.c.idempotency_key).in_(
            unique[start:start + 200])))
        for row in rows:
            found[(row.buyer_id, row.idempotency_key)] = claim_view(row)
    return found


async def _count_against_limits(conn: AsyncConnection,
                                group: list[PendingClaim]) -> list[PendingClaim]:
    """One conditional upsert per round (a buyer appears once per round); RETURNING names the
    buyers whose count stayed within the limit."""
    limit = group[0].facts.per_buyer_limit
    rounds: list[list[PendingClaim]] = []
    seen: dict[int, int] = defaultdict(int)
    for pending in group:
        index = seen[pending.buyer_id]
        seen[pending.buyer_id] += 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(pending)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(coupon_buyer_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[coupon_buyer_counts.c.coupon_id, coupon_buyer_counts.c.buyer_id],
        set_={"claimed": coupon_buyer_counts.c.claimed + stmt.excluded.claimed},
        where=coupon_buyer_counts.c.claimed + stmt.excluded.claimed <= limit,
    ).returning(coupon_buyer_counts.c.buyer_id)
    accepted: list[PendingClaim] = []
    for members in rounds:
        result = await conn.execute(stmt, [{"coupon_id": p.facts.coupon_id,
                                            "buyer_id": p.buyer_id, "claimed": 1}
                                           for p in members])
        passed = {row.buyer_id for row in result}
        accepted.extend(p for p in members if p.buyer_id in passed)
    return accepted


async def _spend_points(conn: AsyncConnection, kept: list[PendingClaim],
                        balances: dict[int, int]) -> list[PendingClaim]:
    """Take each redemption's price from its fan's points (one conditional UPDATE each, in
    buyer order like every other lock on fan_members); returns those that could not pay."""
    unpaid = []
    for pending in sorted((p for p in kept if p.facts.points_price is not None),
                          key=lambda p: p.buyer_id):
        price = pending.facts.points_price
        balance = (await conn.execute(update(fan_members).where(
            fan_members.c.shop_id == pending.facts.shop_id,
            fan_members.c.user_id == pending.buyer_id, fan_members.c.left_at.is_(None),
            fan_members.c.points >= price).values(points=fan_members.c.points - price)
            .returning(fan_members.c.points))).scalar()
        if balance is None:
            unpaid.append(pending)
        else:
            balances[id(pending)] = int(balance)
    return unpaid


async def _record_spends(conn: AsyncConnection, created: list[PendingClaim],
                         outcomes: dict[int, ClaimOutcome], balances: dict[int, int]) -> None:
    """The points history line of each redemption, in the claim's transaction."""
    rows = []
    for pending in created:
        if id(pending) not in balances:
            continue
        claim_ = outcomes[id(pending)].claim
        assert claim_ is not None and pending.facts.points_price is not None
        rows.append({"shop_id": pending.facts.shop_id, "user_id": pending.buyer_id,
                     "delta": -pending.facts.points_price, "balance": balances[id(pending)],
                     "reason": "spend:coupon", "ref": f"coupon-claim:{claim_['id']}",
                     "order_id": None, "created_at": pending.now})
    if rows:
        await conn.execute(insert(point_entries), rows)


async def _uncount(conn: AsyncConnection, refused: list[PendingClaim]) -> None:
    for pending in refused:
        await conn.execute(update(coupon_buyer_counts).where(
            coupon_buyer_counts.c.coupon_id == pending.facts.coupon_id,
            coupon_buyer_counts.c.buyer_id == pending.buyer_id).values(
            claimed=coupon_buyer_counts.c.claimed - 1))


def _open_at(now: datetime) -> list[Any]:
    session_live = or_(coupons.c.session_id.is_(None), exists().where(
        live_sessions.c.id == coupons.c.session_id, live_sessions.c.status == "live"))
    return [coupons.c.status == "active", coupons.c.claim_starts_at <= now,
            coupons.c.claim_ends_at >= now, session_live]


async def _take_budget(conn: AsyncConnection, coupon_id: int, wanted: int,
                       now: datetime) -> tuple[int, str]:
    """Take up to `wanted` coupons of the budget: (how many were taken, why the rest not)."""
    if wanted == 0:
        return 0, "sold_out"
    taken = (await conn.execute(update(coupons).where(
        coupons.c.id == coupon_id, coupons.c.remaining >= wanted, *_open_at(now))
        .values(remaining=coupons.c.remaining - wanted).returning(coupons.c.id))).first()
    if taken is not None:
        return wanted, "sold_out"
    # The gate let more through than the database holds (a drifted gate): take what is left.
    row = (await conn.execute(select(coupons).where(coupons.c.id == coupon_id)
                              .with_for_update())).one()
    state = rules.claim_state(status=row.status, starts_at=row.claim_starts_at,
                              ends_at=row.claim_ends_at, now=now)
    if state != "open":
        return 0, state
    if row.session_id is not None:
        live = (await conn.execute(select(live_sessions.c.status).where(
            live_sessions.c.id == row.session_id))).scalar_one()
        if live != "live":
            return 0, "not_live"
    count = min(wanted, int(row.remaining))
    if count:
        await conn.execute(update(coupons).where(coupons.c.id == coupon_id)
                           .values(remaining=coupons.c.remaining - count))
    return count, "sold_out"


async def _insert_claims(conn: AsyncConnection, created: list[PendingClaim],
                         outcomes: dict[int, ClaimOutcome]) -> None:
    rows = []
    for p in created:
        valid_from, valid_until = rules.validity(
            claimed_at=p.now, valid_from=p.facts.valid_from, valid_until=p.facts.valid_until,
            valid_days=p.facts.valid_days)
        rows.append({"coupon_id": p.facts.coupon_id, "buyer_id": p.buyer_id,
                     "shop_id": p.facts.shop_id, "idempotency_key": p.key, "claimed_at": p.now,
                     "valid_from": valid_from, "valid_until": valid_until, "status": "unused",
                     "order_id": None, "discount": None, "used_at": None})
    result = await conn.execute(
        insert(coupon_claims).returning(coupon_claims.c.id, sort_by_parameter_order=True), rows)
    ids = [r.id for r in result]
    await conn.execute(insert_events(conn), [
        {"type": "CouponClaimed", "shop_id": p.facts.shop_id, "session_id": p.facts.session_id,
         "order_id": None, "occurred_at": p.now,
         "payload": {"coupon_id": p.facts.coupon_id, "claim_id": claim_id,
                     "buyer_id": p.buyer_id}}
        for p, claim_id in zip(created, ids, strict=True)])
    for pending, claim_id, values in zip(created, ids, rows, strict=True):
        outcomes[id(pending)] = ClaimOutcome("created", row_dict({"id": claim_id, **values}))


# --- after a crash (scale-out) --------------------------------------------------------------

async def reconcile_gate(db: Database, gate: Any, *, lease_seconds: float,
                         dead: set[str] | None = None) -> None:
    """Settle Redis reservations left pending by a dead worker (or older than the lease):
    committed ones are confirmed, the rest released (as deps.reconcile_gate for orders)."""
    if dead is None:
        dead = await gate.dead_workers()
    for coupon_id in await gate.gated_items():
        for record in await gate.stale_pending(coupon_id, older_than=lease_seconds, dead=dead):
            buyer, _, key = str(record["ref"]).partition(":")
            async with db.read() as conn:
                found = (await conn.execute(select(coupon_claims.c.id).where(
                    coupon_claims.c.buyer_id == int(buyer),
                    coupon_claims.c.idempotency_key == key,
                    coupon_claims.c.coupon_id == coupon_id))).first()
            await gate.settle_stale(coupon_id, record, committed=found is not None)


def build_desk(db: Database, settings: Any) -> ClaimDesk:
    """The claim path for this process: an in-process gate embedded, the Redis gate (key prefix
    `lp:cgate`, its own worker registry) scale-out."""
    from livepledge.orders.gate import LocalStockGate, RedisStockGate

    gate: StockGate
    if settings.redis_url:
        gate = RedisStockGate(settings.redis_url, claim_gate_loader(db), prefix="lp:cgate",
                              reply_timeout=settings.redis_timeout_seconds,
                              worker_ttl=settings.gate_worker_ttl_seconds,
                              heartbeat_seconds=settings.gate_heartbeat_seconds)
    else:
        gate = LocalStockGate(claim_gate_loader(db))
    return ClaimDesk(db, gate, CouponFactsCache(db), batch_max=settings.write_batch_max)


async def start_desk(desk: ClaimDesk, settings: Any, stop: Any) -> list[asyncio.Task[None]]:
    """Start the writer; scale-out, settle what dead workers left pending now and every
    heartbeat after (docs/decisions.md, "Dead workers' reservations")."""
    from livepledge.orders.gate import RedisStockGate

    desk.queue.start()
    gate = desk.gate
    if not isinstance(gate, RedisStockGate):
        return []
    await gate.start()
    lease = settings.gate_lease_seconds
    await reconcile_gate(desk.db, gate, lease_seconds=lease)

    async def reclaim_forever() -> None:
        beats = 0
        while await stop.rest(settings.gate_heartbeat_seconds):
            beats += 1
            try:
                dead = await gate.dead_workers()
                if dead or beats % 30 == 0:
                    await reconcile_gate(desk.db, gate, lease_seconds=lease, dead=dead)
                    await gate.forget_workers(dead)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("coupon gate reclaim failed")

    return [asyncio.create_task(reclaim_forever(), name="coupon-gate-reclaim")]


async def close_desk(desk: ClaimDesk) -> None:
    await desk.queue.close()
    await desk.gate.close()
