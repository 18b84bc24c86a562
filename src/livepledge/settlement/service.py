"""Merchant money: balances, statements, payouts and deposit top-ups (docs/money.md).

Balances are read from the ledger the `ledger` consumer keeps; a payout reserves its amount on
the shop's available account in one conditional update, so concurrent payouts never overdraw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal, access_shop
from livepledge.infra import clock
from livepledge.infra.db import Database
from livepledge.infra.events import record_event
from livepledge.infra.models import events
from livepledge.infra.problems import Problem
from livepledge.orders.payments import PaymentProvider
from livepledge.orders.rules import idempotency_key_error
from livepledge.settlement import rules
from livepledge.settlement.models import (
    deposit_top_ups,
    deposit_withdrawals,
    ledger_accounts,
    ledger_postings,
    party_payouts,
    payouts,
)

STATEMENT_MAX_DAYS = 366
SHOP_ACCOUNTS = ("escrow", "available", "deposit")
# Payload keys a statement line shows, so that every line can be traced (order, case, payout).
TRACE_KEYS = ("case_id", "payout_id", "top_up_id", "withdrawal_id", "cause", "commission_bp")


def access_owner(principal: Principal, shop_id: int) -> None:
    """Money leaves a shop only on its owner's word."""
    access_shop(principal, shop_id)
    if principal.shop_roles.get(shop_id) != "owner":
        raise Problem("forbidden", "只有店主可以提现 / only the shop's owner requests payouts")


def check_amount(amount: int) -> None:
    if error := rules.payout_error(amount):
        raise Problem("validation_failed", error)


def check_key(key: str | None) -> str:
    if error := idempotency_key_error(key):
        raise Problem("idempotency_key_missing" if not key else "validation_failed", error)
    assert key is not None
    return key


async def _shop_balances(conn: AsyncConnection, shop_id: int) -> dict[str, tuple[int, int]]:
    rows = await conn.execute(select(ledger_accounts.c.kind, ledger_accounts.c.balance,
                                     ledger_accounts.c.reserved).where(
        ledger_accounts.c.shop_id == shop_id))
    return {r.kind: (int(r.balance), int(r.reserved)) for r in rows}


async def deposit_of(conn: AsyncConnection, shop_id: int) -> int:
    """What the shop's deposit holds (fen)."""
    return rules.owed((await _shop_balances(conn, shop_id)).get("deposit", (0, 0))[0])


async def check_deposit(conn: AsyncConnection, shop_id: int, minimum: int) -> None:
    """A shop whose deposit is below the deployment's minimum cannot go live."""
    if minimum <= 0:
        return
    held = await deposit_of(conn, shop_id)
    if held < minimum:
        raise Problem("deposit_required",
                      f"保证金 ¥{held / 100:.2f} 低于开播要求 ¥{minimum / 100:.2f}，请先充值 / the "
                      f"shop's deposit ({held} fen) is below the {minimum} fen needed to go live; "
                      "top it up first", deposit=held, minimum=minimum)


async def balances(db: Database, principal: Principal, shop_id: int, *,
                   minimum: int = 0) -> dict[str, Any]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        found = await _shop_balances(conn, shop_id)
        keep, _ = await deposit_must_keep(conn, shop_id, minimum)
    escrow, _ = found.get("escrow", (0, 0))
    available, reserved = found.get("available", (0, 0))
    deposit, withdrawing = found.get("deposit", (0, 0))
    owed = rules.owed(available)
    return {"shop_id": shop_id, "currency": "CNY", "held": rules.owed(escrow),
            "available": owed, "payouts_pending": reserved,
            "payable": max(0, owed - reserved), "deposit": rules.owed(deposit),
            "deposit_withdrawals_pending": withdrawing,
            "deposit_withdrawable": max(0, rules.owed(deposit) - withdrawing - keep),
            "deposit_minimum": minimum}


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def check_period(start: datetime | None, end: datetime | None, now: datetime) -> Period:
    """Default: this calendar month (UTC) so far."""
    end = clock.as_utc(end) if end else now
    start = clock.as_utc(start) if start else end.replace(day=1, hour=0, minute=0, second=0,
                                                          microsecond=0)
    if start >= end:
        raise Problem("validation_failed", "开始时间须早于结束时间 / start must be before end")
    if end - start > timedelta(days=STATEMENT_MAX_DAYS):
        raise Problem("validation_failed", f"账单期间最长 {STATEMENT_MAX_DAYS} 天 / a statement "
                                           f"covers at most {STATEMENT_MAX_DAYS} days")
    return Period(start, end)


