"""The session record's sequencer, on SQLite and PostgreSQL: each event becomes at most one
entry, in outbox order; several appenders (workers) never fork a log; every checkpoint is a
prefix of every later one, across restarts; a changed stored entry is caught by the
self-audit."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text, update

from livepledge.accounts.models import shops, users
from livepledge.infra.consumers import ConsumerRunner, lag
from livepledge.infra.db import Database, async_url
from livepledge.infra.events import record_event
from livepledge.live.models import live_sessions
from livepledge.record import merkle
from livepledge.record import service as record
from livepledge.record.models import record_alerts, record_checkpoints, record_entries
from livepledge.record.note import Signer
from livepledge.record.verify import consistent, verify_checkpoint
from tests.conftest import _migrated

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
KEY = record.LogKey(Signer.generate("shop.example"))


async def _open(url: str) -> Database:
    await asyncio.to_thread(_migrated, url)
    database = Database(async_url(url))
    async with database.write() as uow:
        user = (await uow.conn.execute(insert(users).values(
            login="anchor", display_name="anchor", password_hash="x", role="anchor",
            created_at=NOW).returning(users.c.id))).scalar_one()
        shop = (await uow.conn.execute(insert(shops).values(
            name="s", legal_name="s", license_no="1", created_at=NOW)
            .returning(shops.c.id))).scalar_one()
        for status in ("live", "scheduled"):  # one anchor is live in one room at a time
            await uow.conn.execute(insert(live_sessions).values(
                shop_id=shop, anchor_id=user, title="t", scheduled_at=NOW, status=status,
                created_at=NOW))
    return database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await _open(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    database = await _open(pg_url)
    yield database
    await database.dispose()


async def _events(db: Database, count: int, *, start: int = 0) -> None:
    async with db.write() as uow:
        for n in range(start, start + count):
            await record_event(uow, "SlowModeSet", NOW, session_id=1 + n % 2,
                               payload={"seconds": n})


def _runner(db: Database) -> ConsumerRunner:
    return ConsumerRunner(db, [record.SessionRecorder(b"salt")], batch=7)


async def _drain(runner: ConsumerRunner) -> int:
    """Drain until nothing is left to read. On PostgreSQL a consumer reads nothing past the
    oldest write transaction still running in the cluster (docs/events.md), which another
    program's transaction may hold back for a moment: poll, bounded, instead of failing."""
    total = await runner.drain_all()
    for _ in range(400):
        if await lag(runner.db, "record") == 0:
            return total
        await asyncio.sleep(0.025)
        total += await runner.drain_all()
    raise AssertionError("the record consumer did not catch up in 10 s")


async def _log(db: Database, session_id: int) -> list[dict]:
    async with db.read() as conn:
        rows = await conn.execute(select(record_entries.c.idx, record_entries.c.body).where(
            record_entries.c.session_id == session_id).order_by(record_entries.c.idx))
        return [json.loads(r.body) for r in rows]


async def _checkpoints(db: Database, session_id: int) -> list:
    async with db.read() as conn:
        notes = (await conn.execute(select(record_checkpoints.c.note).where(
            record_checkpoints.c.session_id == session_id)
            .order_by(record_checkpoints.c.size))).scalars().all()
    return [verify_checkpoint(n, KEY.signer.verifier, origin=KEY.origin(session_id))
            for n in notes]


async def _assert_prefixes(db: Database, session_id: int) -> None:
    heads = await _checkpoints(db, session_id)
    for older, newer in itertools.pairwise(heads):
        proof = (await record.consistency(db, session_id, older.size, newer.size))["proof"]
        import base64
        assert consistent(older, newer, [base64.b64decode(h) for h in proof])


async def test_each_event_is_one_entry_in_order_and_replays_add_nothing(db: Database) -> None:
    await _events(db, 30)
    runner = _runner(db)
    assert await _drain(runner) == 30
    for session_id in (1, 2):
        log = await _log(db, session_id)
        assert [e["seconds"] for e in log] == list(range(session_id - 1, 30, 2))
        assert [e["session_id"] for e in log] == [session_id] * 15
    # the consumer's checkpoint goes back (a crash before it moved): nothing is added twice
    async with db.write() as uow:
        await uow.conn.execute(text("UPDATE consumer_checkpoints SET last_id = 0, last_tx = 0"))
    assert await _drain(_runner(db)) == 30
    assert len(await _log(db, 1)) == 15


async def test_checkpoints_are_prefixes_of_later_ones_across_restarts(db: Database) -> None:
    for round_ in range(4):  # each round a fresh runner and recorder: a restarted server
        await _events(db, 5 + round_, start=100 * round_)
        await _drain(_runner(db))
        assert await record.sign_checkpoints(db, KEY, NOW) == 2
        assert await record.sign_checkpoints(db, KEY, NOW) == 0  # nothing new to sign
    for session_id in (1, 2):
        heads = await _checkpoints(db, session_id)
        assert len(heads) == 4
        await _assert_prefixes(db, session_id)
        leaves = [merkle.leaf_hash(json.dumps(e, separators=(",", ":"), sort_keys=True,
                                              ensure_ascii=False).encode())
                  for e in await _log(db, session_id)]
        assert merkle.tree_hash(leaves) == heads[-1].root_hash


