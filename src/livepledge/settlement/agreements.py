"""Anchors' and MCN agencies' money with a shop (docs/money.md, "Anchors and agencies").

An **agreement** gives an anchor or an agency a commission on net sales and/or a slot fee
(坑位费), for one live session or for the sessions one anchor hosts in a period. The slot fee is
collected from the shop through the payment provider when the agreement is made and owed to the
party at once; commissions accrue when an order's money is released from escrow (that is, on
net sales: what was refunded before release never earns one) and are reversed in proportion by
any refund after release (settlement/rules.py).

An **MCN contract** with an ROI guarantee (对赌): the shop pays the agency's fee into the
contract's escrow; when every order of the period has been released (its return window has
closed), the platform computes ROI on net sales — paid, less refunds and cancellations, without
the orders the integrity audit flags as brushed — and pays the fee to the agency when the
guarantee is met, or the part the ROI reached and the rest back to the shop. Both sides see the
computation line by line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import users
from livepledge.accounts.service import Principal, access_shop
from livepledge.infra import clock, deadlines
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import record_event
from livepledge.infra.problems import Problem
from livepledge.live import service as live
from livepledge.orders.models import orders
from livepledge.orders.payments import PaymentProvider
from livepledge.settlement import rules
from livepledge.settlement.models import agreements, ledger_orders, mcn_contracts
from livepledge.settlement.service import access_owner, check_key

SETTLE_KIND = "mcn_settle"
SETTLE_RETRY = timedelta(days=1)  # orders of the period still in escrow: look again later
OUTCOME_LINES = 5_000  # the computation's per-order lines kept on the contract
PARTY_KINDS = {"anchor": "anchor", "agency": "agency"}  # a user's role → the party kind


async def _party(conn: AsyncConnection, user_id: int, wanted: tuple[str, ...]) -> Any:
    row = (await conn.execute(select(users.c.id, users.c.role, users.c.display_name).where(
        users.c.id == user_id))).first()
    if row is None or row.role not in wanted:
        names = {"anchor": "主播", "agency": "MCN机构"}
        raise Problem("validation_failed",
                      f"用户 {user_id} 不是{'或'.join(names[w] for w in wanted)} / user "
                      f"{user_id} is not an {' or '.join(wanted)} account")
    return row


async def _by_key(conn: AsyncConnection, table: Table, shop_id: int, key: str) -> Any:
    """What an earlier request with this Idempotency-Key made (None: nothing yet)."""
    return (await conn.execute(select(table).where(
        table.c.shop_id == shop_id, table.c.idempotency_key == key))).first()


def _iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value else None


def agreement_view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    view.pop("idempotency_key", None)
    for key in ("starts_at", "ends_at", "created_at", "ended_at"):
        view[key] = _iso(row._mapping[key])
    return view


async def create_agreement(db: Database, provider: PaymentProvider, principal: Principal,
                           shop_id: int, *, party_id: int, commission_bp: int, slot_fee: int,
                           session_id: int | None, anchor_id: int | None,
                           starts_at: datetime | None, ends_at: datetime | None,
                           key: str | None, outcome: str | None,
                           now: datetime) -> tuple[dict[str, Any], bool]:
    """The shop's owner makes an agreement with an anchor or an agency; its slot fee is
    collected at once. Returns (agreement, created); a repeat with the same key returns the
    first."""
    access_owner(principal, shop_id)
    key = check_key(key)
    starts_at = clock.as_utc(starts_at) if starts_at else None
    ends_at = clock.as_utc(ends_at) if ends_at else None
    if error := rules.agreement_error(commission_bp=commission_bp, slot_fee=slot_fee,
                                      session_id=session_id, anchor_id=anchor_id,
                                      starts_at=starts_at, ends_at=ends_at):
        raise Problem("validation_failed", error)
    async with db.read() as conn:
        found = await _by_key(conn, agreements, shop_id, key)
        if found is not None:
            return agreement_view(found), False
        party = await _party(conn, party_id, ("anchor", "agency"))
        if session_id is not None:
            session = await live.access_session(conn, session_id)
            if session.shop_id != shop_id:
                raise Problem("not_found", f"直播场次不存在 / no such session: {session_id}")
        else:
            assert anchor_id is not None
            await _party(conn, anchor_id, ("anchor",))
    charge = None
    if slot_fee:
        charge = await provider.collect(shop_id=shop_id, amount=slot_fee,
                                        idempotency_key=f"slot:{shop_id}:{key}", outcome=outcome)
        if not charge.succeeded:
            raise Problem("payment_failed", f"支付失败：{charge.message}", provider=charge.provider)
    try:
        async with db.write() as uow:
            agreement_id = int((await uow.conn.execute(insert(agreements).values(
                shop_id=shop_id, party_id=party_id, party_kind=PARTY_KINDS[party.role],
                session_id=session_id, anchor_id=anchor_id, starts_at=starts_at,
                ends_at=ends_at, commission_bp=commission_bp, slot_fee=slot_fee,
                provider=charge.provider if charge else None,
                provider_ref=charge.reference if charge else None, idempotency_key=key,
                created_by=principal.user_id, created_at=now)
                .returning(agreements.c.id))).scalar_one())
            terms = {"agreement_id": agreement_id, "party_id": party_id,
                     "party_kind": PARTY_KINDS[party.role], "commission_bp": commission_bp,
                     "slot_fee": slot_fee, "anchor_id": anchor_id,
                     "starts_at": _iso(starts_at), "ends_at": _iso(ends_at)}
            await record_event(uow, "AgreementSigned", now, shop_id=shop_id,
                               session_id=session_id, payload=terms)
            if charge is not None:
                await record_event(uow, "SlotFeePaid", now, shop_id=shop_id,
                                   session_id=session_id, payload={
                                       "agreement_id": agreement_id, "party_id": party_id,
                                       "amount": slot_fee, "provider": charge.provider})
    except IntegrityError:
        async with db.read() as conn:
            found = await _by_key(conn, agreements, shop_id, key)
        if found is None:
            raise
        return agreement_view(found), False
    async with db.read() as conn:
        row = (await conn.execute(select(agreements).where(
            agreements.c.id == agreement_id))).one()
    return agreement_view(row), True


async def end_agreement(db: Database, principal: Principal, agreement_id: int, *,
                        now: datetime) -> dict[str, Any]:
    """From now on the agreement earns nothing more (orders placed before keep it)."""
    async with db.write() as uow:
        row = (await uow.conn.execute(select(agreements).where(
            agreements.c.id == agreement_id))).first()
        if row is None or not principal.can_manage(row.shop_id):
            raise Problem("not_found", f"协议不存在 / no such agreement: {agreement_id}")
        access_owner(principal, row.shop_id)
        if row.ended_at is not None:
            raise Problem("invalid_transition", "协议已终止 / the agreement has ended already")
        await uow.conn.execute(update(agreements).where(agreements.c.id == agreement_id)
                               .values(ended_at=now))
        await record_event(uow, "AgreementEnded", now, shop_id=row.shop_id,
                           session_id=row.session_id, payload={"agreement_id": agreement_id,
                                                               "party_id": int(row.party_id)})
    async with db.read() as conn:
        return agreement_view((await conn.execute(select(agreements).where(
            agreements.c.id == agreement_id))).one())


async def list_agreements(db: Database, principal: Principal, *, shop_id: int | None,
                          limit: int, offset: int) -> list[dict[str, Any]]:
    """A shop's agreements (its staff), or my own as an anchor or agency (shop_id None)."""
    query = select(agreements)
    if shop_id is not None:
        access_shop(principal, shop_id)
        query = query.where(agreements.c.shop_id == shop_id)
    else:
        query = query.where(agreements.c.party_id == principal.user_id)
    async with db.read() as conn:
        rows = await conn.execute(query.order_by(agreements.c.id.desc()).limit(limit)
                                  .offset(offset))
        return [agreement_view(r) for r in rows]


