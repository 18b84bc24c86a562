"""Durable deadlines: rows with a due time, fired exactly once in effect.

A deadline (a cooling-off period's end, a promised shipping time, an after-sales answer's due
time) is written in the same transaction as what creates it. A runner in every worker fires
those that are due: it takes them with `FOR UPDATE SKIP LOCKED` on PostgreSQL (several workers
never take the same one; SQLite has one writer), runs the kind's handler and marks the row fired
in the same transaction, each deadline in its own savepoint so that one failing handler holds
back only itself. A deadline that came due while the server was down fires when it is back
(docs/events.md, "Deadlines")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from livepledge.infra import clock
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.models import deadlines

log = logging.getLogger("livepledge.deadlines")


@dataclass(frozen=True)
class Again:
    """A handler's answer when it is too early to act: fire again at `due_at` (the row stays
    unfired, with `outcome` saying why)."""

    due_at: datetime
    outcome: str


class DeadlineHandler(Protocol):
    kind: str

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str | Again:
        """Apply the deadline's effects; return a short outcome for the record (or `Again`:
        not yet)."""
        ...


async def schedule(uow: UnitOfWork, kind: str, ref_id: int, due_at: datetime, now: datetime,
                   payload: dict[str, Any] | None = None) -> bool:
    """Set a deadline for (kind, ref_id), in the caller's transaction. One per (kind, ref_id):
    a second schedule leaves the first as it is and returns False."""
    insert = pg_insert if uow.conn.dialect.name == "postgresql" else sqlite_insert
    result = await uow.conn.execute(insert(deadlines).values(
        kind=kind, ref_id=ref_id, due_at=due_at, payload=payload or {}, created_at=now)
        .on_conflict_do_nothing(index_elements=["kind", "ref_id"]))
    return bool(result.rowcount == 1)


async def reschedule(uow: UnitOfWork, kind: str, ref_id: int, due_at: datetime | None,
                     now: datetime, payload: dict[str, Any] | None = None) -> None:
    """Set (kind, ref_id)'s deadline to `due_at` whatever it was — unfired again — or cancel
    it (None). For something that moves through steps, each with its own due time (an
    after-sales case); its handler checks that the step it was set for is still current."""
    if due_at is None:
        await cancel(uow, kind, ref_id, now)
        return
    if not await schedule(uow, kind, ref_id, due_at, now, payload):
        await uow.conn.execute(update(deadlines).where(
            deadlines.c.kind == kind, deadlines.c.ref_id == ref_id).values(
            due_at=due_at, payload=payload or {}, fired_at=None, cancelled_at=None,
            outcome=None))


async def cancel(uow: UnitOfWork, kind: str, ref_id: int, now: datetime) -> bool:
    """The deadline no longer matters (the order shipped in time, ...). False when it already
    fired or was cancelled."""
    result = await uow.conn.execute(update(deadlines).where(
        deadlines.c.kind == kind, deadlines.c.ref_id == ref_id, deadlines.c.fired_at.is_(None),
        deadlines.c.cancelled_at.is_(None)).values(cancelled_at=now))
    return bool(result.rowcount == 1)


class DeadlineRunner:
    def __init__(self, db: Database, handlers: Mapping[str, DeadlineHandler], *,
                 batch: int = 100, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.handlers = dict(handlers)
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.fired = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> int:
        """Fire what is due at `now`; returns how many fired."""
        now = now or clock.utcnow()
        fired = 0
        async with self.db.write() as uow:
            query = (select(deadlines).where(
                deadlines.c.fired_at.is_(None), deadlines.c.cancelled_at.is_(None),
                deadlines.c.due_at <= now, deadlines.c.kind.in_(list(self.handlers)))
                .order_by(deadlines.c.due_at, deadlines.c.id).limit(self.batch))
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            for row in (await uow.conn.execute(query)).all():
                try:
                    async with uow.conn.begin_nested():
                        outcome = await self.handlers[row.kind].fire(
                            uow, int(row.ref_id), dict(row.payload), now)
                        if isinstance(outcome, Again):
                            await uow.conn.execute(update(deadlines).where(
                                deadlines.c.id == row.id).values(
                                due_at=outcome.due_at, outcome=outcome.outcome[:200]))
                            continue
                        await uow.conn.execute(update(deadlines).where(
                            deadlines.c.id == row.id).values(fired_at=now,
                                                             outcome=outcome[:200]))
                    fired += 1
                except Exception:
                    self.failed += 1
                    log.exception("deadline %s %s (ref %s) failed; retrying later", row.id,
                                  row.kind, row.ref_id)
        self.fired += fired
        return fired

    def start(self) -> None:
        if self.handlers and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="deadlines")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                while await self.run_once() == self.batch:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline runner failed; retrying")
            await asyncio.sleep(self.poll_seconds)
