"""Price-protection benchmark: N paid, protected orders of one SKU, then one price drop.

    .venv/bin/python bench/price_protection.py --db sqlite --orders 100000
    .venv/bin/python bench/price_protection.py --db postgresql --orders 100000

It seeds a shop with N paid orders of one SKU at ¥99.00, each carrying a frozen "30天保价"
promise, records one list-price drop to ¥89.00 (a `PriceChanged` event), and times the
`price_protection` consumer from the drop to the last refund recorded (sandbox provider), in
this process: wall time, process CPU time, refunds per second, CPU per refund.

Baseline, in the same run and on the same database: writing the same rows the sweep must write
(one payment row, one event and one notice per order) in one committed transaction, with
nothing decided (its rows are marked so that the sweep ignores them). The ratio sweep ÷
baseline is the cost of the deciding (finding the orders, reading their promises and earlier
refunds, the provider call) over the bare writes. Then it checks the outcome: exactly one
refund of ¥10.00 per order.

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

from sqlalchemy import func, insert, select  # noqa: E402

from livepledge.infra.consumers import ConsumerRunner  # noqa: E402
from livepledge.infra.db import Database  # noqa: E402
from livepledge.infra.events import insert_events, record_event  # noqa: E402
from livepledge.infra.migrate import upgrade  # noqa: E402
from livepledge.notices.models import notices  # noqa: E402
from livepledge.orders.models import orders, payments  # noqa: E402
from livepledge.orders.payments import SandboxProvider  # noqa: E402
from livepledge.promises.protection import PriceProtection  # noqa: E402

PAID, DROP = 9900, 8900
CHUNK = 5000


def log(message: str) -> None:
    print(f"[price_protection] {message}", file=sys.stderr, flush=True)


async def _pg_database(create: bool, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' if create
                           else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _seed(db: Database, n: int, now: datetime) -> tuple[int, int, int]:
    """Users, shop, product, SKU through plain inserts; then n paid protected orders."""
    from livepledge.accounts.models import shops, users
    from livepledge.catalog.models import products, skus

    async with db.write() as uow:
        c = uow.conn
        buyer = (await c.execute(insert(users).values(
            login=f"bench-{secrets.token_hex(3)}", display_name="买家", password_hash="x",
            role="buyer", created_at=now).returning(users.c.id))).scalar_one()
        shop = (await c.execute(insert(shops).values(
            name="保价测试店", legal_name="测试有限公司", license_no="91110000BENCH001X",
            created_at=now).returning(shops.c.id))).scalar_one()
        product = (await c.execute(insert(products).values(
            shop_id=shop, title="红茶", description="", category="food", status="active",
            created_at=now, updated_at=now).returning(products.c.id))).scalar_one()
        sku = (await c.execute(insert(skus).values(
            product_id=product, shop_id=shop, name="250g", price=12900, stock=0,
            status="active", created_at=now).returning(skus.c.id))).scalar_one()
    promise = {"promise_id": 1, "kind": "price_protection",
               "terms": {"days": 30, "excludes_flash_sale": False}, "version": 1,
               "hash": "0" * 64, "source": {"type": "sku", "id": sku}, "enforced": True}
    paid_at = now - timedelta(days=1)
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        async with db.write() as uow:
            ids = (await uow.conn.execute(
                insert(orders).returning(orders.c.id, sort_by_parameter_order=True), [
                    {"buyer_id": buyer, "shop_id": shop, "session_id": None,
                     "lineup_item_id": None, "sku_id": sku, "quantity": 1, "unit_price": PAID,
                     "amount": PAID, "status": "paid", "idempotency_key": f"k{start + i}",
                     "snapshot": {"product_title": "红茶", "promises": [promise]},
                     "created_at": paid_at, "expires_at": paid_at, "paid_at": paid_at}
                    for i in range(count)])).scalars().all()
            await uow.conn.execute(insert(payments), [
                {"order_id": order_id, "provider": "sandbox", "provider_ref": f"c{order_id}",
                 "amount": PAID, "status": "succeeded", "created_at": paid_at}
                for order_id in ids])
    return int(shop), int(sku), int(buyer)


async def _baseline(db: Database, shop: int, buyer: int, now: datetime) -> float:
    """The bare writes of the sweep, nothing decided: one transaction, same row counts."""
    async with db.read() as conn:
        ids = (await conn.execute(select(orders.c.id).where(orders.c.shop_id == shop)
                                  .order_by(orders.c.id))).scalars().all()
    started = time.perf_counter()
    await _baseline_writes(db, ids, shop, buyer, now)  # committed, like the sweep's
    return time.perf_counter() - started


async def _baseline_writes(db: Database, ids: list[int], shop: int, buyer: int,
                           now: datetime) -> None:
    async with db.write() as uow:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            await uow.conn.execute(insert(payments), [
                {"order_id": i, "provider": "sandbox", "provider_ref": f"b{i}", "amount": 0,
                 "status": "baseline", "created_at": now} for i in chunk])
            await uow.conn.execute(insert_events(uow.conn), [
                {"type": "BaselineWrite", "shop_id": shop, "order_id": i,
                 "payload": {"amount": 1000}, "occurred_at": now} for i in chunk])
            await uow.conn.execute(insert(notices), [
                {"user_id": buyer, "kind": "baseline", "params": {"order_id": i},
                 "order_id": i, "event_id": 0, "dedupe": f"b{i}", "created_at": now}
                for i in chunk])


async def run(url: str, n: int) -> dict[str, object]:
    db = Database(url)
    now = datetime.now(UTC)
    try:
        log(f"seeding {n} paid protected orders")
        shop, sku, buyer = await _seed(db, n, now)
        baseline = await _baseline(db, shop, buyer, now)
        log(f"baseline writes: {baseline:.2f} s")
        async with db.write() as uow:
            await record_event(uow, "PriceChanged", now, shop_id=shop,
                               payload={"sku_id": sku, "price": DROP, "previous": 12900})
        consumer = PriceProtection(SandboxProvider())
        runner = ConsumerRunner(db, [consumer], batch=50)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await runner.drain(consumer)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        async with db.read() as conn:
            refunds, total = (await conn.execute(select(
                func.count(), func.coalesce(func.sum(payments.c.amount), 0)).where(
                payments.c.reason == "price_protection"))).one()
        exact = int(refunds) == n and -int(total) == n * (PAID - DROP)
        return {
            "orders": n, "sweep_seconds": round(wall, 3), "sweep_cpu_seconds": round(cpu, 3),
            "refunds_per_second": round(n / wall), "cpu_us_per_refund": round(cpu / n * 1e6, 1),
            "baseline_write_seconds": round(baseline, 3),
            "sweep_over_bare_writes": round(wall / baseline, 2),
            "targets": {"every_order_refunded_exactly_once": exact},
        }
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    pg_name = f"lp_bench_pp_{secrets.token_hex(4)}"
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        asyncio.run(_pg_database(True, pg_name))
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + \
            f"/{pg_name}"
    try:
        upgrade(url)
        result = asyncio.run(run(url, args.orders))
        result["db"] = args.db
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if args.db == "postgresql":
            asyncio.run(_pg_database(False, pg_name))


if __name__ == "__main__":
    main()