async def commissions_for(conn: AsyncConnection, order: Any) -> list[dict[str, int]]:
    """The agreements in force when the order was placed that earn on it, oldest first:
    `[{agreement_id, party_id, commission_bp}]` (they go into the release's event, so the
    ledger and its rebuild read the same terms)."""
    placed = clock.as_utc(order.created_at)
    anchor = await live.anchor_of(conn, order.session_id) if order.session_id else None
    scope = agreements.c.session_id == order.session_id
    if anchor is not None:
        scope = or_(scope, and_(agreements.c.anchor_id == anchor,
                                agreements.c.starts_at <= placed,
                                agreements.c.ends_at > placed))
    rows = await conn.execute(select(agreements).where(
        agreements.c.shop_id == order.shop_id, agreements.c.commission_bp > 0, scope,
        agreements.c.created_at <= placed,
        or_(agreements.c.ended_at.is_(None), agreements.c.ended_at > placed))
        .order_by(agreements.c.id))
    return [{"agreement_id": int(r.id), "party_id": int(r.party_id),
             "commission_bp": int(r.commission_bp)} for r in rows]


# --- MCN contracts with an ROI guarantee (对赌) ---------------------------------------------

def contract_view(row: Any) -> dict[str, Any]:
    view = row_dict(row)
    view.pop("idempotency_key", None)
    for key in ("starts_at", "ends_at", "created_at", "settled_at"):
        view[key] = _iso(row._mapping[key])
    return view


