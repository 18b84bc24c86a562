"""After-sales cases: opened by the buyer, answered by the shop, decided by the clock when
either side lets a deadline pass (docs/aftersales.md). Every step is an entry in the case's
record; every open state has a deadline; money moves through the payment provider with an
idempotency key per case and step."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal
from livepledge.aftersales import rules
from livepledge.aftersales.models import case_entries, cases
from livepledge.infra import clock, deadlines, faults
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import record_event
from livepledge.infra.media import ImageRefused, LocalMediaStore, process_image
from livepledge.infra.problems import Problem
from livepledge.live import service as live
from livepledge.orders import service as orders_service
from livepledge.orders.models import orders, payments
from livepledge.orders.payments import PaymentProvider

DUE_KIND = "case_due"


def _utc(value: datetime | None) -> datetime | None:
    return clock.as_utc(value) if value is not None else None


def _promises(order: Any) -> list[dict[str, Any]]:
    return list((order.snapshot or {}).get("promises", []))


async def _refunded(conn: AsyncConnection, order_id: int) -> int:
    total = (await conn.execute(select(func.coalesce(func.sum(payments.c.amount), 0)).where(
        payments.c.order_id == order_id, payments.c.amount < 0,
        payments.c.status == "succeeded",
        or_(payments.c.reason.is_(None), payments.c.reason != "compensation")))).scalar_one()
    return -int(total)


async def _entry(uow: UnitOfWork, case_id: int, now: datetime, actor: str, actor_id: int | None,
                 kind: str, text: str = "", **data: Any) -> None:
    await uow.conn.execute(insert(case_entries).values(
        case_id=case_id, at=now, actor=actor, actor_id=actor_id, kind=kind, text=text,
        data=data))


async def _move(uow: UnitOfWork, case: Any, status: str, now: datetime, cfg: rules.Deadlines,
                **values: Any) -> None:
    due = cfg.due(status, now)
    changed = (await uow.conn.execute(update(cases).where(
        cases.c.id == case.id, cases.c.status == case.status).values(
        status=status, deadline_at=due, closed_at=now if status == rules.CLOSED else None,
        **values))).rowcount
    if changed != 1:
        raise Problem("invalid_transition", "售后单状态已变化，请刷新 / the case changed; reload")
    await deadlines.reschedule(uow, DUE_KIND, int(case.id), due, now, {"state": status})
    if status == rules.CLOSED:
        await record_event(uow, "CaseClosed", now, shop_id=case.shop_id, order_id=case.order_id,
                           payload={"case_id": case.id, "outcome": values.get("outcome"),
                                    "refunded": values.get("refunded", case.refunded)})


async def _refund(uow: UnitOfWork, provider: PaymentProvider, case: Any, amount: int,
                  now: datetime, step: str) -> int:
    """Refund up to `amount` of what is left of the order's payment; returns what was paid."""
    conn = uow.conn
    charge = (await conn.execute(select(payments).where(
        payments.c.order_id == case.order_id, payments.c.amount > 0,
        payments.c.status == "succeeded"))).first()
    if charge is None:
        return 0
    # What is left of what the buyer paid (a coupon makes it less than the order's amount).
    pay = min(amount, int(charge.amount) - await _refunded(conn, case.order_id))
    if pay <= 0:
        return 0
    faults.hit("aftersales.before_provider_refund")
    refund = await provider.refund(reference=charge.provider_ref, amount=pay,
                                   idempotency_key=f"case:{case.id}:{step}")
    # A crash here (the provider paid, nothing committed) is repaired by the retry: the same
    # idempotency key gives the same refund, never a second one.
    faults.hit("aftersales.after_provider_refund")
    await conn.execute(insert(payments).values(
        order_id=case.order_id, provider=refund.provider, provider_ref=refund.reference,
        amount=-pay, status="succeeded", created_at=now, reason="aftersales",
        related={"case_id": int(case.id), "type": case.type}))
    await record_event(uow, "CaseRefunded", now, shop_id=case.shop_id, order_id=case.order_id,
                       payload={"case_id": int(case.id), "amount": pay})
    return pay