async def statement(db: Database, principal: Principal, shop_id: int, period: Period, *,
                    limit: int, offset: int) -> dict[str, Any]:
    """The shop's postings in the period, each traceable to its event and order, with each
    account's opening and closing balance and the period's totals per kind of movement."""
    access_shop(principal, shop_id)
    own = ledger_accounts.c.shop_id == shop_id
    joined = ledger_postings.join(ledger_accounts,
                                  ledger_accounts.c.id == ledger_postings.c.account_id)
    in_period = (ledger_postings.c.occurred_at >= period.start,
                 ledger_postings.c.occurred_at < period.end)
    async with db.read() as conn:
        opening = dict((await conn.execute(
            select(ledger_accounts.c.kind, func.sum(ledger_postings.c.amount)).select_from(joined)
            .where(own, ledger_postings.c.occurred_at < period.start)
            .group_by(ledger_accounts.c.kind))).all())
        moved = (await conn.execute(
            select(ledger_accounts.c.kind, events.c.type, func.sum(ledger_postings.c.amount),
                   func.count()).select_from(joined.join(
                       events, events.c.id == ledger_postings.c.event_id))
            .where(own, *in_period).group_by(ledger_accounts.c.kind, events.c.type))).all()
        rows = (await conn.execute(
            select(ledger_postings.c.id, ledger_postings.c.occurred_at,
                   ledger_postings.c.amount, ledger_postings.c.order_id,
                   ledger_postings.c.event_id, ledger_accounts.c.kind, events.c.type,
                   events.c.payload, events.c.session_id)
            .select_from(joined.join(events, events.c.id == ledger_postings.c.event_id))
            .where(own, *in_period).order_by(ledger_postings.c.id)  # the ledger's own order
            .limit(limit).offset(offset))).all()
    change: dict[str, int] = {}
    totals: dict[str, dict[str, int]] = {}
    lines_total = 0
    for kind, event_type, amount, count in moved:
        change[kind] = change.get(kind, 0) + int(amount)
        totals.setdefault(kind, {})[event_type] = rules.owed(int(amount))
        lines_total += int(count)
    accounts = {kind: {"opening": rules.owed(int(opening.get(kind) or 0)),
                       "closing": rules.owed(int(opening.get(kind) or 0) + change.get(kind, 0)),
                       "by_event": totals.get(kind, {})}
                for kind in SHOP_ACCOUNTS}
    return {"shop_id": shop_id, "currency": "CNY", "start": period.start.isoformat(),
            "end": period.end.isoformat(), "accounts": accounts, "lines_total": lines_total,
            "lines": [{"at": clock.as_utc(r.occurred_at).isoformat(), "account": r.kind,
                       "amount": rules.owed(int(r.amount)), "event_id": r.event_id,
                       "event": r.type, "order_id": r.order_id, "session_id": r.session_id,
                       **{k: r.payload[k] for k in TRACE_KEYS if k in (r.payload or {})}}
                      for r in rows]}


async def request_payout(db: Database, provider: PaymentProvider, principal: Principal,
                         shop_id: int, *, amount: int, key: str | None,
                         now: datetime) -> tuple[dict[str, Any], bool]:
    """Pay `amount` of the available balance out. Returns (payout, created); a repeat with the
    same key returns the first payout."""
    access_owner(principal, shop_id)
    check_amount(amount)
    key = check_key(key)
    return await _pay_out(
        db, payouts, {"shop_id": shop_id}, code=rules.available(shop_id), amount=amount,
        key=key, keep=0, event="PayoutPaid", event_shop=shop_id, payload={},
        id_key="payout_id", extra={"requested_by": principal.user_id},
        transfer=lambda: provider.payout(shop_id=shop_id, amount=amount,
                                         idempotency_key=f"payout:{shop_id}:{key}"), now=now)


async def do_reserve(conn: AsyncConnection, shop_id: int, amount: int) -> None:
    """Reserve `amount` of the shop's available balance, or refuse."""
    await reserve_on(conn, rules.available(shop_id), amount)


async def reserve_on(conn: AsyncConnection, code: str, amount: int, *, keep: int = 0) -> None:
    """Reserve `amount` of what the platform owes on account `code`, leaving at least `keep`,
    or refuse: one conditional update, so two payouts can never both take the same money
    (balance is debit-positive: what the platform owes is −balance)."""
    account = ledger_accounts.c
    result = await conn.execute(update(ledger_accounts).where(
        account.code == code,
        account.balance + account.reserved + amount + keep <= 0).values(
        reserved=account.reserved + amount))
    if result.rowcount != 1:
        row = (await conn.execute(select(account.balance, account.reserved).where(
            account.code == code))).first()
        balance, reserved = (int(row.balance), int(row.reserved)) if row else (0, 0)
        payable = max(0, rules.owed(balance) - reserved - keep)
        raise Problem("insufficient_balance",
                      f"可提现余额 ¥{payable / 100:.2f}，不足 ¥{amount / 100:.2f} / only {payable} "
                      f"fen can be paid out, {amount} asked", payable=payable, amount=amount)


