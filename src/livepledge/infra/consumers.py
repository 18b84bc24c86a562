"""Event consumers: named readers of the outbox, each from its own durable checkpoint.

A consumer handles the events it wants, in order, at least once; its handler must be idempotent
in effect, and the checkpoint advances in the same transaction as the handler's effects, so a
crash between the two repeats the batch and nothing is lost or applied twice (docs/events.md,
"Consumers").

Order without gaps. On SQLite one transaction writes at a time, so event ids are in commit order
and a consumer reads `id > checkpoint`. On PostgreSQL ids are handed out before commit, so a
transaction holding id 9 may commit after id 10 was read: reading by id alone would skip 9 for
ever. Each event therefore carries the id of its writing transaction (`tx`,
`pg_current_xact_id()`), and a consumer reads by `(tx, id)` only events whose transaction is
older than every transaction still running (`pg_snapshot_xmin`) and than its own: every event
committed later has a larger `tx` than anything already read.

One worker at a time. The checkpoint row is locked for the batch (`FOR UPDATE SKIP LOCKED`): a
second worker skips the consumer while another holds it, and takes over as soon as that worker's
transaction ends, including when the worker dies (its connection closes, the lock goes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from livepledge.infra import clock
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.models import consumer_checkpoints, events

log = logging.getLogger("livepledge.consumers")

# Below every running transaction's id and our own (events we write here come after).
PG_BOUND = literal_column(
    "LEAST(pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
    "pg_current_xact_id()::text::bigint)")


@dataclass(frozen=True)
class Event:
    id: int
    tx: int
    type: str
    shop_id: int | None
    session_id: int | None
    order_id: int | None
    payload: dict[str, Any]
    occurred_at: datetime


class Consumer(Protocol):
    """A consumer may also define `async handle_batch(uow, events)`, called instead of
    `handle` with all the batch's events of its types, in order (settlement/ledger.py)."""

    name: str
    types: frozenset[str]  # the event types it handles; the others only advance its checkpoint

    async def handle(self, uow: UnitOfWork, event: Event) -> None: ...
    # A consumer may also define `handle_batch(uow, events)`: then it is called once per batch
    # with the batch's events it handles, in order, instead of `handle` per event.