async def _settle(uow: UnitOfWork, provider: PaymentProvider, case: Any, amount: int,
                  now: datetime, cfg: rules.Deadlines, *, actor: str, outcome: str,
                  step: str) -> None:
    """Decide for the buyer: refund, the units back if returned, 假一赔N owed, close."""
    order = (await uow.conn.execute(select(orders).where(orders.c.id == case.order_id))).one()
    paid = await _refund(uow, provider, case, amount, now, step)
    # 假一赔N on what this case refunded: two cases on the order's units never award twice
    awarded = rules.counterfeit_award(paid, _promises(order)) if case.type == "counterfeit" \
        else 0
    if awarded > 0:  # 假一赔N: paid to the buyer now; the ledger takes it from the deposit
        await orders_service.do_compensate(uow, provider, order, amount=awarded,
                                           cause="counterfeit", key=f"award:{case.id}",
                                           now=now, details={"case_id": int(case.id)})
    if case.status == "return_shipped":  # the goods went back (else the buyer keeps them)
        await uow.conn.execute(update(orders).where(orders.c.id == case.order_id).values(
            returned_quantity=orders.c.returned_quantity + case.quantity))
    if case.type == "refund_only" and case.reason == "not_shipped" and \
            await _refunded(uow.conn, case.order_id) >= await orders_service.paid_amount(
                uow.conn, order):
        await orders_service.do_close_refunded(uow, order, now)  # nothing left to ship
    await _entry(uow, case.id, now, actor, None, "refunded", outcome, amount=paid,
                 awarded=awarded, step=step)
    await _move(uow, case, rules.CLOSED, now, cfg, outcome=outcome,
                refunded=case.refunded + paid, awarded=awarded, decided_at=now)