async def create_contract(db: Database, provider: PaymentProvider, principal: Principal,
                          shop_id: int, *, agency_id: int, anchor_id: int | None,
                          starts_at: datetime, ends_at: datetime, fee: int,
                          guaranteed_roi_bp: int, key: str | None, outcome: str | None,
                          now: datetime) -> tuple[dict[str, Any], bool]:
    """The shop's owner signs a contract with an agency; the fee is collected into the
    contract's escrow, and its settlement is a durable deadline at the period's end."""
    access_owner(principal, shop_id)
    key = check_key(key)
    starts_at, ends_at = clock.as_utc(starts_at), clock.as_utc(ends_at)
    if error := rules.contract_error(fee=fee, guaranteed_roi_bp=guaranteed_roi_bp,
                                     starts_at=starts_at, ends_at=ends_at):
        raise Problem("validation_failed", error)
    async with db.read() as conn:
        found = await _by_key(conn, mcn_contracts, shop_id, key)
        if found is not None:
            return contract_view(found), False
        await _party(conn, agency_id, ("agency",))
        if anchor_id is not None:
            await _party(conn, anchor_id, ("anchor",))
    charge = await provider.collect(shop_id=shop_id, amount=fee,
                                    idempotency_key=f"mcn:{shop_id}:{key}", outcome=outcome)
    if not charge.succeeded:
        raise Problem("payment_failed", f"支付失败：{charge.message}", provider=charge.provider)
    try:
        async with db.write() as uow:
            contract_id = int((await uow.conn.execute(insert(mcn_contracts).values(
                shop_id=shop_id, agency_id=agency_id, anchor_id=anchor_id,
                starts_at=starts_at, ends_at=ends_at, fee=fee,
                guaranteed_roi_bp=guaranteed_roi_bp, status="funded",
                provider=charge.provider, provider_ref=charge.reference, idempotency_key=key,
                created_by=principal.user_id, created_at=now)
                .returning(mcn_contracts.c.id))).scalar_one())
            await record_event(uow, "McnContractSigned", now, shop_id=shop_id, payload={
                "contract_id": contract_id, "agency_id": agency_id, "anchor_id": anchor_id,
                "fee": fee, "guaranteed_roi_bp": guaranteed_roi_bp,
                "starts_at": _iso(starts_at), "ends_at": _iso(ends_at)})
            await record_event(uow, "McnFeePaid", now, shop_id=shop_id, payload={
                "contract_id": contract_id, "agency_id": agency_id, "amount": fee,
                "provider": charge.provider})
            await deadlines.schedule(uow, SETTLE_KIND, contract_id, max(ends_at, now), now)
    except IntegrityError:
        async with db.read() as conn:
            found = await _by_key(conn, mcn_contracts, shop_id, key)
        if found is None:
            raise
        return contract_view(found), False
    return await get_contract(db, principal, contract_id), True


