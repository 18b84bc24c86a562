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
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson
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

    # (indices of the promises in force) -> (snapshot, its JSON text): an item's orders share
    # one snapshot per set of promises in force, built and encoded once.
    _snapshots: dict[tuple[int, ...], tuple[dict[str, Any], str]] = field(
        default_factory=dict, compare=False, repr=False)

    def snapshot_at(self, at: datetime) -> dict[str, Any]:
        return {**self.snapshot, "promises": [
            copy for starts, ends, copy in self.promises
            if starts <= at and (ends is None or at < ends)]}

    def snapshot_json_at(self, at: datetime) -> tuple[dict[str, Any], str]:
        """`snapshot_at(at)` and its JSON text, shared by every order placed under the same
        promises (treat both as read-only)."""
        in_force = tuple(i for i, (starts, ends, _) in enumerate(self.promises)
                         if starts <= at and (ends is None or at < ends))
        cached = self._snapshots.get(in_force)
        if cached is None:
            snapshot = {**self.snapshot,
                        "promises": [self.promises[i][2] for i in in_force]}
            cached = self._snapshots[in_force] = (snapshot, orjson.dumps(snapshot).decode())
        return cached


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
                 announce: Any = None, fast: bool = True) -> None:
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
        # Batches of the common shape are written by the fast path (below); False: always the
        # careful path (tests compare both).
        self.fast = fast
        self.fast_misses = 0  # batches the fast path handed to the careful path

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
        plans = _plan(batch) if self.fast else None
        if plans is not None:
            try:
                outcomes = await self._commit_fast(plans, batch)
            except _FastPathMiss:
                self.fast_misses += 1
            except (IntegrityError, OperationalError, sqlite3.Error, asyncpg.PostgresError):
                # e.g. a key already used (unique violation), a deadlock between workers: the
                # transaction was rolled back; the careful path looks and decides.
                self.fast_misses += 1
            else:
                return outcomes
        return await self._commit_careful(batch)

    async def _commit_fast(self, plans: list[_ItemPlan],
                           batch: list[PendingOrder]) -> dict[int, Outcome]:
        now = max(p.created_at for p in batch)
        async with self.db.writer.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            if self.db.is_sqlite:
                # aiosqlite runs each call on the connection's own thread; this runs the whole
                # transaction there in one call (aiosqlite is pinned in pyproject.toml).
                ids, remaining = await driver._execute(_place_sqlite, driver._conn, plans, now)
            else:
                # An explicit transaction even for one statement: a statement sent in autocommit
                # would still commit after this worker died if it was blocked at that moment (on
                # a row lock, say), behind the back of the dead-worker recovery that takes such
                # orders as never written (tests/race/test_dead_worker_race.py). A transaction
                # commits only on this worker's COMMIT.
                try:
                    async with driver.transaction():
                        ids, remaining = await _place_pg(driver, plans, now)
                except asyncpg.DivisionByZeroError as refused:
                    raise _FastPathMiss from refused
        outcomes: dict[int, Outcome] = {}
        created: list[PendingOrder] = []
        for plan in plans:
            for pending in plan.pendings:
                snapshot = plan.facts.snapshot_json_at(pending.created_at)[0]
                outcomes[id(pending)] = Outcome("created", _created_view(
                    ids[id(pending)], pending, snapshot))
                created.append(pending)
        self._committed(created, outcomes, remaining)
        return outcomes

    def _committed(self, created: list[PendingOrder], outcomes: dict[int, Outcome],
                   remaining_after: dict[int, int]) -> None:
        self.batches += 1
        self.orders_written += len(created)
        if created and self.announce:
            facts = {p.facts.item_id: p.facts for p in created}
            items = [{"item_id": i, "session_id": facts[i].session_id,
                      "shop_id": facts[i].shop_id, "stock_remaining": r}
                     for i, r in remaining_after.items()]
            self._announcements.put_nowait((items, [outcomes[id(p)].order for p in created]))

    async def _commit_careful(self, batch: list[PendingOrder]) -> dict[int, Outcome]:
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
        self._committed(created, outcomes, remaining_after)
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