async def test_the_self_audit_finds_a_changed_entry(db: Database) -> None:
    await _events(db, 12)
    await _drain(_runner(db))
    await record.sign_checkpoints(db, KEY, NOW)
    assert await record.audit(db, KEY, NOW) == []
    async with db.write() as uow:  # the merchant rewrites what was said (and its leaf hash)
        row = (await uow.conn.execute(select(record_entries).where(
            record_entries.c.session_id == 1, record_entries.c.idx == 2))).one()
        body = row.body.replace('"seconds":4', '"seconds":40')
        await uow.conn.execute(update(record_entries).where(record_entries.c.id == row.id)
                               .values(body=body, leaf_hash=merkle.leaf_hash(body.encode())))
    alerts = await record.audit(db, KEY, NOW)
    assert [(a["session_id"], a["kind"]) for a in alerts] == [(1, "root_mismatch")]
    async with db.write() as uow:  # only the body: the stored leaf hash betrays it as well
        await uow.conn.execute(update(record_entries).where(
            record_entries.c.session_id == 2, record_entries.c.idx == 0)
            .values(body='{"forged":true}'))
    kinds = sorted((a["session_id"], a["kind"]) for a in await record.audit(db, KEY, NOW))
    assert kinds == [(1, "root_mismatch"), (2, "entry_changed"), (2, "root_mismatch")]
    async with db.read() as conn:
        assert (await conn.execute(select(record_alerts.c.kind).order_by(
            record_alerts.c.id))).scalars().all() == [
            "root_mismatch", "root_mismatch", "entry_changed", "root_mismatch"]


async def test_the_self_audit_finds_dropped_entries(db: Database) -> None:
    await _events(db, 8)
    await _drain(_runner(db))
    await record.sign_checkpoints(db, KEY, NOW)
    async with db.write() as uow:
        await uow.conn.execute(record_entries.delete().where(
            record_entries.c.session_id == 1, record_entries.c.idx >= 2))
    kinds = {a["kind"] for a in await record.audit(db, KEY, NOW)}
    assert kinds == {"entries_removed"}


@pytest.mark.pg
async def test_several_workers_appending_never_fork_a_log(pg_db: Database) -> None:
    """Four appenders (as four workers would run) race while events keep coming; each entry
    exists once, in outbox order, and every checkpoint signed meanwhile is a prefix of the
    last."""
    runners = [_runner(pg_db) for _ in range(4)]

    async def write() -> None:
        for n in range(20):
            await _events(pg_db, 5, start=5 * n)

    async def append(runner: ConsumerRunner) -> None:
        for _ in range(40):
            await runner.drain_all()
            await record.sign_checkpoints(pg_db, KEY, NOW)

    await asyncio.gather(write(), *(append(r) for r in runners))
    await _drain(runners[0])
    await record.sign_checkpoints(pg_db, KEY, NOW)
    for session_id in (1, 2):
        log = await _log(pg_db, session_id)
        assert [e["seconds"] for e in log] == list(range(session_id - 1, 100, 2))
        await _assert_prefixes(pg_db, session_id)
        heads = await _checkpoints(pg_db, session_id)
        assert heads[-1].size == 50
    assert await record.audit(pg_db, KEY, NOW) == []


@pytest.mark.pg
async def test_a_second_sequencer_cannot_fork_a_log(pg_db: Database) -> None:
    """Two recorders appending to the same session at the same size: the conditional head
    update lets one win; the other's transaction fails and leaves nothing."""
    first, second = record.SessionRecorder(b"s"), record.SessionRecorder(b"s")
    body = {"v": 1, "type": "SlowModeSet", "time": "t", "session_id": 1}
    async with pg_db.write() as uow:
        await first.append(uow, 1, 1, {**body, "event_id": 1}, NOW)
    ready, go = asyncio.Event(), asyncio.Event()

    async def racing(recorder: record.SessionRecorder, event_id: int) -> str:
        try:
            async with pg_db.write() as uow:
                await recorder._edge(uow.conn, 1)  # both read size 1
                ready.set()
                await go.wait()
                await recorder.append(uow, 1, event_id, {**body, "event_id": event_id}, NOW)
            return "appended"
        except Exception as error:  # the unique (session, idx) or the moved head
            return type(error).__name__

    task_a = asyncio.create_task(racing(first, 2))
    await ready.wait()
    ready.clear()
    task_b = asyncio.create_task(racing(second, 3))
    await ready.wait()
    go.set()
    outcomes = sorted(await asyncio.gather(task_a, task_b))
    assert outcomes[0] != "appended" and outcomes[1] == "appended"
    log = await _log(pg_db, 1)
    assert [e["event_id"] for e in log][:1] == [1] and len(log) == 2
    assert await record.audit(pg_db, KEY, NOW) == []