async def get_contract(db: Database, principal: Principal, contract_id: int) -> dict[str, Any]:
    """The contract and, once settled, its computation: the same for the shop and the
    agency."""
    async with db.read() as conn:
        row = (await conn.execute(select(mcn_contracts).where(
            mcn_contracts.c.id == contract_id))).first()
    if row is None or not (principal.can_manage(row.shop_id)
                           or principal.user_id == row.agency_id or principal.is_operator):
        raise Problem("not_found", f"合同不存在 / no such contract: {contract_id}")
    return contract_view(row)


async def list_contracts(db: Database, principal: Principal, *, shop_id: int | None,
                         limit: int, offset: int) -> list[dict[str, Any]]:
    query = select(mcn_contracts)
    if shop_id is not None:
        access_shop(principal, shop_id)
        query = query.where(mcn_contracts.c.shop_id == shop_id)
    else:
        query = query.where(mcn_contracts.c.agency_id == principal.user_id)
    async with db.read() as conn:
        rows = await conn.execute(query.order_by(mcn_contracts.c.id.desc()).limit(limit)
                                  .offset(offset))
        return [contract_view(r) for r in rows]


@dataclass(frozen=True)
class OrderNet:
    order_id: int
    paid: int
    net: int  # what the ledger released, less refunds after release
    brushed: bool


async def _period_orders(conn: AsyncConnection, contract: Any) -> list[Any]:
    """The period's orders with their money as the ledger sees it (`paid` None: the ledger has
    not posted the order yet)."""
    query = (select(orders.c.id, orders.c.status, orders.c.paid_at, ledger_orders.c.paid,
                    ledger_orders.c.held, ledger_orders.c.released,
                    ledger_orders.c.released_base, ledger_orders.c.refunded_after)
             .outerjoin(ledger_orders, ledger_orders.c.order_id == orders.c.id)
             .where(orders.c.shop_id == contract.shop_id,
                    orders.c.created_at >= contract.starts_at,
                    orders.c.created_at < contract.ends_at)
             .order_by(orders.c.id))
    if contract.anchor_id is not None:
        query = query.where(orders.c.session_id.in_(
            live.anchor_sessions(int(contract.shop_id), int(contract.anchor_id))))
    return list((await conn.execute(query)).all())


def _unsettled(row: Any) -> bool:
    """An order whose money may still move: not paid yet but payable, paid but not posted by
    the ledger yet, or held in escrow."""
    if row.status == "pending_payment":
        return True
    if row.paid is None:
        return row.paid_at is not None
    return not row.released and int(row.held) > 0