async def _pay_out(db: Database, table: Table, owner: dict[str, int], *, code: str,
                   amount: int, key: str, keep: int, transfer: Any, event: str,
                   event_shop: int | None, payload: dict[str, Any], id_key: str,
                   extra: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """Reserve, transfer through the provider, record the row and its event, in one
    transaction; a repeat of the key returns the first (also when both arrive at once)."""
    async with db.read() as conn:
        if (found := await _existing_by(conn, table, owner, key, amount)) is not None:
            return found, False
    try:
        async with db.write() as uow:
            await reserve_on(uow.conn, code, amount, keep=keep)
            paid = await transfer()
            row_id = int((await uow.conn.execute(insert(table).values(
                **owner, amount=amount, provider=paid.provider, provider_ref=paid.reference,
                idempotency_key=key, created_at=now, **extra)
                .returning(table.c.id))).scalar_one())
            await record_event(uow, event, now, shop_id=event_shop, payload={
                **payload, id_key: row_id, "amount": amount, "provider": paid.provider})
    except (IntegrityError, Problem) as exc:
        if isinstance(exc, Problem) and exc.code != "insufficient_balance":
            raise
        async with db.read() as conn:
            found = await _existing_by(conn, table, owner, key, amount)
        if found is None:
            raise
        return found, False
    async with db.read() as conn:
        row = (await conn.execute(select(table).where(table.c.id == row_id))).one()
    return _movement_view(row), True


async def _existing_by(conn: AsyncConnection, table: Table, owner: dict[str, int], key: str,
                       amount: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(table).where(
        *(table.c[name] == value for name, value in owner.items()),
        table.c.idempotency_key == key))).first()
    if row is None:
        return None
    if int(row.amount) != amount:
        raise Problem("idempotency_key_reused", "该 Idempotency-Key 已用于另一金额 / this "
                      "Idempotency-Key was used for a different amount", id=int(row.id))
    return _movement_view(row)


def _movement_view(row: Any) -> dict[str, Any]:
    view = {"id": row.id, "amount": int(row.amount), "provider": row.provider,
            "provider_ref": row.provider_ref,
            "created_at": clock.as_utc(row.created_at).isoformat()}
    mapping = row._mapping
    for name in ("shop_id", "party_id"):
        if name in mapping:
            view[name] = mapping[name]
    return view


async def request_party_payout(db: Database, provider: PaymentProvider, principal: Principal,
                               *, amount: int, key: str | None,
                               now: datetime) -> tuple[dict[str, Any], bool]:
    """An anchor or agency takes what the platform owes them (`party:{user}:payable`) out.
    Never more than that, less what earlier payouts have reserved."""
    check_amount(amount)
    key = check_key(key)
    user_id = principal.user_id
    return await _pay_out(
        db, party_payouts, {"party_id": user_id}, code=rules.party(user_id), amount=amount,
        key=key, keep=0, event="PartyPayoutPaid", event_shop=None,
        payload={"party_id": user_id}, id_key="party_payout_id", extra={},
        transfer=lambda: provider.pay_party(party_id=user_id, amount=amount,
                                            idempotency_key=key), now=now)


async def list_party_payouts(db: Database, principal: Principal, *, limit: int,
                             offset: int) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(select(party_payouts).where(
            party_payouts.c.party_id == principal.user_id)
            .order_by(party_payouts.c.id.desc()).limit(limit).offset(offset))
        return [_movement_view(r) for r in rows]


async def deposit_must_keep(conn: AsyncConnection, shop_id: int, minimum: int) -> tuple[
        int, list[str]]:
    """What of the deposit must stay (fen) and why: the deployment's minimum while the shop
    still has obligations — money in escrow, an open after-sales case, a session on air or
    scheduled — else nothing (a shop that has wound down may take all of it back)."""
    from livepledge.aftersales.models import cases
    from livepledge.live.models import live_sessions
    from livepledge.settlement.models import ledger_orders

    if minimum <= 0:
        return 0, []
    reasons = []
    if (await conn.execute(select(ledger_orders.c.order_id).where(
            ledger_orders.c.shop_id == shop_id, ledger_orders.c.held > 0).limit(1))).first():
        reasons.append("escrow")
    if (await conn.execute(select(cases.c.id).where(
            cases.c.shop_id == shop_id, cases.c.status != "closed").limit(1))).first():
        reasons.append("open_cases")
    if (await conn.execute(select(live_sessions.c.id).where(
            live_sessions.c.shop_id == shop_id,
            live_sessions.c.status.in_(("scheduled", "live"))).limit(1))).first():
        reasons.append("sessions")
    return (minimum if reasons else 0), reasons


