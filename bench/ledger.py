"""Ledger benchmark: how fast the `ledger` consumer posts a flash sale's money, how long a
statement and `ledger verify` take over it.

    .venv/bin/python bench/ledger.py --db sqlite --orders 100000
    .venv/bin/python bench/ledger.py --db postgresql --orders 100000

It writes N `OrderPaid` events of one shop (¥99.00 each) and the `EscrowReleased` of every
order (5 % commission) straight into the outbox, as a flash sale and its releases would, then
times, in this process:

- posting: the `ledger` consumer from the first event to caught up — wall time, process CPU
  time, events per second, CPU per event. Baseline, in the same run and on the same database:
  writing the same rows a posting writes (one transaction, its postings, the balance updates,
  the order's state) with nothing decided, in batches of the same size. The ratio is the cost of
  the deciding over the bare writes. Targets: ≥ 5,000 orders/s (a flash sale's peak rate, each
  order one `OrderPaid`).
- a statement of the shop for the period covering all of it (the totals, opening and closing
  balances, and the first page of lines). Target: a quarter over 1,000,000 orders in < 10 s.
- the shop's quarterly income statement (Order 810: its figures and each month's, grouped
  from the postings, `settlement/statements.py`), and the operators' export of every party for
  the quarter. Target: a quarter over 1,000,000 orders in < 10 s.
- `ledger verify` over all the events. Target: 1,000,000 events in < 60 s.

PostgreSQL: a fresh database on LIVEPLEDGE_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PG_ADMIN = os.environ.get("LIVEPLEDGE_BENCH_PG",
                          "postgresql://postgres@127.0.0.1:5432/test")

from livepledge.accounts.service import Principal  # noqa: E402
from livepledge.infra.consumers import ConsumerRunner  # noqa: E402
from livepledge.infra.db import Database  # noqa: E402
from livepledge.infra.events import insert_events  # noqa: E402
from livepledge.infra.migrate import upgrade  # noqa: E402
from livepledge.settlement import rules, statements  # noqa: E402
from livepledge.settlement.ledger import Ledger, do_post_many, save_orders  # noqa: E402
from livepledge.settlement.service import Period, statement  # noqa: E402
from livepledge.settlement.verify import verify  # noqa: E402

PAID, RATE = 9900, 500
CHUNK = 5000
BATCH = 200  # the consumer's batch


def log(message: str) -> None:
    print(f"[ledger] {message}", file=sys.stderr, flush=True)


async def _pg_database(create: bool, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' if create
                           else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _seed_events(db: Database, n: int, start: datetime) -> None:
    for first in range(0, n, CHUNK):
        rows = []
        for k in range(first, min(n, first + CHUNK)):
            at = start + timedelta(milliseconds=k)
            rows.append({"type": "OrderPaid", "shop_id": 1, "order_id": k + 1,
                         "payload": {"amount": PAID, "provider": "sandbox"}, "occurred_at": at})
        for k in range(first, min(n, first + CHUNK)):
            rows.append({"type": "EscrowReleased", "shop_id": 1, "order_id": k + 1,
                         "payload": {"commission_bp": RATE}, "occurred_at":
                         start + timedelta(days=20, milliseconds=k)})
        async with db.write() as uow:
            await uow.conn.execute(insert_events(uow.conn), rows)


async def _baseline(db: Database, n: int, start: datetime) -> None:
    """The rows the posting of n payments writes, written the same way (a batch at a time)
    with nothing decided: no events read, no order state or deposit loaded, no rules run (shop
    2, event ids far above the real ones so as not to collide)."""
    base = 10**12
    for first in range(0, n, BATCH):
        txs = [rules.Transaction(base + k, "OrderPaid", 2, base + k, start, (
            rules.Line(rules.clearing("baseline"), PAID), rules.Line(rules.escrow(2), -PAID)))
            for k in range(first, min(n, first + BATCH))]
        async with db.write() as uow:
            await do_post_many(uow.conn, txs, now=start)
            await save_orders(uow.conn, [rules.OrderMoney(
                order_id=tx.event_id, shop_id=2, provider="baseline", paid=PAID, held=PAID)
                for tx in txs])


def _timed() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


async def run(db_kind: str, n: int) -> dict[str, object]:
    name = None
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lp-bench-')}/ledger.db"
    else:
        name = f"lp_bench_{secrets.token_hex(4)}"
        await _pg_database(True, name)
        url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] \
            + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        try:
            log(f"seeding {2 * n} events")
            await _seed_events(db, n, start)
            runner = ConsumerRunner(db, [Ledger()], batch=BATCH)
            wall, cpu = _timed()
            read = await runner.drain_all()
            post_wall, post_cpu = time.perf_counter() - wall, time.process_time() - cpu
            log(f"posted {read} events in {post_wall:.1f} s")
            owner = Principal(user_id=1, login="bench", display_name="bench", role="merchant",
                              shop_roles={1: "owner"})
            wall, _ = _timed()
            page = await statement(db, owner, 1, Period(start, start + timedelta(days=90)),
                                   limit=500, offset=0)
            statement_wall = time.perf_counter() - wall
            wall, _ = _timed()
            quarter = statements.quarter_period(2026, 1)
            income = await statements.shop_statement(db, owner, 1, quarter)
            income_wall = time.perf_counter() - wall
            assert income["figures"]["gross_sales"] == n * PAID, income["figures"]
            wall, _ = _timed()
            exported = await statements.all_rows(db, quarter)
            export_wall = time.perf_counter() - wall
            assert len(exported) == 1
            wall, _ = _timed()
            report = await verify(db)
            verify_wall = time.perf_counter() - wall
            assert report.agrees, report.summary()
            assert page["accounts"]["available"]["closing"] == n * (
                PAID - rules.commission(PAID, RATE))
            # last: the baseline's rows are not from events, verify would (rightly) object
            wall, cpu = _timed()
            await _baseline(db, n, start)
            base_wall = time.perf_counter() - wall
            log(f"baseline: {n} bare payment postings in {base_wall:.1f} s")
        finally:
            await db.dispose()
    finally:
        if name:
            await _pg_database(False, name)
    result = {
        "db": db_kind, "orders": n, "events": 2 * n,
        "posting_wall_s": round(post_wall, 2), "posting_cpu_s": round(post_cpu, 2),
        "events_per_s": round(2 * n / post_wall), "cpu_us_per_event": round(
            post_cpu / (2 * n) * 1e6),
        "baseline_us_per_payment": round(base_wall / n * 1e6),
        "posting_vs_bare_writes": round((post_wall / (2 * n)) / (base_wall / n), 2),
        "statement_s": round(statement_wall, 2), "verify_s": round(verify_wall, 2),
        "income_statement_quarter_s": round(income_wall, 2),
        "operator_export_quarter_s": round(export_wall, 2),
        "verify_events": report.events_read,
    }
    targets = {
        "posting keeps up with 5,000 orders/s": 2 * n / post_wall >= 5000,
        "statement over 1,000,000 orders < 10 s (scaled)": statement_wall * 1_000_000 / n < 10,
        "verify over 1,000,000 events < 60 s (scaled)": verify_wall * 1_000_000 / (2 * n) < 60,
        "quarterly income statement over 1,000,000 orders < 10 s (scaled)":
            income_wall * 1_000_000 / n < 10,
    }
    result["targets"] = targets
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--orders", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.orders))


if __name__ == "__main__":
    main()
