"""The `ledger` consumer on SQLite and PostgreSQL over random money histories: the live ledger
equals the one `ledger verify` rebuilds from the events, and reading the whole history again
(a rewound checkpoint, as after a crash) posts nothing twice and changes nothing."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from livepledge.infra.consumers import ConsumerRunner, lag
from livepledge.infra.db import Database
from livepledge.infra.events import insert_events
from livepledge.infra.models import consumer_checkpoints
from livepledge.settlement.ledger import Ledger
from livepledge.settlement.models import ledger_accounts, ledger_postings, ledger_transactions
from livepledge.settlement.verify import verify
from tests.conftest import _migrated
from tests.unit.ledger_ops import facts, histories

_examples = itertools.count(1)


async def _snapshot(db: Database) -> tuple[int, int, list[tuple[str, int]]]:
    async with db.read() as conn:
        txs = (await conn.execute(select(func.count()).select_from(ledger_transactions))
               ).scalar_one()
        postings = (await conn.execute(select(func.count()).select_from(ledger_postings))
                    ).scalar_one()
        balances = [(r.code, int(r.balance)) for r in await conn.execute(
            select(ledger_accounts.c.code, ledger_accounts.c.balance)
            .order_by(ledger_accounts.c.code))]
    return int(txs), int(postings), balances


async def _caught_up(runner: ConsumerRunner, db: Database) -> None:
    """Drain until nothing is left: on PostgreSQL a consumer does not read past a write
    transaction still running anywhere in the cluster (other tests' databases too), so one
    drain may stop short (docs/events.md)."""
    deadline = time.monotonic() + 30
    await runner.drain_all()
    while await lag(db, "ledger"):
        assert time.monotonic() < deadline, "the ledger did not catch up"
        await asyncio.sleep(0.01)
        await runner.drain_all()


async def _run(url: str, history: list) -> None:  # type: ignore[type-arg]
    n = next(_examples)  # each example its own shops and orders, in one database
    made, _ = facts(history)
    db = Database(url)
    try:
        if made:
            async with db.write() as uow:
                await uow.conn.execute(insert_events(uow.conn), [
                    {"type": f.type, "shop_id": f.shop_id + 10 * n,
                     "order_id": None if f.order_id is None else f.order_id + 100 * n,
                     "payload": dict(f.payload), "occurred_at": f.occurred_at}
                    for f in made])
        runner = ConsumerRunner(db, [Ledger()])
        await _caught_up(runner, db)
        report = await verify(db)
        assert report.agrees, report.summary()
        before = await _snapshot(db)
        async with db.write() as uow:  # as if the checkpoint had never been written
            await uow.conn.execute(update(consumer_checkpoints).values(last_tx=0, last_id=0))
        await _caught_up(runner, db)
        assert await _snapshot(db) == before
        report = await verify(db)
        assert report.agrees, report.summary()
    finally:
        await db.dispose()


def test_the_live_ledger_equals_the_rebuilt_one_and_a_replay_changes_nothing(database_url):  # type: ignore[no-untyped-def]
    _migrated(database_url)

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(histories)
    def check(history: list) -> None:  # type: ignore[type-arg]
        asyncio.run(_run(database_url, history))

    check()


async def test_postings_and_transactions_cannot_be_edited_or_deleted(database_url):  # type: ignore[no-untyped-def]
    await asyncio.to_thread(_migrated, database_url)
    made, _ = facts([("pay", 1, 9900, "sandbox")])
    db = Database(database_url)
    try:
        async with db.write() as uow:
            await uow.conn.execute(insert_events(uow.conn), [
                {"type": f.type, "shop_id": f.shop_id, "order_id": f.order_id,
                 "payload": dict(f.payload), "occurred_at": f.occurred_at} for f in made])
        await _caught_up(ConsumerRunner(db, [Ledger()]), db)
        for statement in (update(ledger_postings).values(amount=1),
                          update(ledger_transactions).values(kind="Edited"),
                          delete(ledger_postings), delete(ledger_transactions)):
            with pytest.raises(DBAPIError, match="append-only"):
                async with db.write() as uow:
                    await uow.conn.execute(statement)
        assert (await _snapshot(db))[:2] == (1, 2)
        assert (await verify(db)).agrees
    finally:
        await db.dispose()
