"""The `ledger` consumer on SQLite and PostgreSQL over random money histories: the live ledger
equals the one `ledger verify` rebuilds from the events, and reading the whole history again
(a rewound checkpoint, as after a crash) posts nothing twice and changes nothing."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select, update

from livepledge.infra.consumers import ConsumerRunner
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
        await runner.drain_all()
        report = await verify(db)
        assert report.agrees, report.summary()
        before = await _snapshot(db)
        async with db.write() as uow:  # as if the checkpoint had never been written
            await uow.conn.execute(update(consumer_checkpoints).values(last_tx=0, last_id=0))
        await runner.drain_all()
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