# --- the fast path ---------------------------------------------------------------------------
#
# What almost every batch of a flash sale is: distinct (buyer, key) pairs, each buyer within the
# limit even counting all of its orders of the batch, and stock for all of them (the gate checked
# both). Such a batch is written with fixed statements at the driver level, without SQLAlchemy's
# per-execution compilation and result machinery (bench/flash_sale.py measured that as most of
# the server CPU of a successful press):
#   PostgreSQL: ONE statement per lineup item of the batch (per-buyer count upsert, conditional
#   stock update, orders INSERT and their OrderPlaced events as data-modifying CTEs over unnest()
#   arrays), prepared once per connection by asyncpg, between BEGIN and COMMIT;
#   SQLite: the whole transaction in one call on the writer connection's own thread (BEGIN
#   IMMEDIATE, executemany of each statement, COMMIT), instead of one thread hop per statement.
# The database checks exactly what the careful path checks (limit in the upsert's WHERE, stock
# and sale window in the UPDATE's WHERE, the (buyer, key) unique constraint). When any of them
# refuses, or the batch is not of that shape, the transaction is rolled back and the batch goes
# to the careful path (`_commit_careful`), which decides order by order. Answers are built from
# the values already known plus the ids; nothing is read back but the ids.


class _FastPathMiss(Exception):
    """The database refused something in the fast path: the careful path decides."""


@dataclass
class _ItemPlan:
    facts: ItemFacts
    pendings: list[PendingOrder]
    buyers: dict[int, int]  # buyer -> units of this batch
    total: int


def _plan(batch: list[PendingOrder]) -> list[_ItemPlan] | None:
    """The batch grouped by item, or None when it is not of the fast path's shape."""
    pairs: set[tuple[int, str]] = set()
    plans: dict[int, _ItemPlan] = {}
    for pending in batch:
        pair = pending.pair
        if pair in pairs:
            return None
        pairs.add(pair)
        facts = pending.facts
        plan = plans.get(facts.item_id)
        if plan is None:
            plan = plans[facts.item_id] = _ItemPlan(facts, [], {}, 0)
        plan.pendings.append(pending)
        units = plan.buyers.get(pending.buyer_id, 0) + pending.quantity
        if units > facts.per_buyer_limit:
            return None
        plan.buyers[pending.buyer_id] = units
        plan.total += pending.quantity
    return list(plans.values())


