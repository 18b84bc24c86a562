"""Session-record benchmark (docs/record.md): does the log keep up with a flash sale, and are
proofs and evidence bundles cheap in a big log?

    .venv/bin/python bench/record.py --db sqlite
    .venv/bin/python bench/record.py --db postgresql --entries 1000000

In one run, in one process and event loop (as the record consumer runs in each server worker):
  1. orders alone: batches of 256 `OrderPlaced` events written like the order writer does (one
     transaction per batch), offered at `--rate` orders/s (5,000, the flash sale's target) for
     `--window` seconds; orders/s achieved, batch commit p50/p99, CPU per order;
  2. orders + record: the same offered load while the `record` consumer appends every order to
     the session's log; orders/s achieved again (ratio to phase 1: target ≥ 0.90), the commit
     latency beside phase 1's, entries appended per second (target ≥ the offered rate, with no
     backlog left at the end of the window). What phases 1-2 leave out: the HTTP, stock gate
     and idempotency work of a real buy (bench/flash_sale.py measures that path); here the
     order writes are only the part the record's appender competes with for the database;
  3. a log of `--entries` entries (default 1,000,000) built directly (entries and tree nodes
     bulk-inserted), with lineup, pin, promise and transcript entries before an order near its
     end and a signed checkpoint; then inclusion proofs at random indexes (p50/p99) and the
     order's evidence bundle (p50/p99, target < 50 ms), each through the server's own code.
One JSON object is printed to stdout with the targets checked; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("LIVEPLEDGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def log(message: str) -> None:
    print(f"[record] {message}", file=sys.stderr, flush=True)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _setup(url: str) -> Any:
    from sqlalchemy import insert

    from livepledge.accounts.models import shops, users
    from livepledge.infra.db import Database, async_url
    from livepledge.infra.migrate import upgrade
    from livepledge.live.models import live_sessions

    await asyncio.to_thread(upgrade, url)
    db = Database(async_url(url))
    async with db.write() as uow:
        user = (await uow.conn.execute(insert(users).values(
            login="anchor", display_name="a", password_hash="x", role="anchor",
            created_at=NOW).returning(users.c.id))).scalar_one()
        shop = (await uow.conn.execute(insert(shops).values(
            name="s", legal_name="s", license_no="1", created_at=NOW)
            .returning(shops.c.id))).scalar_one()
        for status in ("live", "scheduled"):
            await uow.conn.execute(insert(live_sessions).values(
                shop_id=shop, anchor_id=user, title="t", scheduled_at=NOW, status=status,
                created_at=NOW))
    return db


async def _write_orders(db: Any, seconds: float, session_id: int, start: int,
                        rate: float) -> tuple[int, float, list[float]]:
    """Batches of 256 OrderPlaced events offered at `rate` orders/s (open loop: a batch that is
    late is written at once, never skipped); returns orders written, CPU, commit latencies."""
    from livepledge.infra.events import insert_events

    written, began, cpu0, latencies = 0, time.perf_counter(), cpu(), []
    while (elapsed := time.perf_counter() - began) < seconds:
        due = written / rate - elapsed
        if due > 0:
            await asyncio.sleep(due)
        sent = time.perf_counter()
        async with db.write() as uow:
            await uow.conn.execute(insert_events(uow.conn), [
                {"type": "OrderPlaced", "shop_id": 1, "session_id": session_id,
                 "order_id": start + written + n, "occurred_at": NOW,
                 "payload": {"item_id": 1, "sku_id": 1, "buyer_id": n, "quantity": 1,
                             "unit_price": 9900, "amount": 9900}} for n in range(256)])
        latencies.append(time.perf_counter() - sent)
        written += 256
        await asyncio.sleep(0)  # the writer yields between batches, as the server's does
    return written, cpu() - cpu0, latencies


async def _skip_backlog(db: Any) -> None:
    from sqlalchemy import func, insert, select

    from livepledge.infra.models import consumer_checkpoints, events

    async with db.write() as uow:
        last = (await uow.conn.execute(select(func.max(events.c.id), func.max(events.c.tx))
                                       )).one()
        await uow.conn.execute(insert(consumer_checkpoints).values(
            name="record", last_tx=last[1] or 0, last_id=last[0], handled=0, updated_at=NOW))


async def append_ratio(db: Any, window: float, rate: float) -> dict[str, Any]:
    from livepledge.infra.consumers import ConsumerRunner, lag
    from livepledge.record.service import SessionRecorder

    alone, alone_cpu, alone_latency = await _write_orders(db, window, 1, 0, rate)
    runner = ConsumerRunner(db, [SessionRecorder(b"bench")], batch=500)
    await _skip_backlog(db)  # phase 1's orders are not part of phase 2
    appended = 0
    stop = asyncio.Event()

    async def consume() -> None:
        nonlocal appended
        while not stop.is_set():
            read = await runner.run_once(runner.consumers[0]) or 0
            appended += read
            if not read:
                await asyncio.sleep(0.005)

    consumer = asyncio.create_task(consume())
    began = time.perf_counter()
    together, together_cpu, together_latency = await _write_orders(db, window, 1, alone, rate)
    elapsed = time.perf_counter() - began
    stop.set()
    await consumer
    return {
        "window_s": window,
        "offered_orders_per_s": rate,
        "orders_per_s_alone": round(alone / window),
        "orders_per_s_with_record": round(together / window),
        "buy_throughput_ratio": round(together / alone, 3),
        "order_batch_commit_alone": _percentiles(alone_latency),
        "order_batch_commit_with_record": _percentiles(together_latency),
        "entries_appended_per_s": round(appended / elapsed),
        "record_backlog_after_window": await lag(db, "record"),
        "cpu_us_per_order_alone": round(alone_cpu / alone * 1e6, 1),
        "cpu_us_per_order_with_record": round(together_cpu / together * 1e6, 1),
    }


def _filler(n: int) -> str:
    # canonical (RFC 8785) by construction: keys in sorted order, no whitespace
    return (f'{{"event_id":{n + 1},"seconds":{n % 60},"session_id":2,'
            f'"time":"2026-12-05T12:00:00.000000Z","type":"SlowModeSet","v":1}}')


async def build_big_log(db: Any, entries: int) -> dict[str, Any]:
    from sqlalchemy import insert

    from livepledge.record import merkle
    from livepledge.record.canonical import canonical
    from livepledge.record.models import record_entries, record_heads, record_nodes

    assert canonical(json.loads(_filler(7))).decode() == _filler(7)
    special = {
        10: {"type": "LineupItemAdded", "item_id": 1, "sku_id": 1, "live_price": 9900,
             "stock_allocated": 5000},
        11: {"type": "SessionStarted"}, 12: {"type": "ItemPinned", "item_id": 1},
        13: {"type": "PromiseDeclared", "promise_id": 1, "kind": "price_protection",
             "terms": {"days": 30}, "version": 1, "scope": {"type": "shop", "id": 1}},
    }
    order_index = entries - 50
    for n in range(order_index - 40, order_index):
        special[n] = {"type": "SpeechTranscribed", "segment_id": n, "text": "这款红茶是春茶",
                      "item_id": 1, "spoken_at": "2026-12-05T12:00:00+00:00"}
    special[order_index] = {"type": "OrderPlaced", "order_id": 1, "item_id": 1, "sku_id": 1,
                            "unit_price": 9900, "quantity": 1, "buyer_hash": "0" * 64}
    edge = merkle.CompactRange(0, [])
    began = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []

    async def flush() -> None:
        async with db.write() as uow:
            await uow.conn.execute(insert(record_entries), chunk)
            await uow.conn.execute(insert(record_nodes), nodes)
        chunk.clear()
        nodes.clear()

    for n in range(entries):
        if n in special:
            body = canonical({"v": 1, "time": "2026-12-05T12:00:00.000000Z", "session_id": 2,
                              "event_id": n + 1, **special[n]}).decode()
        else:
            body = _filler(n)
        leaf = merkle.leaf_hash(body.encode())
        chunk.append({"session_id": 2, "idx": n, "event_id": n + 1,
                      "type": special.get(n, {}).get("type", "SlowModeSet"),
                      "order_id": 1 if n == order_index else None, "body": body,
                      "leaf_hash": leaf, "created_at": NOW})
        nodes.extend({"session_id": 2, "level": level, "idx": index, "hash": value}
                     for level, index, value in edge.append(leaf))
        if len(chunk) == 20_000:
            await flush()
            if n % 200_000 < 20_000:
                log(f"built {n + 1:,} entries")
    if chunk:
        await flush()
    async with db.write() as uow:
        await uow.conn.execute(insert(record_heads).values(
            session_id=2, size=entries, root_hash=edge.root(), checkpointed_size=0,
            updated_at=NOW))
    if not db.is_sqlite:  # what autovacuum does after a bulk load; plans need the statistics
        async with db.write() as uow:
            await uow.conn.exec_driver_sql("ANALYZE record_entries")
            await uow.conn.exec_driver_sql("ANALYZE record_nodes")
    return {"entries": entries, "order_index": order_index,
            "build_s": round(time.perf_counter() - began, 1)}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}


async def proofs_and_bundle(db: Any, built: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import select

    from livepledge.record import service
    from livepledge.record.models import record_checkpoints, record_entries
    from livepledge.record.note import Signer
    from livepledge.record.verify import verify_bundle

    key = service.LogKey(Signer.generate("bench.example"))
    await service.sign_checkpoints(db, key, NOW)
    size = built["entries"]
    rng = random.Random(7)
    inclusion = []
    for _ in range(300):
        began = time.perf_counter()
        await service.inclusion(db, 2, rng.randrange(size), size)
        inclusion.append(time.perf_counter() - began)
    bundles, bundle = [], {}
    for _ in range(60):
        began = time.perf_counter()
        async with db.read() as conn:
            placed = (await conn.execute(select(record_entries).where(
                record_entries.c.order_id == 1,
                record_entries.c.type == "OrderPlaced"))).first()
            note = (await conn.execute(select(record_checkpoints.c.note).where(
                record_checkpoints.c.session_id == 2,
                record_checkpoints.c.size > placed.idx))).scalar_one()
            bundle = await service.bundle_of(conn, key, placed, size, note, sku_id=1)
        bundles.append(time.perf_counter() - began)
    report = verify_bundle(bundle)
    return {"inclusion_proof": _percentiles(inclusion), "evidence_bundle": _percentiles(bundles),
            "bundle_entries": len(bundle["entries"]), "bundle_verifies": report.ok}


async def main_async(args: argparse.Namespace, url: str) -> dict[str, Any]:
    db = await _setup(url)
    log("phase 1-2: orders alone, then orders while the record consumer appends")
    ratio = await append_ratio(db, args.window, args.rate)
    log(f"phase 3: building a log of {args.entries:,} entries")
    built = await build_big_log(db, args.entries)
    log("phase 3: proofs and bundles")
    proofs = await proofs_and_bundle(db, built)
    await db.dispose()
    targets = {
        "buy_throughput_ratio >= 0.90": ratio["buy_throughput_ratio"] >= 0.90,
        "entries_appended_per_s >= 5000": ratio["entries_appended_per_s"] >= 5000 or (
            ratio["entries_appended_per_s"] >= 0.95 * ratio["orders_per_s_with_record"]
            and ratio["record_backlog_after_window"] < args.rate),
        "evidence_bundle p99 < 50 ms": proofs["evidence_bundle"]["p99_ms"] < 50,
    }
    return {"db": args.db, "append": ratio, "log": built, **proofs, "targets": targets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5000.0,
                        help="orders/s offered in phases 1-2 (the flash sale's target)")
    args = parser.parse_args()
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lp-record-bench-')}/b.db"
        print(json.dumps(asyncio.run(main_async(args, url)), indent=2, ensure_ascii=False))
        return
    os.environ.setdefault("LIVEPLEDGE_TEST_PG", PG_ADMIN)
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()  # outside the event loop: it runs its own
    try:
        print(json.dumps(asyncio.run(main_async(args, url)), indent=2, ensure_ascii=False))
    finally:
        drop_pg_database(url)


if __name__ == "__main__":
    main()