class McnSettle:
    """The `mcn_settle` deadline: once every order of the contract's period has left escrow,
    compute ROI on net sales and pay the fee out — exactly once (the deadline fires once in
    effect; the ledger posts one transaction per event)."""

    kind = SETTLE_KIND

    def __init__(self, brushed: Any = None) -> None:
        # brushed(conn, shop_id) -> set of order ids the integrity audit flags (tests may
        # give their own); default: the audit's brushing detector on the shop's orders
        self.brushed = brushed

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str | deadlines.Again:
        conn = uow.conn
        contract = (await conn.execute(select(mcn_contracts).where(
            mcn_contracts.c.id == ref_id))).first()
        if contract is None or contract.status != "funded":
            return "nothing to settle"
        rows = await _period_orders(conn, contract)
        pending = [r.id for r in rows if _unsettled(r)]
        if pending:
            return deadlines.Again(now + SETTLE_RETRY,
                                   f"waiting: {len(pending)} orders still in escrow")
        rows = [r for r in rows if r.paid is not None]  # never paid: no sale
        brushed = await self._brushed(conn, int(contract.shop_id))
        lines = [OrderNet(int(r.id), int(r.paid),
                          int(r.released_base) - int(r.refunded_after) if r.released else 0,
                          int(r.id) in brushed) for r in rows]
        net_sales = sum(line.net for line in lines if not line.brushed)
        result = rules.settle_contract(fee=int(contract.fee), net_sales=net_sales,
                                       guaranteed_roi_bp=int(contract.guaranteed_roi_bp))
        outcome = {
            "orders": len(lines), "gross": sum(line.paid for line in lines),
            "refunded": sum(line.paid - line.net for line in lines),
            "brushed_orders": [line.order_id for line in lines if line.brushed],
            "brushed_net": sum(line.net for line in lines if line.brushed),
            "net_sales": result.net_sales, "fee": int(contract.fee),
            "roi_bp": result.roi_bp, "guaranteed_roi_bp": int(contract.guaranteed_roi_bp),
            "met": result.met, "to_agency": result.to_agency, "to_shop": result.to_shop,
            "lines": [{"order_id": line.order_id, "paid": line.paid, "net": line.net,
                       "brushed": line.brushed} for line in lines[:OUTCOME_LINES]],
            "lines_total": len(lines),
        }
        await conn.execute(update(mcn_contracts).where(
            mcn_contracts.c.id == ref_id, mcn_contracts.c.status == "funded").values(
            status="settled", settled_at=now, outcome=outcome))
        await record_event(uow, "McnContractSettled", now, shop_id=int(contract.shop_id),
                           payload={"contract_id": ref_id, "agency_id": int(contract.agency_id),
                                    "amount": int(contract.fee), "to_agency": result.to_agency,
                                    "to_shop": result.to_shop, "net_sales": result.net_sales,
                                    "roi_bp": result.roi_bp, "met": result.met})
        return (f"settled: ROI {result.roi_bp / 10_000:.2f} vs "
                f"{int(contract.guaranteed_roi_bp) / 10_000:.2f}; agency {result.to_agency}, "
                f"shop {result.to_shop}")

    async def _brushed(self, conn: AsyncConnection, shop_id: int) -> set[int]:
        if self.brushed is not None:
            return set(await self.brushed(conn, shop_id))
        from livepledge.audit.service import brushed_order_ids

        return await brushed_order_ids(conn, shop_id)


async def earnings(db: Database, principal: Principal, *, limit: int) -> dict[str, Any]:
    """An anchor's or agency's account: what the platform owes them and its latest lines."""
    from livepledge.infra.models import events
    from livepledge.settlement.models import ledger_accounts, ledger_postings

    code = rules.party(principal.user_id)
    async with db.read() as conn:
        account = (await conn.execute(select(
            ledger_accounts.c.balance, ledger_accounts.c.reserved).where(
            ledger_accounts.c.code == code))).first()
        rows = (await conn.execute(
            select(ledger_postings.c.occurred_at, ledger_postings.c.amount,
                   ledger_postings.c.event_id, ledger_postings.c.shop_id,
                   ledger_postings.c.order_id, events.c.type)
            .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
            .join(events, events.c.id == ledger_postings.c.event_id)
            .where(ledger_accounts.c.code == code)
            .order_by(ledger_postings.c.id.desc()).limit(limit))).all()
    owed = rules.owed(int(account.balance)) if account else 0
    pending = int(account.reserved) if account else 0
    return {"user_id": principal.user_id, "currency": "CNY", "owed": owed,
            "payouts_pending": pending, "payable": max(0, owed - pending),
            "lines": [{"at": clock.as_utc(r.occurred_at).isoformat(),
                       "amount": rules.owed(int(r.amount)), "event_id": int(r.event_id),
                       "event": r.type, "shop_id": r.shop_id, "order_id": r.order_id}
                      for r in rows]}