async def withdraw_deposit(db: Database, provider: PaymentProvider, principal: Principal,
                           shop_id: int, *, amount: int, key: str | None, minimum: int,
                           now: datetime) -> tuple[dict[str, Any], bool]:
    """Pay part of the shop's deposit back to it (owner only): what is above the deployment's
    minimum at any time; all of it once the shop has no obligations (`deposit_must_keep`)."""
    access_owner(principal, shop_id)
    check_amount(amount)
    key = check_key(key)
    async with db.read() as conn:
        keep, reasons = await deposit_must_keep(conn, shop_id, minimum)
    try:
        return await _pay_out(
            db, deposit_withdrawals, {"shop_id": shop_id}, code=rules.deposit(shop_id),
            amount=amount, key=key, keep=keep, event="DepositWithdrawn", event_shop=shop_id,
            payload={}, id_key="withdrawal_id", extra={"requested_by": principal.user_id},
            transfer=lambda: provider.return_deposit(shop_id=shop_id, amount=amount,
                                                     idempotency_key=key), now=now)
    except Problem as exc:
        if exc.code != "insufficient_balance":
            raise
        payable = int(exc.extra["payable"])
        why = ("；店铺仍有待结算货款、未完结售后或直播场次，须保留开播保证金 "
               f"¥{keep / 100:.2f} / the shop still has money in escrow, open cases or "
               f"sessions, so the {keep} fen minimum stays") if keep else ""
        raise Problem("insufficient_balance",
                      f"可退保证金 ¥{payable / 100:.2f}，不足 ¥{amount / 100:.2f}{why} / only "
                      f"{payable} fen of the deposit can be withdrawn, {amount} asked",
                      payable=payable, amount=amount, must_keep=keep, reasons=reasons) from None


async def list_withdrawals(db: Database, principal: Principal, shop_id: int, *, limit: int,
                           offset: int) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = await conn.execute(select(deposit_withdrawals).where(
            deposit_withdrawals.c.shop_id == shop_id)
            .order_by(deposit_withdrawals.c.id.desc()).limit(limit).offset(offset))
        return [_movement_view(r) for r in rows]


async def list_payouts(db: Database, principal: Principal, shop_id: int, *, limit: int,
                       offset: int) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = (await conn.execute(select(payouts).where(payouts.c.shop_id == shop_id)
                                   .order_by(payouts.c.id.desc()).limit(limit).offset(offset)))
        return [_movement_view(r) for r in rows]


async def top_up(db: Database, provider: PaymentProvider, principal: Principal, shop_id: int,
                 *, amount: int, key: str | None, outcome: str | None,
                 now: datetime) -> tuple[dict[str, Any], bool]:
    """Top the shop's deposit up through the provider. Returns (top-up, created)."""
    access_shop(principal, shop_id)
    check_amount(amount)
    key = check_key(key)
    async with db.read() as conn:
        if (found := await _existing_by(conn, deposit_top_ups, {"shop_id": shop_id}, key,
                                        amount)) is not None:
            return found, False
    charge = await provider.collect(shop_id=shop_id, amount=amount,
                                    idempotency_key=f"deposit:{shop_id}:{key}", outcome=outcome)
    if not charge.succeeded:
        raise Problem("payment_failed", f"支付失败：{charge.message}", provider=charge.provider)
    try:
        async with db.write() as uow:
            top_up_id = int((await uow.conn.execute(insert(deposit_top_ups).values(
                shop_id=shop_id, amount=amount, provider=charge.provider,
                provider_ref=charge.reference, idempotency_key=key,
                requested_by=principal.user_id, created_at=now)
                .returning(deposit_top_ups.c.id))).scalar_one())
            await record_event(uow, "DepositToppedUp", now, shop_id=shop_id, payload={
                "top_up_id": top_up_id, "amount": amount, "provider": charge.provider})
    except IntegrityError:
        async with db.read() as conn:
            found = await _existing_by(conn, deposit_top_ups, {"shop_id": shop_id}, key, amount)
        if found is None:
            raise
        return found, False
    async with db.read() as conn:
        row = (await conn.execute(select(deposit_top_ups).where(
            deposit_top_ups.c.id == top_up_id))).one()
    return _movement_view(row), True
