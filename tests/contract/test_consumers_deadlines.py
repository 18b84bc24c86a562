"""Event consumers and durable deadlines, on SQLite and PostgreSQL (infra/consumers.py,
infra/deadlines.py). A handler's effects go to a table whose primary key refuses a second
insert of the same event or deadline, so "handled twice" fails the test instead of hiding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from livepledge.infra import deadlines as deadline_api
from livepledge.infra.consumers import ConsumerRunner, Event, lag
from livepledge.infra.db import Database, UnitOfWork, async_url
from livepledge.infra.deadlines import DeadlineRunner
from livepledge.infra.events import record_event
from tests.conftest import _migrated

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def _open(url: str) -> Database:
    await asyncio.to_thread(_migrated, url)
    database = Database(async_url(url))
    async with database.write() as uow:
        await uow.conn.execute(text("CREATE TABLE seen (ref BIGINT PRIMARY KEY, kind TEXT)"))
    return database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await _open(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    """PostgreSQL only: what SQLite's single writer makes impossible (concurrent writers,
    several worker processes)."""
    database = await _open(pg_url)
    yield database
    await database.dispose()


async def _write(db: Database, count: int, type_: str = "Thing") -> None:
    async with db.write() as uow:
        for n in range(count):
            await record_event(uow, type_, NOW, payload={"n": n})


async def _seen(db: Database) -> list[int]:
    async with db.read() as conn:
        return [int(r[0]) for r in await conn.execute(text("SELECT ref FROM seen ORDER BY ref"))]


async def _event_ids(db: Database, type_: str = "Thing") -> list[int]:
    async with db.read() as conn:
        return [int(r[0]) for r in await conn.execute(
            text("SELECT id FROM events WHERE type = :t ORDER BY id"), {"t": type_})]


class Recorder:
    """Inserts each event's id into `seen`, in the consumer's transaction."""

    def __init__(self, name: str = "recorder", fail_on: int | None = None) -> None:
        self.name = name
        self.types = frozenset({"Thing"})
        self.fail_on = fail_on
        self.order: list[int] = []

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        await uow.conn.execute(text("INSERT INTO seen (ref, kind) VALUES (:r, 'event')"),
                               {"r": event.id})
        if event.payload.get("n") == self.fail_on:
            self.fail_on = None
            raise RuntimeError("handler failed")
        self.order.append(event.id)


async def test_a_consumer_reads_each_wanted_event_once_in_order(db: Database):
    await _write(db, 7)
    await _write(db, 3, type_="Other")
    await _write(db, 5)
    recorder = Recorder()
    runner = ConsumerRunner(db, [recorder], batch=4)

    assert await runner.drain(recorder) == 15  # every event read, the others only skipped
    assert await runner.drain(recorder) == 0
    wanted = await _event_ids(db)
    assert recorder.order == wanted and await _seen(db) == wanted
    assert await lag(db, "recorder") == 0
    await _write(db, 2)
    assert await lag(db, "recorder") == 2
    await runner.drain(recorder)
    assert await _seen(db) == await _event_ids(db)


async def test_a_batch_holds_at_most_its_size_of_wanted_events_and_skips_the_rest_cheaply(
        db: Database):
    await _write(db, 1)
    await _write(db, 3, type_="Other")
    await _write(db, 2)
    await _write(db, 2, type_="Other")
    recorder = Recorder()
    runner = ConsumerRunner(db, [recorder], batch=2, scan=5)
    ids = await _event_ids(db)
    # read: Thing, Other, Other, Other, Thing — two wanted, the batch is full at the 5th row
    assert await runner.run_once(recorder) == 5
    assert recorder.order == ids[:2]
    # then Thing, Other, Other (the scan ends with the events)
    assert await runner.run_once(recorder) == 3
    assert recorder.order == ids
    assert await runner.run_once(recorder) == 0
    assert await lag(db, "recorder") == 0
    await _write(db, 5)
    # five wanted in a scan of five: the batch of two stops before the third
    assert await runner.run_once(recorder) == 2
    assert await lag(db, "recorder") == 3


async def test_the_loop_takes_consumers_in_turn_a_batch_at_a_time(db: Database):
    """Under a stream of events no consumer waits for another to catch up: the background loop
    gives each a batch in turn (three batches of two each, then one empty look each)."""
    class Noting(Recorder):  # both read the same events: only note them
        async def handle(self, uow: UnitOfWork, event: Event) -> None:
            self.order.append(event.id)

    await _write(db, 6)
    first, second = Noting("first"), Noting("second")
    runner = ConsumerRunner(db, [first, second], batch=2)
    turns: list[str] = []
    run_once = runner.run_once

    async def noted(consumer):  # type: ignore[no-untyped-def]
        turns.append(consumer.name)
        return await run_once(consumer)

    runner.run_once = noted  # type: ignore[method-assign]
    await runner.catch_up()  # what the background loop does at each poll
    assert (await lag(db, "first"), await lag(db, "second")) == (0, 0)
    assert turns == ["first", "second"] * 4
    assert first.order == second.order == await _event_ids(db)


async def test_a_failed_batch_applies_nothing_and_is_tried_again(db: Database):
    await _write(db, 6)
    recorder = Recorder(fail_on=4)
    runner = ConsumerRunner(db, [recorder], batch=10)

    with pytest.raises(RuntimeError):
        await runner.drain(recorder)
    assert await _seen(db) == []  # the handler's inserts rolled back with the batch
    assert await lag(db, "recorder") == 6

    assert await runner.drain(recorder) == 6
    assert await _seen(db) == await _event_ids(db)


async def test_a_second_runner_continues_from_the_checkpoint(db: Database):
    await _write(db, 5)
    first = Recorder()
    assert await ConsumerRunner(db, [first], batch=2).run_once(first) == 2
    await _write(db, 2)
    again = Recorder()  # a restarted worker
    assert await ConsumerRunner(db, [again], batch=100).drain(again) == 5
    assert first.order + again.order == await _event_ids(db) == await _seen(db)


async def test_an_event_committed_late_is_not_skipped(pg_db: Database):
    """PostgreSQL hands out ids before commit: id N may commit after N+1 was read."""
    db = pg_db
    recorder = Recorder()
    runner = ConsumerRunner(db, [recorder])
    async with db.write() as early:  # takes its id first and commits last
        await record_event(early, "Thing", NOW, payload={"n": "early"})
        await _write(db, 1)  # a later id, committed first
        assert await runner.drain(recorder) == 0  # nothing is read past a running writer
        assert await _seen(db) == []
    await runner.drain(recorder)
    ids = await _event_ids(db)
    assert await _seen(db) == ids and sorted(recorder.order) == ids and len(ids) == 2


async def test_two_workers_never_handle_an_event_twice(pg_url: str, pg_db: Database):
    db = pg_db
    other = Database(async_url(pg_url))
    try:
        recorders = [Recorder(), Recorder()]
        runners = [ConsumerRunner(db, [recorders[0]], batch=7),
                   ConsumerRunner(other, [recorders[1]], batch=7)]

        async def write_all() -> None:
            for _ in range(20):
                await _write(db, 5)
                await asyncio.sleep(0)

        async def consume(runner: ConsumerRunner, recorder: Recorder) -> None:
            for _ in range(200):
                await runner.run_once(recorder)
                await asyncio.sleep(0)

        await asyncio.gather(write_all(), *(consume(r, c) for r, c in zip(runners, recorders,
                                                                             strict=True)))
        await runners[0].drain(recorders[0])
        ids = await _event_ids(db)
        assert len(ids) == 100
        assert await _seen(db) == ids  # the primary key would have refused a second insert
        assert sorted(recorders[0].order + recorders[1].order) == ids
    finally:
        await other.dispose()


class Marker:
    """A deadline kind whose effect is a row in `seen`."""

    def __init__(self, kind: str = "test_due", fail_for: set[int] | None = None) -> None:
        self.kind = kind
        self.fail_for = fail_for or set()
        self.fired: list[int] = []

    async def fire(self, uow: UnitOfWork, ref_id: int, payload: dict[str, Any],
                   now: datetime) -> str:
        await uow.conn.execute(text("INSERT INTO seen (ref, kind) VALUES (:r, 'deadline')"),
                               {"r": ref_id})
        if ref_id in self.fail_for:
            raise RuntimeError("handler failed")
        self.fired.append(ref_id)
        return f"done {payload.get('note', '')}".strip()


async def _schedule(db: Database, *entries: tuple[int, datetime]) -> None:
    async with db.write() as uow:
        for ref_id, due in entries:
            assert await deadline_api.schedule(uow, "test_due", ref_id, due, NOW,
                                               {"note": str(ref_id)})


async def _deadlines(db: Database) -> dict[int, tuple[bool, bool, str | None]]:
    async with db.read() as conn:
        rows = await conn.execute(text(
            "SELECT ref_id, fired_at IS NOT NULL, cancelled_at IS NOT NULL, outcome "
            "FROM deadlines ORDER BY ref_id"))
        return {int(r[0]): (bool(r[1]), bool(r[2]), r[3]) for r in rows}


async def test_deadlines_fire_once_when_due_and_never_when_cancelled(db: Database):
    # Due while "the server was down": they fire on the first run after it.
    await _schedule(db, (1, NOW - timedelta(hours=2)), (2, NOW), (3, NOW + timedelta(minutes=5)),
                    (4, NOW - timedelta(minutes=1)))
    async with db.write() as uow:
        assert await deadline_api.cancel(uow, "test_due", 4, NOW)
        assert not await deadline_api.schedule(uow, "test_due", 1, NOW, NOW)  # one per ref
    marker = Marker()
    runner = DeadlineRunner(db, {"test_due": marker})

    assert await runner.run_once(NOW) == 2
    assert await runner.run_once(NOW) == 0
    assert marker.fired == [1, 2]
    assert await runner.run_once(NOW + timedelta(minutes=5)) == 1
    assert marker.fired == [1, 2, 3] and await _seen(db) == [1, 2, 3]
    assert await _deadlines(db) == {1: (True, False, "done 1"), 2: (True, False, "done 2"),
                                    3: (True, False, "done 3"), 4: (False, True, None)}
    async with db.write() as uow:  # fired already: nothing to cancel
        assert not await deadline_api.cancel(uow, "test_due", 1, NOW)


async def test_a_failing_deadline_holds_back_only_itself(db: Database):
    await _schedule(db, (1, NOW), (2, NOW), (3, NOW))
    marker = Marker(fail_for={2})
    runner = DeadlineRunner(db, {"test_due": marker})

    assert await runner.run_once(NOW) == 2
    assert await _seen(db) == [1, 3]  # the failed one's effects rolled back to its savepoint
    assert (await _deadlines(db))[2] == (False, False, None)
    marker.fail_for.clear()
    assert await runner.run_once(NOW + timedelta(seconds=1)) == 1
    assert await _seen(db) == [1, 2, 3] and runner.failed == 1


async def test_two_workers_fire_each_deadline_once(pg_url: str, pg_db: Database):
    db = pg_db
    await _schedule(db, *((n, NOW) for n in range(1, 61)))
    other = Database(async_url(pg_url))
    try:
        markers = [Marker(), Marker()]
        runners = [DeadlineRunner(db, {"test_due": markers[0]}, batch=5),
                   DeadlineRunner(other, {"test_due": markers[1]}, batch=5)]

        async def work(runner: DeadlineRunner) -> None:
            while await runner.run_once(NOW):
                await asyncio.sleep(0)

        await asyncio.gather(*(work(r) for r in runners))
        assert sorted(markers[0].fired + markers[1].fired) == list(range(1, 61))
        assert await _seen(db) == list(range(1, 61))
    finally:
        await other.dispose()
