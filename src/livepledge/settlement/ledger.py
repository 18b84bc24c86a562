"""The `ledger` event consumer and the `escrow_release` deadline (docs/money.md).

The consumer posts each money event with the pure rules (`rules.post`) in the same transaction
as its checkpoint; a unique constraint on the transaction's event id makes a second posting of
the same event impossible even if a replay got past the checkpoint. It also moves each order's
release deadline as the order ships, is received, or has an after-sales case closed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shop_members
from livepledge.aftersales.models import cases
from livepledge.aftersales.rules import CLOSED, return_window_days
from livepledge.infra import clock, deadlines
from livepledge.infra.consumers import Event
from livepledge.infra.db import UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.models import deadlines as deadline_rows
from livepledge.notices.service import do_notify
from livepledge.orders.models import orders
from livepledge.settlement import rules
from livepledge.settlement.agreements import commissions_for
from livepledge.settlement.models import (
    ledger_accounts,
    ledger_orders,
    ledger_postings,
    ledger_transactions,
)

RELEASE_KIND = "escrow_release"
WAITING = "waiting"  # the outcome of a release that waits for an open after-sales case
ORDER_FIELDS = ("shop_id", "provider", "paid", "held", "released", "released_base",
                "commission", "refunded_after", "commission_reversed", "parties")


def fact_of(event: Event) -> rules.Fact:
    return rules.Fact(event_id=event.id, type=event.type, shop_id=event.shop_id,
                      order_id=event.order_id, payload=event.payload,
                      occurred_at=event.occurred_at)


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def account_ids(conn: AsyncConnection, codes: Iterable[str]) -> dict[str, int]:
    """The accounts' ids, creating those not seen before."""
    wanted = sorted(set(codes))
    await conn.execute(_insert(conn)(ledger_accounts).on_conflict_do_nothing(
        index_elements=["code"]), [
        {"code": code, "shop_id": rules.account_shop(code), "kind": rules.account_kind(code),
         "balance": 0, "reserved": 0} for code in wanted])
    rows = await conn.execute(select(ledger_accounts.c.code, ledger_accounts.c.id).where(
        ledger_accounts.c.code.in_(wanted)))
    return {r.code: int(r.id) for r in rows}