class ConsumerRunner:
    def __init__(self, db: Database, consumers: Sequence[Consumer], *, batch: int = 200,
                 bulk_batch: int = 1000, scan: int = 2000, poll_seconds: float = 0.5) -> None:
        """`batch`: events a consumer handles per transaction (`bulk_batch` for one with
        `handle_batch`, which writes a batch in a few statements); `scan`: events read per
        transaction to find them — the others only move the checkpoint, and only their id,
        transaction and type are read."""
        names = [c.name for c in consumers]
        if len(set(names)) != len(names):
            raise ValueError(f"consumer names must be unique: {names}")
        self.db = db
        self.consumers = list(consumers)
        self.batch = batch
        self.bulk_batch = bulk_batch
        self.scan = max(scan, batch, bulk_batch)
        self.poll_seconds = poll_seconds
        self.failures: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def run_once(self, consumer: Consumer) -> int | None:
        """Handle one batch. Returns the number of events read (0: caught up), or None when
        another worker holds the consumer."""
        pg = not self.db.is_sqlite
        async with self.db.write() as uow:
            conn = uow.conn
            checkpoint = await _checkpoint(uow, consumer.name, lock=pg)
            if checkpoint is None:
                return None
            last_tx, last_id = checkpoint
            order = (events.c.tx, events.c.id) if pg else (events.c.id,)
            query = select(events.c.id, events.c.tx, events.c.type).limit(self.scan)
            if pg:
                query = query.where(
                    or_(events.c.tx > last_tx, and_(events.c.tx == last_tx, events.c.id > last_id)),
                    events.c.tx < PG_BOUND)
            else:
                query = query.where(events.c.id > last_id)
            rows = (await conn.execute(query.order_by(*order))).all()
            if not rows:
                return 0
            handle_batch = getattr(consumer, "handle_batch", None)
            most = self.bulk_batch if handle_batch is not None else self.batch
            wanted_ids: list[int] = []
            read = len(rows)
            for n, row in enumerate(rows):
                if row.type in consumer.types:
                    if len(wanted_ids) == most:  # the next batch starts here
                        read = n
                        break
                    wanted_ids.append(row.id)
            wanted = []
            if wanted_ids:
                full = await conn.execute(select(events).where(events.c.id.in_(wanted_ids))
                                          .order_by(*order))
                wanted = [Event(id=row.id, tx=row.tx or 0, type=row.type, shop_id=row.shop_id,
                                session_id=row.session_id, order_id=row.order_id,
                                payload=dict(row.payload),
                                occurred_at=clock.as_utc(row.occurred_at)) for row in full]
            if handle_batch is not None and wanted:
                # A consumer that can take the batch at once (the ledger) writes it in a few
                # statements instead of a few per event; same transaction, same checkpoint.
                await handle_batch(uow, wanted)
            else:
                for event in wanted:
                    await consumer.handle(uow, event)
            handled = len(wanted)
            last = rows[read - 1]
            await conn.execute(update(consumer_checkpoints)
                               .where(consumer_checkpoints.c.name == consumer.name)
                               .values(last_tx=last.tx or 0, last_id=last.id,
                                       handled=consumer_checkpoints.c.handled + handled,
                                       updated_at=clock.utcnow()))
            return read

    async def drain(self, consumer: Consumer) -> int:
        """Run until caught up (tests, and the loop below). Returns events read."""
        total = 0
        while (read := await self.run_once(consumer)):
            total += read
        return total

    async def drain_all(self, *, timeout: float = 30.0) -> int:
        """Every consumer, until caught up (tests wait on this instead of sleeping). On
        PostgreSQL a consumer does not read past a transaction still running anywhere in the
        cluster (the module's docstring), so one pass may stop short: look again until nothing
        is left to read, for at most `timeout` seconds."""
        total = 0
        give_up = time.monotonic() + timeout
        while True:
            for consumer in self.consumers:
                total += await self.drain(consumer)
            if self.db.is_sqlite or time.monotonic() > give_up:
                return total
            if not any([await lag(self.db, c.name) for c in self.consumers]):
                return total
            await asyncio.sleep(0.01)

    def wake(self) -> None:
        """Something was written: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self.consumers and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="event-consumers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def catch_up(self) -> None:
        """A batch per consumer in turn until none has anything left, so that under a steady
        stream of events (a flash sale) no consumer waits for another to catch up. A consumer
        whose batch fails is left until the next poll."""
        busy = list(self.consumers)
        while busy:
            for consumer in list(busy):
                try:
                    if not await self.run_once(consumer):
                        busy.remove(consumer)
                    self.failures.pop(consumer.name, None)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The batch rolled back: nothing of it was applied, the checkpoint did not
                    # move; it is tried again (an event that always fails holds its consumer
                    # back, and says so in the log).
                    busy.remove(consumer)
                    count = self.failures[consumer.name] = self.failures.get(consumer.name, 0) + 1
                    log.exception("consumer %s failed (%d in a row); retrying", consumer.name,
                                  count)

    async def _loop(self) -> None:
        while True:
            await self.catch_up()
            self._wake.clear()
            backoff = min(30.0, self.poll_seconds * (2 ** min(max(self.failures.values(),
                                                                  default=0), 6)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)


async def _checkpoint(uow: UnitOfWork, name: str, *, lock: bool) -> tuple[int, int] | None:
    conn = uow.conn
    query = select(consumer_checkpoints.c.last_tx, consumer_checkpoints.c.last_id).where(
        consumer_checkpoints.c.name == name)
    if lock:
        query = query.with_for_update(skip_locked=True)
    row = (await conn.execute(query)).first()
    if row is not None:
        return int(row.last_tx), int(row.last_id)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = await conn.execute(insert(consumer_checkpoints).values(
        name=name, last_tx=0, last_id=0, handled=0, updated_at=clock.utcnow())
        .on_conflict_do_nothing(index_elements=["name"]))
    if created.rowcount != 1:  # another worker created it this very moment and holds it
        return None
    return 0, 0


async def lag(db: Database, name: str) -> int:
    """Events written that the consumer has not read yet (for metrics and tests)."""
    async with db.read() as conn:
        row = (await conn.execute(select(consumer_checkpoints.c.last_tx,
                                         consumer_checkpoints.c.last_id).where(
            consumer_checkpoints.c.name == name))).first()
        last_tx, last_id = (int(row.last_tx), int(row.last_id)) if row else (0, 0)
        where = (events.c.id > last_id if db.is_sqlite else
                 or_(events.c.tx > last_tx, and_(events.c.tx == last_tx, events.c.id > last_id)))
        return int((await conn.execute(select(func.count()).select_from(events)
                                       .where(where))).scalar_one())