async def open_case(db: Database, provider: PaymentProvider, principal: Principal,
                    order_id: int, *, case_type: str, reason: str, quantity: int | None,
                    amount: int | None, promise_id: int | None, text: str,
                    cfg: rules.Deadlines, now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        order = await orders_service.access_order(uow.conn, principal, order_id)
        if order.buyer_id != principal.user_id:
            raise Problem("forbidden", "只能为自己的订单申请售后 / only the buyer opens a case")
        refundable = await orders_service.paid_amount(uow.conn, order) - await _refunded(
            uow.conn, order_id)
        kept = int(order.quantity) - int(order.returned_quantity or 0)
        quantity = kept if quantity is None else quantity
        amount = refundable if amount is None else amount
        ruled = (await uow.conn.execute(select(cases.c.id).where(
            cases.c.order_id == order_id, cases.c.type == case_type,
            cases.c.id.in_(select(case_entries.c.case_id).where(
                case_entries.c.kind == "ruling"))))).first()
        if ruled is not None:
            raise Problem("case_decided", "平台已对该订单的同类售后作出最终裁决 / the platform's "
                                          f"ruling on this order's {case_type} case is final "
                                          f"(case {ruled.id})")
        if error := rules.open_error(
                case_type=case_type, reason=reason, order_status=order.status,
                received_at=clock.as_utc(order.received_at) if order.received_at else None,
                now=now, promises=_promises(order), promise_id=promise_id, amount=amount,
                refundable=refundable, quantity=quantity, kept=kept):
            raise Problem("validation_failed", error)
        try:
            async with uow.conn.begin_nested():
                case_id = int((await uow.conn.execute(insert(cases).values(
                    order_id=order_id, buyer_id=order.buyer_id, shop_id=order.shop_id,
                    session_id=order.session_id, type=case_type, reason=reason,
                    promise_id=promise_id, quantity=quantity, amount=amount,
                    status="awaiting_merchant", refunded=0, awarded=0,
                    deadline_at=cfg.due("awaiting_merchant", now), opened_at=now)
                    .returning(cases.c.id))).scalar_one())
        except IntegrityError as exc:
            raise Problem("case_open", "该订单已有进行中的售后 / this order already has an "
                                       "open case") from exc
        await deadlines.reschedule(uow, DUE_KIND, case_id, cfg.due("awaiting_merchant", now),
                                   now, {"state": "awaiting_merchant"})
        await _entry(uow, case_id, now, "buyer", principal.user_id, "opened", text.strip(),
                     type=case_type, reason=reason, amount=amount, quantity=quantity)
        await record_event(uow, "CaseOpened", now, shop_id=order.shop_id, order_id=order_id,
                           payload={"case_id": case_id, "type": case_type, "reason": reason,
                                    "amount": amount})
        if case_type == "refund_only" and reason == "not_shipped":
            # The goods have not left: no waiting at all.
            case = (await uow.conn.execute(select(cases).where(cases.c.id == case_id))).one()
            await _settle(uow, provider, case, amount, now, cfg, actor="platform",
                          outcome="未发货，已立即退款 / not shipped: refunded at once",
                          step="at_once")
    return await get_case(db, principal, case_id)


async def _staff_case(uow: UnitOfWork, principal: Principal, case_id: int) -> Any:
    case = (await uow.conn.execute(select(cases).where(cases.c.id == case_id))).first()
    if case is None or not (principal.can_manage(case.shop_id)
                            or principal.user_id == case.buyer_id):
        raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
    if not principal.can_manage(case.shop_id):
        raise Problem("forbidden", "只有店铺可以处理售后 / only the shop answers a case")
    return case


async def merchant_act(db: Database, provider: PaymentProvider, principal: Principal,
                       case_id: int, *, action: str, text: str, amount: int | None,
                       address: dict[str, Any] | None, cfg: rules.Deadlines,
                       now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        case = await _staff_case(uow, principal, case_id)
        if case.status != "awaiting_merchant":
            raise Problem("invalid_transition", f"售后单状态为 {case.status} / case is "
                                                f"{case.status}")
        order = (await uow.conn.execute(select(orders).where(orders.c.id == case.order_id))).one()
        if action == "approve":
            if case.type == "return_refund":
                if not address:
                    raise Problem("validation_failed", "同意退货须给出退货地址 / approving a "
                                                       "return needs a return address")
                await _entry(uow, case.id, now, "merchant", principal.user_id, "return_address",
                             text, address=address)
                await _move(uow, case, "awaiting_return", now, cfg, return_address=address,
                            decided_at=now)
            else:
                await _entry(uow, case.id, now, "merchant", principal.user_id, "approved", text)
                await _settle(uow, provider, case, int(case.amount), now, cfg, actor="merchant",
                              outcome="商家同意 / approved by the shop", step="approved")
        elif action == "refuse":
            if len(text.strip()) < 4:
                raise Problem("validation_failed", "拒绝须说明理由（至少 4 字）/ a refusal needs "
                                                   "a reason")
            if error := rules.refusal_error(
                    {"type": case.type, "reason": case.reason, "promise_id": case.promise_id},
                    promises=_promises(order), received_at=_utc(order.received_at),
                    opened_at=clock.as_utc(case.opened_at), gift_shipped=order.gift_shipped,
                    paid_at=_utc(order.paid_at), shipped_at=_utc(order.shipped_at), now=now):
                raise Problem("refusal_not_allowed", error)
            await _entry(uow, case.id, now, "merchant", principal.user_id, "refused", text)
            await _move(uow, case, "refused", now, cfg, decided_at=now)
        elif action == "offer":
            if amount is None or not 1 <= amount < int(case.amount):
                raise Problem("validation_failed", "部分退款须少于申请金额 / a partial offer is "
                                                   "less than the amount asked")
            await _entry(uow, case.id, now, "merchant", principal.user_id, "offered", text,
                         amount=amount)
            await _move(uow, case, "awaiting_buyer", now, cfg, offered_amount=amount)
        else:
            raise Problem("validation_failed", f"未知操作 / unknown action: {action}")
    return await get_case(db, principal, case_id)


async def buyer_act(db: Database, provider: PaymentProvider, principal: Principal,
                    case_id: int, *, action: str, carrier: str | None, tracking: str | None,
                    cfg: rules.Deadlines, now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        case = (await uow.conn.execute(select(cases).where(cases.c.id == case_id))).first()
        if case is None or case.buyer_id != principal.user_id:
            raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
        expected = {"accept_offer": "awaiting_buyer", "decline_offer": "awaiting_buyer",
                    "ship_return": "awaiting_return"}.get(action)
        if action != "withdraw" and expected is None:
            raise Problem("validation_failed", f"未知操作 / unknown action: {action}")
        if (expected and case.status != expected) or case.status == rules.CLOSED:
            raise Problem("invalid_transition", f"售后单状态为 {case.status} / case is "
                                                f"{case.status}")
        if action == "accept_offer":
            await _entry(uow, case.id, now, "buyer", principal.user_id, "accepted")
            await _settle(uow, provider, case, int(case.offered_amount), now, cfg,
                          actor="buyer", outcome="买家接受部分退款 / partial refund accepted",
                          step="offer")
        elif action == "decline_offer":
            await _entry(uow, case.id, now, "buyer", principal.user_id, "declined")
            await _move(uow, case, "awaiting_merchant", now, cfg, offered_amount=None)
        elif action == "ship_return":
            from livepledge.orders.rules import shipping_error
            if error := shipping_error(carrier or "", tracking or ""):
                raise Problem("validation_failed", error)
            await _entry(uow, case.id, now, "buyer", principal.user_id, "return_shipped",
                         carrier=carrier, tracking=tracking)
            await _move(uow, case, "return_shipped", now, cfg, return_carrier=carrier,
                        return_tracking=tracking)
        else:
            await _entry(uow, case.id, now, "buyer", principal.user_id, "withdrawn")
            await _move(uow, case, rules.CLOSED, now, cfg,
                        outcome="买家撤回 / withdrawn by the buyer")
    return await get_case(db, principal, case_id)


async def confirm_return(db: Database, provider: PaymentProvider, principal: Principal,
                         case_id: int, *, cfg: rules.Deadlines, now: datetime) -> dict[str, Any]:
    async with db.write() as uow:
        case = await _staff_case(uow, principal, case_id)
        if case.status != "return_shipped":
            raise Problem("invalid_transition", f"售后单状态为 {case.status} / case is "
                                                f"{case.status}")
        await _entry(uow, case.id, now, "merchant", principal.user_id, "return_received")
        await _settle(uow, provider, case, int(case.amount), now, cfg, actor="merchant",
                      outcome="退货已签收，已退款 / return received, refunded", step="return")
    return await get_case(db, principal, case_id)


class CaseDue:
    """The `case_due` deadline: the side whose turn it was let the time pass."""

    kind = DUE_KIND

    def __init__(self, provider: PaymentProvider, cfg: rules.Deadlines) -> None:
        self.provider = provider
        self.cfg = cfg

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        case = (await uow.conn.execute(select(cases).where(cases.c.id == ref_id))).first()
        if case is None or case.status == rules.CLOSED or case.status != payload.get("state"):
            return "stale"
        action, why = rules.ON_DEADLINE[case.status]
        await _entry(uow, case.id, now, "platform", None, "deadline", why, state=case.status)
        if action == "decide_for_buyer" and case.type == "return_refund":
            # No answer to a return: the buyer is refunded and keeps the goods.
            action = "refund"
        if action in ("refund", "decide_for_buyer"):
            await _settle(uow, self.provider, case, int(case.amount), now, self.cfg,
                          actor="platform", outcome=f"逾期自动退款 / refunded: {why}",
                          step=f"due:{case.status}")
            return f"refunded: {why}"
        await _move(uow, case, rules.CLOSED, now, self.cfg, outcome=f"逾期关闭 / closed: {why}")
        return f"closed: {why}"


def visible(entry: Any, principal: Principal | None) -> bool:
    """A message held back for off-platform diversion is shown to its sender and the platform's
    operators only; everything else is shown to everyone on the case, the same for all."""
    data = entry.data or {}
    if entry.kind != "message" or not data.get("held"):
        return True
    return principal is not None and (principal.user_id == entry.actor_id
                                      or principal.is_operator)


def case_view(case: Any, entries: list[Any], principal: Principal | None = None,
              ) -> dict[str, Any]:
    view = row_dict(case)
    view["deadline"] = view.pop("deadline_at")
    view["turn"] = rules.WHO.get(case.status)
    view["record"] = [row_dict(e) for e in entries if visible(e, principal)]
    # the order's evidence from the session record: what the live room showed when it was
    # placed, signed (docs/record.md)
    view["evidence_url"] = f"/api/v1/orders/{case.order_id}/evidence"
    return view


def _may_see(principal: Principal, case: Any) -> bool:
    return (principal.user_id == case.buyer_id or principal.can_manage(case.shop_id)
            or principal.is_operator)


async def get_case(db: Database, principal: Principal, case_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        case = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
        if case is None or not _may_see(principal, case):
            raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
        entries = (await conn.execute(select(case_entries).where(
            case_entries.c.case_id == case_id).order_by(case_entries.c.id))).all()
        return case_view(case, entries, principal)


async def shop_queue(db: Database, principal: Principal, shop_id: int, *, status: str | None,
                     case_type: str | None, limit: int, offset: int,
                     session_id: int | None = None,
                     anchor_id: int | None = None) -> list[dict[str, Any]]:
    """Open cases first, soonest deadline first; optionally those of one live session or of
    the sessions one anchor hosted."""
    if not principal.can_manage(shop_id):
        raise Problem("forbidden", f"你不是店铺 {shop_id} 的成员 / not staff of shop {shop_id}")
    async with db.read() as conn:
        query = select(cases).where(cases.c.shop_id == shop_id)
        if status:
            query = query.where(cases.c.status == status)
        if case_type:
            query = query.where(cases.c.type == case_type)
        if session_id is not None:
            query = query.where(cases.c.session_id == session_id)
        if anchor_id is not None:
            query = query.where(cases.c.session_id.in_(live.anchor_sessions(shop_id, anchor_id)))
        rows = (await conn.execute(query.order_by(
            (cases.c.status == rules.CLOSED), cases.c.deadline_at, cases.c.id)
            .limit(limit).offset(offset))).all()
        return [case_view(r, []) for r in rows]


# --- escalation and the platform's operators ------------------------------------------------

async def escalate(db: Database, principal: Principal, case_id: int, *, text: str,
                   cfg: rules.Deadlines, now: datetime) -> dict[str, Any]:
    """The buyer takes a refused case to the platform (申请平台介入)."""
    async with db.write() as uow:
        case = (await uow.conn.execute(select(cases).where(cases.c.id == case_id))).first()
        if case is None or case.buyer_id != principal.user_id:
            raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
        if case.status != "refused":
            raise Problem("invalid_transition", "只有被商家拒绝的售后可以申请平台介入 / only a "
                                                f"refused case can be escalated (case is "
                                                f"{case.status})")
        await _entry(uow, case.id, now, "buyer", principal.user_id, "escalated", text.strip())
        await _move(uow, case, "escalated", now, cfg)
        await record_event(uow, "CaseEscalated", now, shop_id=case.shop_id,
                           order_id=case.order_id, payload={"case_id": int(case.id)})
    return await get_case(db, principal, case_id)


def _operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Problem("forbidden", "仅平台客服可操作 / platform operators only")


async def escalations(db: Database, principal: Principal, *, status: str | None, limit: int,
                      offset: int) -> list[dict[str, Any]]:
    """Cases escalated to the platform: waiting ones first, soonest deadline first (and, with
    status=all, those already ruled)."""
    _operator(principal)
    async with db.read() as conn:
        escalated_ids = select(case_entries.c.case_id).where(case_entries.c.kind == "escalated")
        query = select(cases).where(cases.c.id.in_(escalated_ids))
        if status != "all":
            query = query.where(cases.c.status == (status or "escalated"))
        rows = (await conn.execute(query.order_by(
            (cases.c.status == rules.CLOSED), cases.c.deadline_at, cases.c.id)
            .limit(limit).offset(offset))).all()
        return [case_view(r, [], principal) for r in rows]


async def rule(db: Database, provider: PaymentProvider, principal: Principal, case_id: int, *,
               decision: str, amount: int | None, text: str, cfg: rules.Deadlines,
               now: datetime) -> dict[str, Any]:
    """The platform decides an escalated case, with a reason. Final: recorded on the timeline,
    and the same kind of case cannot be opened again on the order."""
    _operator(principal)
    if len(text.strip()) < 4:
        raise Problem("validation_failed", "裁决须说明理由（至少 4 字）/ a ruling needs a reason")
    async with db.write() as uow:
        case = (await uow.conn.execute(select(cases).where(cases.c.id == case_id))).first()
        if case is None:
            raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
        if case.status != "escalated":
            raise Problem("invalid_transition", f"售后单状态为 {case.status}，无需裁决 / case is "
                                                f"{case.status}: nothing to rule on")
        if decision == "buyer":
            pay = int(case.amount) if amount is None else amount
            if not 1 <= pay <= int(case.amount):
                raise Problem("validation_failed", f"裁决金额须为 1–{case.amount} 分 / the "
                                                   f"amount must be 1-{case.amount} fen")
            await _entry(uow, case.id, now, "operator", principal.user_id, "ruling",
                         text.strip(), decision="buyer", amount=pay, final=True)
            await _settle(uow, provider, case, pay, now, cfg, actor="operator",
                          outcome="平台裁定支持买家 / the platform ruled for the buyer",
                          step="ruling")
        elif decision == "shop":
            await _entry(uow, case.id, now, "operator", principal.user_id, "ruling",
                         text.strip(), decision="shop", final=True)
            await _move(uow, case, rules.CLOSED, now, cfg, decided_at=now,
                        outcome="平台裁定支持商家 / the platform ruled for the shop")
        else:
            raise Problem("validation_failed", f"未知裁决 / unknown decision: {decision}")
    return await get_case(db, principal, case_id)


# --- messages and photos through the case ---------------------------------------------------

def diversion_verdict(text: str) -> tuple[bool, list[dict[str, Any]]]:
    """Off-platform diversion (WeChat, QQ, phone numbers, QR codes and their disguises), checked
    by the compliance engine as live chat is: (held, findings)."""
    from livepledge.compliance.service import check_text

    result = check_text(text, category="general", context="chat")
    if not result.diverts_buyers:
        return False, []
    return True, [f.to_dict() for f in result.findings if f.family == "diversion"]


async def store_photos(media: LocalMediaStore, photos: list[bytes],
                       already: int) -> list[dict[str, Any]]:
    """Check every photo before storing any: a refusal stores nothing."""
    if error := rules.photos_error([len(p) for p in photos], already):
        code = "payload_too_large" if "MB" in error else "validation_failed"
        raise Problem(code, error)
    processed = []
    for n, data in enumerate(photos, 1):
        try:
            processed.append(await asyncio.to_thread(process_image, data))
        except ImageRefused as exc:
            raise Problem("unsupported_media_type", f"第 {n} 张 / photo {n}: {exc}") from exc
    for image in processed:
        await asyncio.to_thread(media.put, image.large_key, image.large)
        await asyncio.to_thread(media.put, image.thumb_key, image.thumb)
    return [{"large": f"/media/{i.large_key}", "thumb": f"/media/{i.thumb_key}",
             "width": i.width, "height": i.height} for i in processed]


async def _photo_count(conn: AsyncConnection, case_id: int) -> int:
    rows = (await conn.execute(select(case_entries.c.data).where(
        case_entries.c.case_id == case_id))).scalars().all()
    return sum(len((d or {}).get("photos") or []) for d in rows)


async def post_message(db: Database, media: LocalMediaStore, principal: Principal,
                       case_id: int, *, text: str, photos: list[bytes],
                       now: datetime) -> dict[str, Any]:
    """A message on the case's timeline from the buyer, the shop or an operator, with photos.
    One that leads off the platform is held: stored for the record, shown to its sender (told
    why) and the operators, never to the other side. Nothing is edited or deleted."""
    text = text.strip()
    if len(text) > rules.MESSAGE_MAX_CHARS:
        raise Problem("validation_failed", f"消息最多 {rules.MESSAGE_MAX_CHARS} 字 / at most "
                                           f"{rules.MESSAGE_MAX_CHARS} characters")
    if not text and not photos:
        raise Problem("validation_failed", "消息为空 / the message is empty")
    async with db.read() as conn:
        case = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
        if case is None or not _may_see(principal, case):
            raise Problem("not_found", f"售后单不存在 / no such case: {case_id}")
        if case.status == rules.CLOSED:
            raise Problem("invalid_transition", "售后单已结束 / the case is closed")
        already = await _photo_count(conn, case_id)
    held, findings = diversion_verdict(text) if text else (False, [])
    stored = await store_photos(media, photos, already)
    actor = ("buyer" if principal.user_id == case.buyer_id else
             "merchant" if principal.can_manage(case.shop_id) else "operator")
    reason = ("请勿发布站外联系方式或引导私下交易，平台内沟通才有保障；此消息仅你可见 / "
              "off-platform contacts and private deals are not allowed; only you can see this "
              "message") if held else None
    async with db.write() as uow:
        current = (await uow.conn.execute(select(cases.c.status).where(
            cases.c.id == case_id))).scalar_one()
        if current == rules.CLOSED:
            raise Problem("invalid_transition", "售后单已结束 / the case is closed")
        if stored and await _photo_count(uow.conn, case_id) + len(stored) > rules.PHOTOS_PER_CASE:
            raise Problem("validation_failed", f"每个售后单最多 {rules.PHOTOS_PER_CASE} 张照片 / "
                                               f"at most {rules.PHOTOS_PER_CASE} photos a case")
        data: dict[str, Any] = {"photos": stored}
        if held:
            data.update(held=True, reason=reason, findings=findings)
        await uow.conn.execute(insert(case_entries).values(
            case_id=case_id, at=now, actor=actor, actor_id=principal.user_id, kind="message",
            text=text, data=data))
        if held:
            await record_event(uow, "CaseMessageHeld", now, shop_id=case.shop_id,
                               order_id=case.order_id,
                               payload={"case_id": case_id, "actor": actor})
    view = await get_case(db, principal, case_id)
    view["message"] = {"held": held, "reason": reason, "photos": stored}
    return view