class Ledger:
    """The `ledger` consumer (docs/events.md, docs/money.md)."""

    name = "ledger"
    types = rules.POSTED | {"OrderShipped", "OrderReceived", "CaseClosed"}

    def __init__(self, *, auto_receive_days: int = 10) -> None:
        self.auto_receive_days = auto_receive_days

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        await self.handle_batch(uow, [event])

    async def handle_batch(self, uow: UnitOfWork, events: list[Event]) -> None:
        """Post a batch's money events in a few statements: the orders' money and the deposits
        the rules need are loaded at once, the rules run in memory in event order, and the
        transactions, postings, balance moves and order states are written together. An event
        posted before (a replay after a crash or a rewound checkpoint) is skipped whole."""
        conn = uow.conn
        money = [e for e in events if e.type in rules.POSTED]
        done = await _posted_already(conn, [e.id for e in money])
        books, loaded = await _books_for(conn, [e for e in money if e.id not in done])
        posted: list[rules.Transaction] = []
        reserved: dict[str, int] = {}
        told: list[tuple[Event, rules.Transaction, int]] = []
        for event in events:
            if event.type == "OrderShipped":
                await self._shipped(uow, event)
            elif event.type == "OrderReceived":
                await self._received(uow, event)
            elif event.type == "CaseClosed":
                await self._case_closed(uow, event)
            elif event.id not in done:
                order = books.orders.get(event.order_id) if event.order_id else None
                shop_id = event.shop_id if event.shop_id is not None else (
                    order.shop_id if order else None)
                deposit_before = books.held_in_deposit(shop_id)
                tx = books.apply(fact_of(event))
                if tx is None:
                    continue
                posted.append(tx)
                if event.type in rules.RESERVING:  # the reservation becomes the posting
                    account = rules.reserved_account(fact_of(event))
                    reserved[account] = reserved.get(account, 0) + int(event.payload["amount"])
                elif event.type == "OrderCompensated":
                    told.append((event, tx, deposit_before))
        await do_post_many(conn, posted, now=clock.utcnow())
        await save_orders(conn, [o for i, o in books.orders.items() if loaded.get(i) != o])
        if reserved:
            await conn.execute(update(ledger_accounts).where(
                ledger_accounts.c.code == bindparam("account")).values(
                reserved=ledger_accounts.c.reserved - bindparam("amount")), [
                {"account": account, "amount": amount}
                for account, amount in reserved.items()])
        for event, tx, deposit_before in told:
            await _tell_owners(uow, event, tx, deposit_before)

    async def _window_days(self, conn: AsyncConnection, order_id: int) -> int:
        snapshot = (await conn.execute(select(orders.c.snapshot).where(
            orders.c.id == order_id))).scalar_one_or_none()
        return return_window_days(list((snapshot or {}).get("promises", []))) or 0

    async def _shipped(self, uow: UnitOfWork, event: Event) -> None:
        if event.order_id is None:
            return
        days = self.auto_receive_days + await self._window_days(uow.conn, event.order_id)
        await deadlines.schedule(uow, RELEASE_KIND, event.order_id,
                                 event.occurred_at + timedelta(days=days), clock.utcnow(),
                                 {"deemed": True})

    async def _received(self, uow: UnitOfWork, event: Event) -> None:
        if event.order_id is None:
            return
        due = event.occurred_at + timedelta(
            days=await self._window_days(uow.conn, event.order_id))
        row = await _release_row(uow.conn, event.order_id)
        if row is not None and (row.fired_at is not None or row.cancelled_at is not None):
            return  # released (or found nothing to release) on deemed receipt already
        if row is None or clock.as_utc(row.due_at) > due:
            await deadlines.reschedule(uow, RELEASE_KIND, event.order_id, due, clock.utcnow(),
                                       {"deemed": False})

    async def _case_closed(self, uow: UnitOfWork, event: Event) -> None:
        """A release that waited for this case may go now (or at its own time)."""
        if event.order_id is None:
            return
        row = await _release_row(uow.conn, event.order_id)
        if row is None or row.cancelled_at is not None:
            return
        if row.fired_at is not None and not (row.outcome or "").startswith(WAITING):
            return
        due = max(clock.as_utc(row.due_at), event.occurred_at)
        await deadlines.reschedule(uow, RELEASE_KIND, event.order_id, due, clock.utcnow(),
                                   dict(row.payload))


async def _posted_already(conn: AsyncConnection, event_ids: list[int]) -> set[int]:
    if not event_ids:
        return set()
    rows = await conn.execute(select(ledger_transactions.c.event_id).where(
        ledger_transactions.c.event_id.in_(event_ids)))
    return {int(r.event_id) for r in rows}


def order_of(row: Any) -> rules.OrderMoney:
    return rules.OrderMoney(
        order_id=int(row.order_id), shop_id=int(row.shop_id), provider=row.provider,
        paid=int(row.paid), held=int(row.held), released=bool(row.released),
        released_base=int(row.released_base), commission=int(row.commission),
        refunded_after=int(row.refunded_after), commission_reversed=int(row.commission_reversed),
        parties=tuple((int(p), int(a), int(r)) for p, a, r in (row.parties or ())))


async def _books_for(conn: AsyncConnection, events: list[Event]) -> tuple[
        rules.Books, dict[int, rules.OrderMoney]]:
    """The part of the ledger these events' rules read: their orders' money, and the deposits
    of the shops they may charge compensation to."""
    order_ids = sorted({e.order_id for e in events if e.order_id is not None})
    loaded: dict[int, rules.OrderMoney] = {}
    if order_ids:
        for row in await conn.execute(select(ledger_orders).where(
                ledger_orders.c.order_id.in_(order_ids))):
            loaded[int(row.order_id)] = order_of(row)
    shops = {e.shop_id if e.shop_id is not None else (
        loaded[e.order_id].shop_id if e.order_id in loaded else None)
        for e in events if e.type == "OrderCompensated"}
    codes = [rules.deposit(shop) for shop in shops if shop is not None]
    balances: dict[str, int] = {}
    if codes:
        balances = {r.code: int(r.balance) for r in await conn.execute(
            select(ledger_accounts.c.code, ledger_accounts.c.balance).where(
                ledger_accounts.c.code.in_(codes)))}
    return rules.Books(orders=dict(loaded), balances=balances), loaded


