"""`livepledge ledger verify`: rebuild the ledger from the event history in memory with the same
posting rules, and compare it with the live ledger posting by posting and balance by balance
(docs/money.md, "Verifying")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.infra import clock
from livepledge.infra.db import Database
from livepledge.infra.models import consumer_checkpoints, events
from livepledge.settlement import rules
from livepledge.settlement.ledger import order_of
from livepledge.settlement.models import (
    ledger_accounts,
    ledger_orders,
    ledger_postings,
    ledger_transactions,
)

CONSUMER = "ledger"
MAX_SHOWN = 20


@dataclass
class Report:
    events_read: int = 0
    transactions: int = 0
    postings: int = 0
    accounts: int = 0
    balance_total: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def summary(self) -> str:
        lines = [f"events read: {self.events_read}", f"transactions: {self.transactions}",
                 f"postings: {self.postings}", f"accounts: {self.accounts}",
                 f"sum of all balances: {self.balance_total}"]
        if self.agrees:
            lines.append("OK: the live ledger equals the ledger rebuilt from the events")
        else:
            lines.append(f"MISMATCH: {len(self.problems)} problem(s)")
            lines += [f"  - {p}" for p in self.problems[:MAX_SHOWN]]
            if len(self.problems) > MAX_SHOWN:
                lines.append(f"  ... and {len(self.problems) - MAX_SHOWN} more")
        return "\n".join(lines)


async def rebuild(conn: AsyncConnection) -> tuple[rules.Books, int]:
    """The ledger as the rules make it from the events the consumer has read so far."""
    books = rules.Books()
    read = 0
    checkpoint = (await conn.execute(select(
        consumer_checkpoints.c.last_tx, consumer_checkpoints.c.last_id).where(
        consumer_checkpoints.c.name == CONSUMER))).first()
    if checkpoint is None:
        return books, 0
    last_tx, last_id = int(checkpoint.last_tx), int(checkpoint.last_id)
    query = select(events.c.id, events.c.type, events.c.shop_id, events.c.order_id,
                   events.c.payload, events.c.occurred_at).where(
        events.c.type.in_(sorted(rules.POSTED)))
    if conn.dialect.name == "sqlite":  # the consumer's order (infra/consumers.py)
        query = query.where(events.c.id <= last_id).order_by(events.c.id)
    else:
        query = query.where(or_(events.c.tx < last_tx, and_(
            events.c.tx == last_tx, events.c.id <= last_id))).order_by(events.c.tx,
                                                                        events.c.id)
    result = await conn.stream(query.execution_options(yield_per=5000))
    async for rows in result.partitions():  # a partition at a time, not a row per await
        for row in rows:
            read += 1
            books.apply(rules.Fact(event_id=int(row.id), type=row.type, shop_id=row.shop_id,
                                   order_id=row.order_id, payload=row.payload,
                                   occurred_at=clock.as_utc(row.occurred_at)))
    return books, read


Entry = tuple[str, int | None, int | None, tuple[tuple[str, int], ...]]


async def _live(conn: AsyncConnection) -> tuple[dict[int, Entry], dict[str, tuple[int, int]],
                                                 dict[int, rules.OrderMoney]]:
    live: dict[int, Entry] = {}
    headers = {int(r.event_id): (r.kind, r.shop_id, r.order_id) for r in await conn.execute(
        select(ledger_transactions.c.event_id, ledger_transactions.c.kind,
               ledger_transactions.c.shop_id, ledger_transactions.c.order_id))}
    lines: dict[int, list[tuple[str, int]]] = {}
    result = await conn.stream(
        select(ledger_postings.c.event_id, ledger_accounts.c.code, ledger_postings.c.amount)
        .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
        .order_by(ledger_postings.c.event_id, ledger_postings.c.seq)
        .execution_options(yield_per=5000))
    async for rows in result.partitions():
        for row in rows:
            lines.setdefault(int(row.event_id), []).append((row.code, int(row.amount)))
    for event_id, (kind, shop_id, order_id) in headers.items():
        live[event_id] = (kind, shop_id, order_id, tuple(lines.pop(event_id, [])))
    for event_id, orphan in lines.items():
        live[event_id] = ("(no transaction)", None, None, tuple(orphan))
    sums = dict((await conn.execute(
        select(ledger_postings.c.account_id, func.sum(ledger_postings.c.amount))
        .group_by(ledger_postings.c.account_id))).all())
    accounts = {r.code: (int(r.balance), int(sums.get(r.id) or 0)) for r in
                await conn.execute(select(ledger_accounts))}
    orders = {int(r.order_id): order_of(r) for r in await conn.execute(select(ledger_orders))}
    return live, accounts, orders


def _expected(tx: rules.Transaction) -> Entry:
    return (tx.kind, tx.shop_id, tx.order_id,
            tuple((line.account, line.amount) for line in tx.lines))


def compare(books: rules.Books, live: dict[int, Entry], accounts: dict[str, tuple[int, int]],
            orders: dict[int, rules.OrderMoney], report: Report) -> None:
    expected = {tx.event_id: _expected(tx) for tx in books.transactions}
    for event_id in sorted(expected.keys() | live.keys()):
        want, got = expected.get(event_id), live.get(event_id)
        if want != got:
            report.add(f"event {event_id}: rebuilt {_show(want)}, live {_show(got)}")
    for event_id, (_kind, _shop, _order, lines) in live.items():
        if sum(amount for _, amount in lines) != 0:
            report.add(f"event {event_id}: its postings do not balance "
                       f"({sum(a for _, a in lines):+d})")
    for code in sorted(books.balances.keys() | accounts.keys()):
        want = books.balances.get(code, 0)
        stored, summed = accounts.get(code, (0, 0))
        if stored != summed:
            report.add(f"account {code}: balance {stored} but its postings sum to {summed}")
        if stored != want:
            report.add(f"account {code}: live balance {stored}, rebuilt {want}")
    for order_id in sorted(books.orders.keys() | orders.keys()):
        if books.orders.get(order_id) != orders.get(order_id):
            report.add(f"order {order_id}: live money {orders.get(order_id)}, rebuilt "
                       f"{books.orders.get(order_id)}")
    report.balance_total = sum(stored for stored, _ in accounts.values())
    if report.balance_total != 0:
        report.add(f"all balances sum to {report.balance_total}, not 0")
    if sum(books.balances.values()) != 0:
        report.add("the rebuilt balances do not sum to 0")


def _show(entry: Any) -> str:
    if entry is None:
        return "nothing"
    kind, shop_id, order_id, lines = entry
    return f"{kind} shop {shop_id} order {order_id} {list(lines)}"


async def verify(db: Database) -> Report:
    async with db.read() as conn:
        if not db.is_sqlite:  # one snapshot for the events, the checkpoint and the ledger
            await conn.execution_options(isolation_level="REPEATABLE READ")
        books, read = await rebuild(conn)
        live, accounts, orders = await _live(conn)
    report = Report(events_read=read, transactions=len(live),
                    postings=sum(len(e[3]) for e in live.values()), accounts=len(accounts))
    compare(books, live, accounts, orders, report)
    return report
