"""Making flash-sale orders durable in batches.

Requests that passed the stock gate queue here. One task drains the queue: all orders waiting are
written in ONE transaction with one conditional stock update per lineup item
(`... SET stock_remaining = stock_remaining - :n WHERE stock_remaining >= :n AND <sale open>`)
and one conditional per-buyer upsert each, then committed; only then are the buyers answered.
So a 201 always means the order is on disk, and the database itself refuses oversell and
over-limit even if the gate is wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.infra.db import Database, row_dict
from livepledge.infra.events import insert_events
from livepledge.infra.stopping import STOP, finish, take_batch
from livepledge.live.models import lineup_items, live_sessions
from livepledge.orders.gate import Reservation, StockGate
from livepledge.orders.models import buyer_item_counts, orders

log = logging.getLogger("livepledge.orders.writer")


@dataclass(frozen=True)
class ItemFacts:
    """What a buy needs to know about a lineup item, cached briefly per process."""

    item_id: int
    session_id: int
    shop_id: int
    sku_id: int
    live_price: int
    per_buyer_limit: int
    sale_starts_at: datetime
    sale_ends_at: datetime
    session_status: str
    snapshot: dict[str, Any]
    # The item's promises that have not ended, as (starts_at, ends_at, frozen copy): an order
    # keeps those in force at the moment it is placed (promises/service.frozen).
    promises: tuple[tuple[datetime, datetime | None, dict[str, Any]], ...] = ()

    def snapshot_at(self, at: datetime) -> dict[str, Any]:
        return {**self.snapshot, "promises": [
            copy for starts, ends, copy in self.promises
            if starts <= at and (ends is None or at < ends)]}


@dataclass
class PendingOrder:
    facts: ItemFacts
    buyer_id: int
    quantity: int
    key: str
    created_at: datetime
    expires_at: datetime
    reservation: Reservation | None
    future: asyncio.Future[Outcome] = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def pair(self) -> tuple[int, str]:
        return (self.buyer_id, self.key)


@dataclass(frozen=True)
class Outcome:
    kind: str  # created | existing | rejected
    order: dict[str, Any] | None = None
    code: str | None = None


class _StockConflict(Exception):
    def __init__(self, item_id: int) -> None:
        self.item_id = item_id


def order_row_view(row: Any) -> dict[str, Any]:
    return row_dict(row)


class OrderWriter:
    def __init__(self, db: Database, gate: StockGate, *, batch_max: int,
                 announce: Any = None) -> None:
        self.db = db
        self.gate = gate
        self.batch_max = batch_max
        self.announce = announce  # async callable(list[dict]) -> None, after commit
        self._queue: asyncio.Queue[Any] = asyncio.Queue()  # PendingOrder, then STOP
        self._task: asyncio.Task[None] | None = None
        # Announcements go out from their own task, in commit order, so that the buyers of a
        # batch are answered without waiting for fan-out (one publish per order with Redis).
        self._announcements: asyncio.Queue[Any] = asyncio.Queue()  # (items, orders), then STOP
        self._announcer: asyncio.Task[None] | None = None
        # (buyer, key) -> the answer-to-be of a request being written: a repeat waits on it.
        self.inflight: dict[tuple[int, str], asyncio.Future[Outcome]] = {}
        self._closed = False
        self.batches = 0
        self.orders_written = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="order-writer")
        if self.announce:
            self._announcer = asyncio.create_task(self._announce_loop(), name="order-announcer")

    async def _announce_loop(self) -> None:
        assert self.announce is not None
        while (announcement := await self._announcements.get()) is not STOP:
            items, orders = announcement
            # Committed: a failed announcement must not turn durable orders into errors.
            await _quietly(self.announce(items, orders))

    async def close(self) -> None:
        """Orders submitted before close are written and answered; the loops then end
        (infra/stopping.py). A buy arriving after close is refused as an outage."""
        self._closed = True
        self._queue.put_nowait(STOP)
        await finish(self._task)
        if self._announcer:
            self._announcements.put_nowait(STOP)  # after everything committed
            await finish(self._announcer)

    async def submit(self, pending: PendingOrder) -> Outcome:
        if self._closed:  # shutting down: the buyer retries (on another worker, or after restart)
            pending.future = asyncio.get_running_loop().create_future()
            await self._settle([pending], {id(pending): Outcome("rejected",
                                                                code="service_unavailable")})
            return pending.future.result()
        pending.future = asyncio.get_running_loop().create_future()
        self.inflight[pending.pair] = pending.future
        self._queue.put_nowait(pending)
        try:
            return await asyncio.shield(pending.future)
        finally:
            if self.inflight.get(pending.pair) is pending.future:
                del self.inflight[pending.pair]

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await take_batch(self._queue, self.batch_max)
            if not batch:
                continue
            try:
                await self._process(batch)
            except Exception:
                log.exception("order batch failed")
                await self._settle(batch, {id(p): Outcome("rejected", code="service_unavailable")
                                           for p in batch})

    async def _process(self, batch: list[PendingOrder]) -> None:
        for attempt in range(3):
            try:
                outcomes = await self._commit(batch)
                break
            except _StockConflict:
                if len(batch) == 1:
                    outcomes = {id(batch[0]): Outcome("rejected", code=await self._diagnose(
                        batch[0]))}
                    break
                # The database disagrees with the gate for some item: settle one by one.
                for pending in batch:
                    await self._process([pending])
                return
            except (IntegrityError, OperationalError):
                # A concurrent worker inserted the same idempotency key, or the database was
                # briefly locked: retry; the duplicate check runs again inside the transaction.
                if attempt == 2:
                    raise
        await self._settle(batch, outcomes)

    async def _commit(self, batch: list[PendingOrder]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        created: list[PendingOrder] = []
        async with self.db.write() as uow:
            conn = uow.conn
            existing = await _existing_orders(conn, [p.pair for p in batch])
            primary = _first_of_each_key(batch, existing, outcomes)
            fresh = list(primary.values())
            by_item: dict[int, list[PendingOrder]] = defaultdict(list)
            for pending in fresh:
                by_item[pending.facts.item_id].append(pending)
            now = max(p.created_at for p in batch)
            remaining_after: dict[int, int] = {}
            for item_id, group in by_item.items():
                accepted = await self._add_to_buyer_counts(conn, group)
                passed = {id(p) for p in accepted}
                for pending in group:
                    if id(pending) not in passed:
                        outcomes[id(pending)] = Outcome("rejected", code="over_limit")
                total = sum(p.quantity for p in accepted)
                if total:
                    remaining_after[item_id] = await _take_stock(conn, item_id, total, now)
                    created.extend(accepted)
            if created:
                await _insert_orders(conn, created, outcomes)
        for pending in batch:  # in-batch duplicates get their primary's answer
            if id(pending) not in outcomes:
                first = outcomes[id(primary[pending.pair])]
                outcomes[id(pending)] = Outcome("existing", first.order) if first.order else first
        self.batches += 1
        self.orders_written += len(created)
        if created and self.announce:
            uow_items = [{"item_id": i, "session_id": by_item[i][0].facts.session_id,
                          "shop_id": by_item[i][0].facts.shop_id, "stock_remaining": r}
                         for i, r in remaining_after.items()]
            created_orders = [outcomes[id(p)].order for p in created]
            self._announcements.put_nowait((uow_items, created_orders))
        return outcomes

    async def _add_to_buyer_counts(self, conn: AsyncConnection,
                                   group: list[PendingOrder]) -> list[PendingOrder]:
        """Count each pending order of one item against its buyer's limit, in the database:
        one conditional upsert per round (a buyer appears at most once per round, as one
        statement may not touch a row twice). RETURNING names the rows that passed."""
        limit = group[0].facts.per_buyer_limit
        rounds: list[list[PendingOrder]] = []
        seen: dict[int, int] = defaultdict(int)
        for pending in group:
            if pending.quantity > limit:
                continue
            index = seen[pending.buyer_id]
            seen[pending.buyer_id] += 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(pending)
        dialect_insert = sqlite.insert if self.db.is_sqlite else postgresql.insert
        accepted: list[PendingOrder] = []
        # One statement, compiled once and cached, executed for all rows of a round
        # (insertmanyvalues): a multi-row .values([...]) was compiled anew for every batch, which
        # cost more CPU than anything else in the writer (bench/flash_sale.py, docs/benchmarks.md).
        stmt = dialect_insert(buyer_item_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=[buyer_item_counts.c.lineup_item_id, buyer_item_counts.c.buyer_id],
            set_={"quantity": buyer_item_counts.c.quantity + stmt.excluded.quantity},
            where=buyer_item_counts.c.quantity + stmt.excluded.quantity <= limit,
        ).returning(buyer_item_counts.c.buyer_id)
        for members in rounds:
            result = await conn.execute(stmt, [
                {"lineup_item_id": p.facts.item_id, "buyer_id": p.buyer_id,
                 "quantity": p.quantity} for p in members])
            passed = {row.buyer_id for row in result}
            accepted.extend(p for p in members if p.buyer_id in passed)
        return accepted

    async def _diagnose(self, pending: PendingOrder) -> str:
        async with self.db.read() as conn:
            row = (await conn.execute(
                select(lineup_items.c.stock_remaining, lineup_items.c.sale_starts_at,
                       lineup_items.c.sale_ends_at, live_sessions.c.status)
                .join(live_sessions, live_sessions.c.id == lineup_items.c.session_id)
                .where(lineup_items.c.id == pending.facts.item_id))).one()
        now = pending.created_at
        if row.status == "ended" or now > row.sale_ends_at:
            return "sale_ended"
        if row.status != "live" or now < row.sale_starts_at:
            return "sale_not_started"
        return "sold_out"

    async def _settle(self, batch: list[PendingOrder], outcomes: dict[int, Outcome]) -> None:
        confirmed: dict[int, list[Reservation]] = defaultdict(list)
        for pending in batch:
            outcome = outcomes[id(pending)]
            reservation = pending.reservation
            if reservation is not None and reservation.is_reserved:
                if outcome.kind == "created":
                    confirmed[pending.facts.item_id].append(reservation)
                else:
                    await _quietly(self.gate.release(pending.facts.item_id, pending.buyer_id,
                                                     pending.quantity, reservation))
            if not pending.future.done():
                pending.future.set_result(outcome)
        for item_id, reservations in confirmed.items():
            await _quietly(self.gate.confirm(item_id, reservations))


def _first_of_each_key(batch: list[PendingOrder], existing: dict[tuple[int, str], Any],
                       outcomes: dict[int, Outcome]) -> dict[tuple[int, str], PendingOrder]:
    """The first request of each (buyer, key) not already in the database. Repeats of a key
    already stored are answered with its order now; repeats within the batch later."""
    primary: dict[tuple[int, str], PendingOrder] = {}
    for pending in batch:
        if pending.pair in existing:
            outcomes[id(pending)] = Outcome("existing", existing[pending.pair])
        elif pending.pair not in primary:
            primary[pending.pair] = pending
    return primary


async def _insert_orders(conn: AsyncConnection, created: list[PendingOrder],
                         outcomes: dict[int, Outcome]) -> None:
    """One multi-row INSERT … RETURNING for the orders, one for their OrderPlaced events."""
    rows = [_order_values(p) for p in created]
    result = await conn.execute(
        insert(orders).returning(orders.c.id, sort_by_parameter_order=True), rows)
    ids = [r.id for r in result]
    await conn.execute(insert_events(conn), [
        {"type": "OrderPlaced", "shop_id": p.facts.shop_id, "session_id": p.facts.session_id,
         "order_id": order_id, "occurred_at": p.created_at,
         "payload": {"item_id": p.facts.item_id, "sku_id": p.facts.sku_id,
                     "buyer_id": p.buyer_id, "quantity": p.quantity,
                     "unit_price": p.facts.live_price,
                     "amount": p.quantity * p.facts.live_price}}
        for p, order_id in zip(created, ids, strict=True)])
    for pending, order_id, values in zip(created, ids, rows, strict=True):
        outcomes[id(pending)] = Outcome("created", order_row_view({"id": order_id, **values}))


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:  # the gate is an accelerator; the database already decided
        log.exception("best-effort step after the database decided failed")


async def _existing_orders(
    conn: AsyncConnection, pairs: list[tuple[int, str]]
) -> dict[tuple[int, str], dict[str, Any]]:
    found: dict[tuple[int, str], dict[str, Any]] = {}
    unique = list(set(pairs))
    for start in range(0, len(unique), 200):
        chunk = unique[start:start + 200]
        rows = await conn.execute(select(orders).where(
            tuple_(orders.c.buyer_id, orders.c.idempotency_key).in_(chunk)))
        for row in rows:
            found[(row.buyer_id, row.idempotency_key)] = order_row_view(row)
    return found


async def _take_stock(conn: AsyncConnection, item_id: int, total: int, now: datetime) -> int:
    session_live = exists().where(live_sessions.c.id == lineup_items.c.session_id,
                                  live_sessions.c.status == "live")
    result = await conn.execute(
        update(lineup_items)
        .where(lineup_items.c.id == item_id, lineup_items.c.stock_remaining >= total,
               lineup_items.c.sale_starts_at <= now, lineup_items.c.sale_ends_at >= now,
               session_live)
        .values(stock_remaining=lineup_items.c.stock_remaining - total)
        .returning(lineup_items.c.stock_remaining))
    row = result.first()
    if row is None:
        raise _StockConflict(item_id)
    return int(row.stock_remaining)


def _order_values(pending: PendingOrder) -> dict[str, Any]:
    facts = pending.facts
    return {
        "buyer_id": pending.buyer_id, "shop_id": facts.shop_id, "session_id": facts.session_id,
        "lineup_item_id": facts.item_id, "sku_id": facts.sku_id, "quantity": pending.quantity,
        "unit_price": facts.live_price, "amount": facts.live_price * pending.quantity,
        "status": "pending_payment", "idempotency_key": pending.key,
        "snapshot": facts.snapshot_at(pending.created_at), "created_at": pending.created_at,
        "expires_at": pending.expires_at,
    }


async def commit_naive(db: Database, pending: PendingOrder) -> Outcome:
    """The benchmark baseline: one transaction per request that locks the lineup row
    (`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), checks, then writes."""
    async with db.write() as uow:
        conn = uow.conn
        existing = await _existing_orders(conn, [pending.pair])
        if existing:
            return Outcome("existing", existing[pending.pair])
        item = (await conn.execute(select(lineup_items.c.stock_remaining)
                                   .where(lineup_items.c.id == pending.facts.item_id)
                                   .with_for_update())).one()
        bought = (await conn.execute(select(buyer_item_counts.c.quantity).where(
            buyer_item_counts.c.lineup_item_id == pending.facts.item_id,
            buyer_item_counts.c.buyer_id == pending.buyer_id))).scalar() or 0
        if bought + pending.quantity > pending.facts.per_buyer_limit:
            return Outcome("rejected", code="over_limit")
        if item.stock_remaining < pending.quantity:
            return Outcome("rejected", code="sold_out")
        await conn.execute(update(lineup_items).where(lineup_items.c.id == pending.facts.item_id)
                           .values(stock_remaining=item.stock_remaining - pending.quantity))
        dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
        stmt = dialect_insert(buyer_item_counts).values(
            lineup_item_id=pending.facts.item_id, buyer_id=pending.buyer_id,
            quantity=pending.quantity)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[buyer_item_counts.c.lineup_item_id, buyer_item_counts.c.buyer_id],
            set_={"quantity": buyer_item_counts.c.quantity + stmt.excluded.quantity}))
        values = _order_values(pending)
        order_id = (await conn.execute(insert(orders).values(**values)
                                       .returning(orders.c.id))).scalar_one()
        await conn.execute(insert_events(conn).values(
            type="OrderPlaced", shop_id=pending.facts.shop_id,
            session_id=pending.facts.session_id, order_id=order_id,
            occurred_at=pending.created_at,
            payload={"item_id": pending.facts.item_id, "sku_id": pending.facts.sku_id,
                     "buyer_id": pending.buyer_id, "quantity": pending.quantity,
                     "unit_price": pending.facts.live_price,
                     "amount": pending.quantity * pending.facts.live_price}))
        return Outcome("created", order_row_view({"id": order_id, **values}))