async def do_post_many(conn: AsyncConnection, txs: list[rules.Transaction], *,
                       now: datetime) -> None:
    """Write balanced transactions, their postings and the balance moves, in a few statements.
    The unique event id of a transaction is the last guard against a second posting."""
    if not txs:
        return
    assert all(tx.balances for tx in txs)
    ids = await account_ids(conn, (line.account for tx in txs for line in tx.lines))
    tx_ids = (await conn.execute(insert(ledger_transactions).returning(
        ledger_transactions.c.id, sort_by_parameter_order=True), [
        {"event_id": tx.event_id, "kind": tx.kind, "shop_id": tx.shop_id,
         "order_id": tx.order_id, "occurred_at": tx.occurred_at, "posted_at": now}
        for tx in txs])).scalars().all()
    await conn.execute(insert(ledger_postings), [
        {"transaction_id": tx_id, "event_id": tx.event_id, "seq": seq,
         "account_id": ids[line.account], "amount": line.amount, "shop_id": tx.shop_id,
         "order_id": tx.order_id, "occurred_at": tx.occurred_at}
        for tx_id, tx in zip(tx_ids, txs, strict=True) for seq, line in enumerate(tx.lines)])
    moves: dict[int, int] = {}
    for tx in txs:
        for line in tx.lines:
            moves[ids[line.account]] = moves.get(ids[line.account], 0) + line.amount
    changes = [{"account": account, "amount": amount}
               for account, amount in sorted(moves.items()) if amount]
    if changes:
        await conn.execute(update(ledger_accounts).where(
            ledger_accounts.c.id == bindparam("account")).values(
            balance=ledger_accounts.c.balance + bindparam("amount")), changes)


async def save_orders(conn: AsyncConnection, changed: list[rules.OrderMoney]) -> None:
    if not changed:
        return
    statement = _insert(conn)(ledger_orders)
    await conn.execute(statement.on_conflict_do_update(
        index_elements=["order_id"], set_={f: statement.excluded[f] for f in ORDER_FIELDS}),
        [{**asdict(order), "parties": [list(p) for p in order.parties] or None}
         for order in changed])


async def _release_row(conn: AsyncConnection, order_id: int) -> Any:
    return (await conn.execute(select(deadline_rows).where(
        deadline_rows.c.kind == RELEASE_KIND, deadline_rows.c.ref_id == order_id))).first()


async def _tell_owners(uow: UnitOfWork, event: Event, tx: rules.Transaction,
                       deposit_before: int) -> None:
    """Compensation the shop owes is taken from its deposit: its owners are told."""
    taken = rules.deducted_from_deposit(tx)
    owners = (await uow.conn.execute(select(shop_members.c.user_id).where(
        shop_members.c.shop_id == tx.shop_id, shop_members.c.role == "owner"))).scalars().all()
    for user_id in owners:
        await do_notify(uow, event, user_id=int(user_id), kind="deposit_deducted", params={
            "order_id": event.order_id, "amount": int(event.payload["amount"]),
            "from_deposit": taken, "deposit_left": deposit_before - taken,
            "cause": event.payload.get("cause")}, dedupe=f"e{event.id}:deposit")


class EscrowRelease:
    """The `escrow_release` deadline: receipt (actual or deemed) and the no-reason return
    window are both behind the order; its held money becomes the shop's, minus commission."""

    kind = RELEASE_KIND

    def __init__(self, *, commission_bp: int = 0) -> None:
        self.commission_bp = commission_bp

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        order = (await uow.conn.execute(select(orders).where(orders.c.id == ref_id))).first()
        if order is None or order.status in ("cancelled", "expired", "pending_payment"):
            return f"nothing held: {order.status if order else 'no order'}"
        open_case = (await uow.conn.execute(select(cases.c.id).where(
            cases.c.order_id == ref_id, cases.c.status != CLOSED).limit(1))).scalar_one_or_none()
        if open_case is not None:
            return f"{WAITING}: after-sales case {open_case} is open"
        payload: dict[str, Any] = {"commission_bp": self.commission_bp,
                                   "deemed_receipt": order.received_at is None}
        if earning := await commissions_for(uow.conn, order):  # anchors' and agencies'
            payload["commissions"] = earning
        await record_event(uow, "EscrowReleased", now, shop_id=order.shop_id,
                           session_id=order.session_id, order_id=ref_id, payload=payload)
        return "released"