def _created_view(order_id: int, pending: PendingOrder, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The answer of a created order: the same keys and values as `order_row_view` of
    `{"id": ..., **_order_values(pending)}`, built without it."""
    facts = pending.facts
    return {
        "id": order_id, "buyer_id": pending.buyer_id, "shop_id": facts.shop_id,
        "session_id": facts.session_id, "lineup_item_id": facts.item_id, "sku_id": facts.sku_id,
        "quantity": pending.quantity, "unit_price": facts.live_price,
        "amount": facts.live_price * pending.quantity, "status": "pending_payment",
        "idempotency_key": pending.key, "snapshot": snapshot,
        "created_at": pending.created_at.isoformat(), "expires_at": pending.expires_at.isoformat(),
    }


_PG_PLACE = """
WITH counted AS (
  INSERT INTO buyer_item_counts (lineup_item_id, buyer_id, quantity)
  SELECT $1::bigint, u.buyer_id, u.quantity
  FROM unnest($2::bigint[], $3::int[]) AS u(buyer_id, quantity)
  ON CONFLICT (lineup_item_id, buyer_id) DO UPDATE
  SET quantity = buyer_item_counts.quantity + excluded.quantity
  WHERE buyer_item_counts.quantity + excluded.quantity <= $4::int
  RETURNING 1
), stock AS (
  UPDATE lineup_items SET stock_remaining = stock_remaining - $5::int
  WHERE id = $1::bigint AND stock_remaining >= $5::int
    AND sale_starts_at <= $6::timestamptz AND sale_ends_at >= $6::timestamptz
    AND EXISTS (SELECT 1 FROM live_sessions s
                WHERE s.id = lineup_items.session_id AND s.status = 'live')
  RETURNING stock_remaining
), placed AS (
  INSERT INTO orders (buyer_id, shop_id, session_id, lineup_item_id, sku_id, quantity,
                      unit_price, amount, status, idempotency_key, snapshot, created_at,
                      expires_at)
  SELECT o.buyer_id, $7::bigint, $8::bigint, $1::bigint, $9::bigint, o.quantity, $10::bigint,
         $10::bigint * o.quantity, 'pending_payment', o.key, o.snapshot, o.created_at,
         o.expires_at
  FROM unnest($11::bigint[], $12::int[], $13::text[], $14::json[], $15::timestamptz[],
              $16::timestamptz[]) WITH ORDINALITY
       AS o(buyer_id, quantity, key, snapshot, created_at, expires_at, n)
  ORDER BY o.n
  RETURNING id, buyer_id, idempotency_key, quantity, created_at
), announced AS (
  INSERT INTO events (type, shop_id, session_id, order_id, payload, occurred_at, tx)
  SELECT 'OrderPlaced', $7::bigint, $8::bigint, p.id,
         json_build_object('item_id', $1::bigint, 'sku_id', $9::bigint, 'buyer_id', p.buyer_id,
                           'quantity', p.quantity, 'unit_price', $10::bigint,
                           'amount', $10::bigint * p.quantity),
         p.created_at, pg_current_xact_id()::text::bigint
  FROM placed p ORDER BY p.id
)
SELECT p.id, p.buyer_id, p.idempotency_key,
       (SELECT count(*) FROM counted) AS counted,
       (SELECT stock_remaining FROM stock) AS remaining,
       1 / ((SELECT count(*) FROM counted) = $17::bigint
            AND EXISTS (SELECT 1 FROM stock))::int AS all_taken
FROM placed p
"""
# The last column fails the statement (division by zero) when a buyer's count or the stock
# update was refused, so that the statement undoes itself at once.


async def _place_pg(driver: Any, plans: list[_ItemPlan], now: datetime
                    ) -> tuple[dict[int, int], dict[int, int]]:
    """(id of each pending order by id(pending), stock remaining by item), in the caller's
    transaction; raises _FastPathMiss when the database refuses."""
    ids: dict[int, int] = {}
    remaining: dict[int, int] = {}
    for plan in plans:
        facts = plan.facts
        buyers = sorted(plan.buyers.items())  # the same lock order in every worker
        pendings = plan.pendings
        rows = await driver.fetch(
            _PG_PLACE, facts.item_id, [b for b, _ in buyers], [q for _, q in buyers],
            facts.per_buyer_limit, plan.total, now, facts.shop_id, facts.session_id,
            facts.sku_id, facts.live_price, [p.buyer_id for p in pendings],
            [p.quantity for p in pendings], [p.key for p in pendings],
            [facts.snapshot_json_at(p.created_at)[1] for p in pendings],
            [p.created_at for p in pendings], [p.expires_at for p in pendings], len(buyers))
        if (len(rows) != len(pendings) or rows[0]["counted"] != len(buyers)
                or rows[0]["remaining"] is None):
            raise _FastPathMiss
        by_pair = {(r["buyer_id"], r["idempotency_key"]): r["id"] for r in rows}
        for pending in pendings:
            ids[id(pending)] = by_pair[pending.pair]
        remaining[facts.item_id] = int(rows[0]["remaining"])
    return ids, remaining


_SQLITE_COUNT = (
    "INSERT INTO buyer_item_counts (lineup_item_id, buyer_id, quantity) VALUES (?, ?, ?) "
    "ON CONFLICT (lineup_item_id, buyer_id) DO UPDATE "
    "SET quantity = buyer_item_counts.quantity + excluded.quantity "
    "WHERE buyer_item_counts.quantity + excluded.quantity <= ?")
_SQLITE_STOCK = (
    "UPDATE lineup_items SET stock_remaining = stock_remaining - ? "
    "WHERE id = ? AND stock_remaining >= ? AND sale_starts_at <= ? AND sale_ends_at >= ? "
    "AND EXISTS (SELECT 1 FROM live_sessions s "
    "WHERE s.id = lineup_items.session_id AND s.status = 'live') "
    "RETURNING stock_remaining")
_SQLITE_ORDER = (
    "INSERT INTO orders (id, buyer_id, shop_id, session_id, lineup_item_id, sku_id, quantity, "
    "unit_price, amount, status, idempotency_key, snapshot, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending_payment', ?, ?, ?, ?)")
_SQLITE_EVENT = (
    "INSERT INTO events (id, type, shop_id, session_id, order_id, payload, occurred_at) "
    "VALUES (?, 'OrderPlaced', ?, ?, ?, ?, ?)")

# Datetimes as SQLAlchemy stores them on SQLite (UTCDateTime over sqlite.DATETIME), so that rows
# written here and rows written through SQLAlchemy compare and read back alike.
_sqlite_dialect = sqlite.dialect()
_sqlite_datetime = orders.c.created_at.type.dialect_impl(_sqlite_dialect).bind_processor(
    _sqlite_dialect)


def _place_sqlite(connection: Any, plans: list[_ItemPlan], now: datetime
                  ) -> tuple[dict[int, int], dict[int, int]]:
    """The whole transaction, on the writer connection's thread (one hop from the event loop).
    BEGIN IMMEDIATE holds SQLite's write lock, so ids are max(id) + 1, … as SQLite would give."""
    stamp = _sqlite_datetime
    now_text = stamp(now)
    ids: dict[int, int] = {}
    remaining: dict[int, int] = {}
    cursor = connection.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    try:
        next_order = cursor.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0] + 1
        next_event = cursor.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0] + 1
        for plan in plans:
            facts = plan.facts
            item_id = facts.item_id
            cursor.executemany(_SQLITE_COUNT, [
                (item_id, buyer, units, facts.per_buyer_limit)
                for buyer, units in sorted(plan.buyers.items())])
            if cursor.rowcount != len(plan.buyers):
                raise _FastPathMiss
            row = cursor.execute(_SQLITE_STOCK, (plan.total, item_id, plan.total, now_text,
                                                 now_text)).fetchone()
            if row is None:
                raise _FastPathMiss
            remaining[item_id] = int(row[0])
            order_rows = []
            event_rows = []
            price = facts.live_price
            for pending in plan.pendings:
                created = stamp(pending.created_at)
                amount = price * pending.quantity
                order_rows.append((
                    next_order, pending.buyer_id, facts.shop_id, facts.session_id, item_id,
                    facts.sku_id, pending.quantity, price, amount, pending.key,
                    facts.snapshot_json_at(pending.created_at)[1], created,
                    stamp(pending.expires_at)))
                event_rows.append((
                    next_event, facts.shop_id, facts.session_id, next_order, orjson.dumps({
                        "item_id": item_id, "sku_id": facts.sku_id,
                        "buyer_id": pending.buyer_id, "quantity": pending.quantity,
                        "unit_price": price, "amount": amount}).decode(), created))
                ids[id(pending)] = next_order
                next_order += 1
                next_event += 1
            cursor.executemany(_SQLITE_ORDER, order_rows)
            cursor.executemany(_SQLITE_EVENT, event_rows)
        cursor.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.close()
    return ids, remaining
