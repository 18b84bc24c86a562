"""Flash-sale benchmark: a burst of buys at one lineup item, against a real `livepledge serve`.

    .venv/bin/python bench/flash_sale.py --db sqlite
    .venv/bin/python bench/flash_sale.py --db postgresql
    .venv/bin/python bench/flash_sale.py --db postgresql --redis --workers 2

In one run it measures, with the same load client and connection count:
  1. the no-op endpoint (GET /api/v1/noop) of the server under test;
  2. the buy burst (the batched design): every buyer presses buy `--presses` times (distinct
     Idempotency-Keys), all at once, for `--stock` units at a limit of 1 per buyer;
  3. the naive baseline: the same server restarted with LIVEPLEDGE_STOCK_GATE=naive
     (SELECT ... FOR UPDATE per request), same burst against a freshly seeded item.
Then it reads the database directly: oversold units and lost acknowledgements (201 answered but no
order stored) must both be 0. One JSON object is printed to stdout; progress goes to stderr.

The load runs in a separate process (`--load-procs` of them): a raw asyncio HTTP/1.1 keep-alive
client on uvloop, because an httpx pool is itself slower than the server under test. Before the
sale each buyer makes one authenticated request (as when opening the live room), so tokens are
validated and cached as they would be in a real sale.

PostgreSQL: a fresh database is created on LIVEPLEDGE_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards. Redis: db 10 of
LIVEPLEDGE_BENCH_REDIS (default redis://127.0.0.1:6379/10) is flushed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("LIVEPLEDGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIVEPLEDGE_BENCH_REDIS", "redis://127.0.0.1:6379/10")


def log(message: str) -> None:
    print(f"[flash_sale] {message}", file=sys.stderr, flush=True)


# --- the load client (runs in its own process) -----------------------------------------------

async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readline()).strip().split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return status, body
        body += await reader.readexactly(size)
        await reader.readline()


async def _run_load(job: dict[str, Any]) -> dict[str, Any]:
    requests = [r.encode("latin-1") for r in job["requests"]]
    results: list[Any] = [None] * len(requests)
    next_index = iter(range(len(requests)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(job["host"], job["port"])
        try:
            for index in next_index:
                started = time.perf_counter()
                writer.write(requests[index])
                try:
                    status, body = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    results[index] = (0, (time.perf_counter() - started) * 1000, b"")
                    writer.close()
                    reader, writer = await asyncio.open_connection(job["host"], job["port"])
                    continue
                results[index] = (status, (time.perf_counter() - started) * 1000, body)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(job["connections"])))
    wall = time.perf_counter() - began
    out = []
    for status, millis, body in results:
        detail: Any = None
        if job["parse"] and body:
            parsed = json.loads(body)
            detail = parsed.get("id") if status in (200, 201) else parsed.get("code")
        out.append([status, round(millis, 3), detail])
    return {"wall_seconds": wall, "results": out}


def load_worker_main() -> None:
    from _worker import run_job

    run_job("--load-worker", _run_load)


def run_load(host: str, port: int, requests: list[str], *, connections: int, procs: int,
             parse: bool) -> dict[str, Any]:
    """Fire `requests` (raw HTTP/1.1) from `procs` separate processes; merge their results."""
    shares = [requests[i::procs] for i in range(procs)]
    workdir = Path(tempfile.mkdtemp(prefix="lp-load-"))
    children = []
    for n, share in enumerate(shares):
        job = {"host": host, "port": port, "requests": share, "parse": parse,
               "connections": max(1, connections // procs),
               "output": str(workdir / f"out{n}.json")}
        (workdir / f"job{n}.json").write_text(json.dumps(job))
        children.append(subprocess.Popen(
            [sys.executable, __file__, "--load-worker", str(workdir / f"job{n}.json")]))
    began = time.perf_counter()
    outputs = []
    for n, child in enumerate(children):
        if child.wait() != 0:
            raise SystemExit(f"load process {n} failed")
        outputs.append(json.loads((workdir / f"out{n}.json").read_text()))
    elapsed = time.perf_counter() - began
    results: list[Any] = []
    for i in range(len(requests)):
        results.append(outputs[i % procs]["results"][i // procs])
    wall = max(o["wall_seconds"] for o in outputs)
    return {"wall_seconds": wall, "elapsed_with_startup": elapsed, "results": results}


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return "\r\n".join(lines) + "\r\n\r\n" + body.decode("latin-1")


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPLEDGE_")}
    env.update({"LIVEPLEDGE_DATABASE_URL": database_url, "LIVEPLEDGE_REDIS_URL": redis_url,
                "LIVEPLEDGE_LOG_LEVEL": "warning", **extra})
    return env


def cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "livepledge", *args], env=env, text=True,
                            capture_output=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"livepledge {args[0]} failed: {result.stderr[-2000:]}")
    return result.stdout


class Server:
    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "livepledge", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(workers), "--no-migrate"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # readiness probe
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("server did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- databases --------------------------------------------------------------------------------

async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    name = f"lp_bench_{secrets.token_hex(5)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


async def _ledger(database_url: str, item_id: int) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            orders = (await conn.execute(text(
                "SELECT id, buyer_id, quantity FROM orders WHERE lineup_item_id = :i"),
                {"i": item_id})).all()
            item = (await conn.execute(text(
                "SELECT stock_allocated, stock_remaining, per_buyer_limit FROM lineup_items "
                "WHERE id = :i"), {"i": item_id})).one()
    finally:
        await engine.dispose()
    per_buyer: dict[int, int] = {}
    for order in orders:
        per_buyer[order.buyer_id] = per_buyer.get(order.buyer_id, 0) + order.quantity
    return {"ids": {o.id for o in orders}, "units": sum(o.quantity for o in orders),
            "allocated": item.stock_allocated, "remaining": item.stock_remaining,
            "over_limit_buyers": sum(1 for q in per_buyer.values() if q > item.per_buyer_limit)}


# --- one measured run -------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)


def seed(env: dict[str, str], buyers: int, stock: int) -> dict[str, Any]:
    out = cli(["demo", "--seed-only", "--json", "--buyers", str(buyers), "--stock", str(stock)],
              env)
    return json.loads(out)  # type: ignore[no-any-return]


def warm_tokens(server: Server, scenario: dict[str, Any], args: argparse.Namespace) -> None:
    requests = [http_request("GET", "/api/v1/orders", {"Authorization": f"Bearer {t}"})
                for t in scenario["buyer_tokens"] for _ in range(args.workers)]
    run_load("127.0.0.1", server.port, requests, connections=args.connections,
             procs=args.load_procs, parse=False)


def measure_noop(server: Server, count: int, args: argparse.Namespace) -> dict[str, Any]:
    requests = [http_request("GET", "/api/v1/noop", {})] * count
    run_load("127.0.0.1", server.port, requests[: max(200, count // 10)],
             connections=args.connections, procs=args.load_procs, parse=False)  # warm-up
    load = run_load("127.0.0.1", server.port, requests, connections=args.connections,
                    procs=args.load_procs, parse=False)
    latencies = [r[1] for r in load["results"]]
    ok = sum(1 for r in load["results"] if r[0] == 200)
    return {"requests": count, "ok": ok, "requests_per_second": round(count / load[
        "wall_seconds"], 1), "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99)}


def measure_buy(server: Server, scenario: dict[str, Any], database_url: str,
                args: argparse.Namespace) -> dict[str, Any]:
    path = f"/api/v1/sessions/{scenario['session_id']}/lineup/{scenario['item_id']}/orders"
    body = b'{"quantity": 1}'
    requests = [
        http_request("POST", path, {"Authorization": f"Bearer {token}",
                                    "Idempotency-Key": secrets.token_hex(12)}, body)
        for _ in range(args.presses) for token in scenario["buyer_tokens"]]
    load = run_load("127.0.0.1", server.port, requests, connections=args.connections,
                    procs=args.load_procs, parse=True)
    results = load["results"]
    accepted = [r for r in results if r[0] == 201]
    rejected = [r for r in results if r[0] == 409]
    other: dict[str, int] = {}
    for status, _, _ in results:
        if status not in (201, 409):
            other[str(status)] = other.get(str(status), 0) + 1
    db = asyncio.run(_ledger(database_url, scenario["item_id"]))
    acked = {r[2] for r in accepted}
    codes: dict[str, int] = {}
    for _, _, code in rejected:
        codes[code] = codes.get(code, 0) + 1
    return {
        "requests": len(results), "wall_seconds": round(load["wall_seconds"], 3),
        "requests_per_second": round(len(results) / load["wall_seconds"], 1),
        "accepted": len(accepted), "rejected": len(rejected), "rejected_by_code": codes,
        "other_statuses": other,
        "oversold": max(0, db["units"] - db["allocated"]),
        "buyers_over_limit": db["over_limit_buyers"],
        "lost_acknowledgements": len(acked - db["ids"]),
        "orders_in_db": len(db["ids"]), "stock_remaining": db["remaining"],
        "stock_consistent": db["remaining"] == db["allocated"] - db["units"],
        "accepted_p50_ms": percentile([r[1] for r in accepted], 0.5),
        "accepted_p99_ms": percentile([r[1] for r in accepted], 0.99),
        "rejected_p50_ms": percentile([r[1] for r in rejected], 0.5),
        "rejected_p99_ms": percentile([r[1] for r in rejected], 0.99),
        "mean_ms": round(statistics.fmean(r[1] for r in results), 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    database_url = create_database(args.db, workdir)
    redis_url = REDIS_URL if args.redis else ""
    if args.redis:
        flush_redis()
    servers: list[Server] = []
    try:
        env = base_env(database_url, redis_url)
        log(f"seeding {args.buyers} buyers, {args.stock} units ({args.db})")
        scenario = seed(env, args.buyers, args.stock)
        naive_scenario = seed(env, args.buyers, args.stock) if not args.skip_naive else None
        server = Server(env, args.workers, workdir / "server.log")
        servers.append(server)
        warm_tokens(server, scenario, args)
        log("no-op endpoint")
        noop = measure_noop(server, args.buyers * args.presses, args)
        log("buy burst (batched)")
        buy = measure_buy(server, scenario, database_url, args)
        server.stop()
        naive = None
        if naive_scenario is not None:
            log("buy burst (naive SELECT ... FOR UPDATE)")
            naive_server = Server(base_env(database_url, redis_url,
                                           LIVEPLEDGE_STOCK_GATE="naive"),
                                  args.workers, workdir / "naive.log")
            servers.append(naive_server)
            warm_tokens(naive_server, naive_scenario, args)
            naive = measure_buy(naive_server, naive_scenario, database_url, args)
            naive_server.stop()
    finally:
        for server in servers:
            server.stop()
        drop_database(database_url)
        if args.redis:
            flush_redis()
    return {
        "benchmark": "flash_sale",
        "shape": {"db": args.db, "redis": args.redis, "workers": args.workers},
        "load": {"buyers": args.buyers, "presses_per_buyer": args.presses,
                 "stock": args.stock, "per_buyer_limit": 1, "connections": args.connections,
                 "load_processes": args.load_procs, "cpus": os.cpu_count()},
        "noop": noop, "buy": buy, "naive": naive,
        "ratio_buy_to_noop": round(buy["requests_per_second"] / noop["requests_per_second"], 3),
        "ratio_buy_to_naive": (round(buy["requests_per_second"] / naive["requests_per_second"],
                                     2) if naive else None),
        "oversold": buy["oversold"] + (naive["oversold"] if naive else 0),
        "lost_acknowledgements": buy["lost_acknowledgements"]
        + (naive["lost_acknowledgements"] if naive else 0),
    }


def main() -> None:
    if "--load-worker" in sys.argv:
        load_worker_main()
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--redis", action="store_true", help="scale-out shape (Redis gate)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server workers (default 1; 2 with --redis)")
    parser.add_argument("--buyers", type=int, default=4000)
    parser.add_argument("--presses", type=int, default=2,
                        help="buy requests per buyer, each with its own Idempotency-Key")
    parser.add_argument("--stock", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--load-procs", type=int, default=1)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.redis else 1
    if args.redis and args.db != "postgresql":
        parser.error("--redis needs --db postgresql")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
