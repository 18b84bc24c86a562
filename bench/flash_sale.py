"""Flash-sale benchmark: steady load on the buy endpoint of a real `livepledge serve`.

    .venv/bin/python bench/flash_sale.py --db sqlite
    .venv/bin/python bench/flash_sale.py --db postgresql
    .venv/bin/python bench/flash_sale.py --db postgresql --redis --workers 2

In one run, with the same load client, connection count and request bytes (a POST with a JSON
body, a bearer token and an Idempotency-Key):
  1. noop: `POST /api/v1/sessions/{s}/lineup/{i}/noop`, the bench-only no-op
     (LIVEPLEDGE_BENCH_NOOP_ENDPOINT=1, refused in production) dispatched exactly like buy: as bare
     ASGI ahead of FastAPI, same path shape, same body read and answer object;
  2. buy: presses with distinct Idempotency-Keys on an item whose stock and per-buyer limit are
     large enough that every press succeeds (each one is an order written), so at least half of
     the presses succeed;
  3. naive: the same server restarted with LIVEPLEDGE_STOCK_GATE=naive (SELECT ... FOR UPDATE per
     request), same load on a freshly seeded item;
  4. crash: the buy load again on a fresh item, and the server (every process) SIGKILLed in the
     middle of it; then the database is read: every 201 must be an order on disk (lost
     acknowledgements), and nothing oversold.
With `--promises`, between 2 and 3 the same server also runs: "promised", the buy load on a
fresh item carrying five promises in force (保价, 发货时限, 赠品, 假一赔N, 保修: each order freezes
them), then "buy again" on the plain item; the promised rate is compared with the mean of the
two plain buy runs around it (so neither side gets the emptier database), target ≥ 0.9.
With `--consumers`, after 2 (and the promised runs) the server is restarted with the ledger and
the session record's consumers running in it (LIVEPLEDGE_CONSUMERS=ledger,record; every other
run has LIVEPLEDGE_CONSUMERS=none, so the buy is measured without the outbox's consumers): they
first catch up with the events of the earlier runs, then the buy load runs on the plain item,
the consumers' lag (events not yet read) is read as the window closes, and the time they take
to catch up once the load stops; then a server without consumers runs "buy again". The rate
with consumers is compared with the mean of the two plain runs around it (target ≥ 0.9, and
the consumers at most one second of orders behind at the end of the window: issues #11, #12).
Each of 1-3 is measured over a steady window (`--window`, default 10 s) that starts `--warmup`
seconds after every connection is open: requests completed inside the window ÷ its length, and
server CPU per request = CPU time of the server's processes (supervisor and workers, from /proc)
over the window ÷ requests completed in it, which holds on a busy machine. One JSON object is
printed to stdout, with the targets checked; progress goes to stderr.

The load runs in separate processes (`--load-procs`): a raw asyncio HTTP/1.1 keep-alive client
on uvloop, each connection pressing in a closed loop. Before the load each buyer makes one
authenticated request (as when opening the live room), so tokens are validated and cached.

PostgreSQL: a fresh database is created on LIVEPLEDGE_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards. Redis: the database of
LIVEPLEDGE_BENCH_REDIS (default redis://127.0.0.1:6379/10) is flushed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
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
    """Open every connection, wait for the common start, then press in a closed loop on each
    connection until the end. With `unique`, `{key}` in a request becomes a fresh key."""
    import orjson

    templates = [t.encode("latin-1") for t in job["templates"]]
    host, port = job["host"], job["port"]
    conns = [await asyncio.open_connection(host, port) for _ in range(job["connections"])]
    connected_at = time.time()
    await asyncio.sleep(max(0.0, job["start_at"] - time.time()))
    end = job["start_at"] + job["duration"]
    results: list[list[Any]] = []
    tag = job["tag"]

    async def loop(index: int, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
        template = templates[index % len(templates)]
        n = 0
        try:
            while time.time() < end:
                request = (template.replace(b"{key}", f"{tag}x{index}x{n}".encode())
                           if job["unique"] else template)
                n += 1
                started = time.perf_counter()
                writer.write(request)
                try:
                    status, body = await _read_response(reader)
                except (asyncio.IncompleteReadError, OSError):
                    results.append([time.time(), 0, 0.0, None])
                    return  # the server is gone (the crash run): this connection stops
                detail: Any = None
                if job["parse"] and body:
                    parsed = orjson.loads(body)
                    detail = parsed.get("id") if status in (200, 201) else parsed.get("code")
                results.append([time.time(), status,
                                round((time.perf_counter() - started) * 1000, 3), detail])
        finally:
            writer.close()

    await asyncio.gather(*(loop(i, r, w) for i, (r, w) in enumerate(conns)))
    return {"connected_at": connected_at, "results": results}


def load_worker_main() -> None:
    from _worker import run_job

    run_job("--load-worker", _run_load)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                stack.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                found.extend(int(c) for c in children)
                stack.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def run_steady(server: Server, templates: list[str], args: argparse.Namespace, *, unique: bool,
               parse: bool, crash_after: float | None = None,
               at_window_end: Any = None) -> dict[str, Any]:
    """Run the load for warm-up + window (+ a short tail); measure over the window only. With
    `crash_after`, SIGKILL the server that many seconds into the window instead.
    `at_window_end()`, if given, is called as the window closes (the load still running) and its
    result returned as "at_window_end"."""
    workdir = Path(tempfile.mkdtemp(prefix="lp-load-"))
    start_at = time.time() + args.connect_grace
    duration = args.warmup + args.window + 1.0
    children = []
    for n in range(args.load_procs):
        job = {"host": "127.0.0.1", "port": server.port, "templates": templates[n::args.load_procs]
               or templates, "unique": unique, "parse": parse, "tag": f"{secrets.token_hex(4)}p{n}",
               "connections": max(1, args.connections // args.load_procs),
               "start_at": start_at, "duration": duration,
               "output": str(workdir / f"out{n}.json")}
        (workdir / f"job{n}.json").write_text(json.dumps(job))
        children.append(subprocess.Popen(
            [sys.executable, __file__, "--load-worker", str(workdir / f"job{n}.json")]))
    window_start = start_at + args.warmup
    sleep_until(window_start)
    cpu_start, t_start = tree_cpu_seconds(server.process.pid), time.time()
    crashed = False
    if crash_after is not None:
        sleep_until(window_start + crash_after)
        server.crash()
        crashed = True
        cpu_end, t_end = cpu_start, time.time()
    else:
        sleep_until(window_start + args.window)
        cpu_end, t_end = tree_cpu_seconds(server.process.pid), time.time()
    observed = at_window_end() if at_window_end is not None else None
    outputs = []
    for n, child in enumerate(children):
        if child.wait() != 0:
            raise SystemExit(f"load process {n} failed")
        outputs.append(json.loads((workdir / f"out{n}.json").read_text()))
    results = [r for o in outputs for r in o["results"]]
    connected_at = max(o["connected_at"] for o in outputs)
    inside = [r for r in results if t_start <= r[0] < t_end]
    seconds = t_end - t_start
    out: dict[str, Any] = {
        "window_seconds": round(seconds, 2),
        "window_starts_after_connections_open_s": round(t_start - connected_at, 2),
        "requests_in_window": len(inside),
        "requests_per_second": round(len(inside) / seconds, 1) if seconds > 0 else None,
        "server_cpu_seconds": round(cpu_end - cpu_start, 2),
        "server_cpu_us_per_request": (round((cpu_end - cpu_start) / len(inside) * 1e6, 1)
                                      if inside and not crashed else None),
        "statuses": _count(str(r[1]) for r in inside),
        "p50_ms": percentile([r[2] for r in inside if r[1]], 0.5),
        "p99_ms": percentile([r[2] for r in inside if r[1]], 0.99),
        "requests_total": len(results),
    }
    if at_window_end is not None:
        out["at_window_end"] = observed
    if parse:
        out["rejected_by_code"] = _count(str(r[3]) for r in inside if r[1] == 409)
        out["_acked_ids"] = {r[3] for r in results if r[1] == 201}
        out["success_share"] = (round(sum(1 for r in inside if r[1] == 201) / len(inside), 3)
                                if inside else None)
    return out


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


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

    def crash(self) -> None:
        """SIGKILL the supervisor first (so it cannot restart workers), then every worker."""
        workers = descendants(self.process.pid)
        self.process.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        self.process.wait()

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


def prepare_item(database_url: str, item_id: int, *, stock: int, limit: int) -> None:
    """Give the seeded item `stock` units and a per-buyer limit of `limit` (before any server
    has read it)."""
    async def run() -> None:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(
                    "UPDATE lineup_items SET stock_allocated = :s, stock_remaining = :s, "
                    "per_buyer_limit = :l WHERE id = :i"), {"s": stock, "l": limit, "i": item_id})
        finally:
            await engine.dispose()
    asyncio.run(run())


def warm_tokens(server: Server, scenario: dict[str, Any], args: argparse.Namespace) -> None:
    import urllib.request as request

    for token in scenario["buyer_tokens"]:
        for _ in range(args.workers):  # each worker caches tokens of its own
            req = request.Request(f"http://127.0.0.1:{server.port}/api/v1/orders",
                                  headers={"Authorization": f"Bearer {token}"})
            with request.urlopen(req, timeout=30):
                pass


def press_templates(scenario: dict[str, Any], endpoint: str) -> list[str]:
    path = (f"/api/v1/sessions/{scenario['session_id']}/lineup/{scenario['item_id']}/"
            f"{endpoint}")
    return [http_request("POST", path, {"Authorization": f"Bearer {token}",
                                        "Idempotency-Key": "{key}"}, b'{"quantity": 1}')
            for token in scenario["buyer_tokens"]]


PROMISES = (("price_protection", {"days": 30}), ("shipping_deadline", {"hours": 48}),
            ("gift", {"name": "试饮装 10g", "quantity": 1}),
            ("counterfeit_compensation", {"multiple": 3}), ("warranty", {"months": 12}))


def declare_promises(server: Server, scenario: dict[str, Any]) -> int:
    """Five promises on the scenario's lineup item, declared through the API as a merchant
    does (the live room republishes the item)."""
    for kind, terms in PROMISES:
        body = json.dumps({"kind": kind, "terms": terms, "scope": {
            "type": "lineup_item", "id": scenario["item_id"]}}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/v1/shops/{scenario['shop_id']}/promises",
            data=body, method="POST", headers={
                "Authorization": f"Bearer {scenario['merchant_token']}",
                "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            assert response.status == 201
    return len(PROMISES)


async def _frozen_promises(database_url: str, item_id: int) -> list[int]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT snapshot FROM orders WHERE lineup_item_id = :i"), {"i": item_id})).all()
    finally:
        await engine.dispose()
    counts = set()
    for (snapshot,) in rows:
        data = json.loads(snapshot) if isinstance(snapshot, str) else snapshot
        counts.add(len((data or {}).get("promises", [])))
    return sorted(counts)


# The outbox consumers of issues #11 and #12, run in the server for the `--consumers` window;
# the other runs have LIVEPLEDGE_CONSUMERS=none (docs/benchmarks.md).
MEASURED_CONSUMERS = ("ledger", "record")


async def _consumer_lag(database_url: str, names: tuple[str, ...]) -> dict[str, int]:
    from livepledge.infra.consumers import lag
    from livepledge.infra.db import Database

    db = Database(database_url)
    try:
        return {name: await lag(db, name) for name in names}
    finally:
        await db.dispose()


def consumer_lag(database_url: str) -> dict[str, int]:
    """Events written that each measured consumer has not read yet."""
    return asyncio.run(_consumer_lag(database_url, MEASURED_CONSUMERS))


def wait_caught_up(database_url: str, timeout: float) -> float | None:
    """Seconds until every measured consumer has read every event (None: not within
    `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not any(consumer_lag(database_url).values()):
            return round(time.monotonic() - started, 2)
        time.sleep(0.1)
    return None


def with_ledger(run: dict[str, Any], database_url: str, item_id: int) -> dict[str, Any]:
    db = asyncio.run(_ledger(database_url, item_id))
    acked = run.pop("_acked_ids", set())
    run.update({
        "acknowledged": len(acked), "orders_in_db": len(db["ids"]),
        "lost_acknowledgements": len(acked - db["ids"]),
        "oversold": max(0, db["units"] - db["allocated"]),
        "buyers_over_limit": db["over_limit_buyers"],
        "stock_consistent": db["remaining"] == db["allocated"] - db["units"],
    })
    return run


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    database_url = create_database(args.db, workdir)
    redis_url = REDIS_URL if args.redis else ""
    if args.redis:
        flush_redis()
    servers: list[Server] = []
    big = 10_000_000  # stock and per-buyer limit no steady run can exhaust: every press succeeds
    try:
        # The buy without the outbox consumers in the server; `--consumers` adds a run with the
        # ledger and the record running (each server runs all of them by default).
        env = base_env(database_url, redis_url, LIVEPLEDGE_BENCH_NOOP_ENDPOINT="1",
                       LIVEPLEDGE_CONSUMERS="none")
        log(f"seeding {args.buyers} buyers ({args.db})")
        names = ["buy", "naive", "crash"] + (["promised"] if args.promises else [])
        scenarios = {name: seed(env, args.buyers, 10) for name in names
                     if name != "naive" or not args.skip_naive}
        for scenario in scenarios.values():
            prepare_item(database_url, scenario["item_id"], stock=big, limit=big)
        buy_scenario = scenarios["buy"]
        server = Server(env, args.workers, workdir / "server.log")
        servers.append(server)
        warm_tokens(server, buy_scenario, args)
        log("no-op (dispatched like buy)")
        run_steady(server, press_templates(buy_scenario, "noop"), args, unique=True,
                   parse=False)  # warm-up run, discarded
        noop = run_steady(server, press_templates(buy_scenario, "noop"), args, unique=True,
                          parse=False)
        log("buy (every press succeeds)")
        buy = with_ledger(run_steady(server, press_templates(buy_scenario, "orders"), args,
                                     unique=True, parse=True), database_url,
                          buy_scenario["item_id"])
        promised = buy_again = None
        if args.promises:
            log("promised: buy on an item with five promises in force")
            promised_scenario = scenarios["promised"]
            warm_tokens(server, promised_scenario, args)
            declare_promises(server, promised_scenario)
            promised = with_ledger(run_steady(server, press_templates(promised_scenario,
                                                                      "orders"),
                                              args, unique=True, parse=True),
                                   database_url, promised_scenario["item_id"])
            promised["promises_frozen_per_order"] = asyncio.run(_frozen_promises(
                database_url, promised_scenario["item_id"]))
            log("buy again (plain item), to bracket the promised run")
            buy_again = with_ledger(run_steady(server, press_templates(buy_scenario, "orders"),
                                               args, unique=True, parse=True), database_url,
                                    buy_scenario["item_id"])
        server.stop()
        consumed = buy_after = None
        if args.consumers:
            log(f"consumers: {', '.join(MEASURED_CONSUMERS)} in the server (catching up first)")
            consumer_server = Server({**env, "LIVEPLEDGE_CONSUMERS": ",".join(
                MEASURED_CONSUMERS)}, args.workers, workdir / "consumers.log")
            servers.append(consumer_server)
            caught_up_before = wait_caught_up(database_url, timeout=600)
            if caught_up_before is None:
                raise SystemExit("the consumers did not catch up with the earlier runs")
            warm_tokens(consumer_server, buy_scenario, args)
            consumed = with_ledger(run_steady(
                consumer_server, press_templates(buy_scenario, "orders"), args, unique=True,
                parse=True, at_window_end=lambda: consumer_lag(database_url)),
                database_url, buy_scenario["item_id"])
            lag_at_end = consumed.pop("at_window_end")
            consumed["catch_up_before_load_s"] = caught_up_before
            consumed["consumer_lag_at_window_end"] = lag_at_end
            consumed["consumer_lag_at_window_end_s"] = {
                name: round(value / consumed["requests_per_second"], 2)
                if consumed["requests_per_second"] else None for name, value in lag_at_end.items()}
            consumed["caught_up_after_load_s"] = wait_caught_up(database_url, timeout=120)
            consumer_server.stop()
            log("buy again without consumers, to bracket the consumers run")
            after_server = Server(env, args.workers, workdir / "after.log")
            servers.append(after_server)
            warm_tokens(after_server, buy_scenario, args)
            buy_after = with_ledger(run_steady(after_server, press_templates(buy_scenario,
                                                                              "orders"),
                                               args, unique=True, parse=True), database_url,
                                    buy_scenario["item_id"])
            after_server.stop()
        naive = None
        if "naive" in scenarios:
            log("naive (SELECT ... FOR UPDATE per press)")
            naive_server = Server(base_env(database_url, redis_url, LIVEPLEDGE_STOCK_GATE="naive",
                                           LIVEPLEDGE_BENCH_NOOP_ENDPOINT="1"),
                                  args.workers, workdir / "naive.log")
            servers.append(naive_server)
            warm_tokens(naive_server, scenarios["naive"], args)
            naive = with_ledger(run_steady(naive_server, press_templates(scenarios["naive"],
                                                                         "orders"),
                                           args, unique=True, parse=True),
                                database_url, scenarios["naive"]["item_id"])
            naive_server.stop()
        log("crash: SIGKILL mid-load")
        crash_server = Server(env, args.workers, workdir / "crash.log")
        servers.append(crash_server)
        warm_tokens(crash_server, scenarios["crash"], args)
        crash = with_ledger(run_steady(crash_server, press_templates(scenarios["crash"],
                                                                     "orders"),
                                       args, unique=True, parse=True,
                                       crash_after=args.crash_after),
                            database_url, scenarios["crash"]["item_id"])
    finally:
        for server in servers:
            server.stop()
        drop_database(database_url)
        if args.redis:
            flush_redis()
    ratio_noop = round(buy["requests_per_second"] / noop["requests_per_second"], 3)
    ratio_naive = (round(buy["requests_per_second"] / naive["requests_per_second"], 2)
                   if naive else None)
    targets = {
        "buy >= 0.5 x no-op dispatched like buy, with at least half the presses succeeding": {
            "value": ratio_noop, "success_share": buy["success_share"],
            "met": ratio_noop >= 0.5 and (buy["success_share"] or 0) >= 0.5},
        "no oversell, no lost acknowledgement (steady runs and the crash run)": {
            "met": all(r["oversold"] == 0 and r["lost_acknowledgements"] == 0
                       and r["stock_consistent"] for r in (buy, naive, crash, promised,
                                                             buy_again, consumed, buy_after)
                       if r)},
    }
    ratio_consumed = None
    if consumed and buy_after:
        plain = (buy["requests_per_second"] + buy_after["requests_per_second"]) / 2
        ratio_consumed = round(consumed["requests_per_second"] / plain, 3)
        # Kept up: at the end of the window no consumer is more than one second of orders
        # behind (they poll every LIVEPLEDGE_CONSUMER_POLL_SECONDS = 0.5 s).
        behind = consumed["consumer_lag_at_window_end_s"]
        kept_up = all(v is not None and v <= 1.0 for v in behind.values())
        targets["buy with the ledger and record consumers running >= 0.9 x buy without "
                "(mean of the runs around it), consumers keeping up (issues #11, #12)"] = {
            "value": ratio_consumed,
            "cpu_ratio": round(consumed["server_cpu_us_per_request"] / (
                (buy["server_cpu_us_per_request"] + buy_after["server_cpu_us_per_request"]) / 2),
                3),
            "orders_per_second": consumed["requests_per_second"],
            "lag_at_window_end_s": behind, "kept_up": kept_up,
            "met": ratio_consumed >= 0.9 and kept_up}
    ratio_promised = None
    if promised and buy_again:
        plain = (buy["requests_per_second"] + buy_again["requests_per_second"]) / 2
        ratio_promised = round(promised["requests_per_second"] / plain, 3)
        targets["buy with promises >= 0.9 x buy without (mean of the runs around it)"] = {
            "value": ratio_promised,
            "cpu_ratio": round(promised["server_cpu_us_per_request"] / (
                (buy["server_cpu_us_per_request"] + buy_again["server_cpu_us_per_request"]) / 2),
                3),
            "every_order_froze_all_promises": promised["promises_frozen_per_order"] == [
                len(PROMISES)],
            "met": ratio_promised >= 0.9 and promised["promises_frozen_per_order"] == [
                len(PROMISES)]}
    if args.db == "postgresql":
        targets["buy >= 20 x naive on PostgreSQL"] = {
            "value": ratio_naive, "met": ratio_naive is not None and ratio_naive >= 20}
    return {
        "benchmark": "flash_sale",
        "shape": {"db": args.db, "redis": args.redis, "workers": args.workers},
        "load": {"buyers": args.buyers, "connections": args.connections,
                 "load_processes": args.load_procs, "warmup_s": args.warmup,
                 "window_s": args.window, "cpus": os.cpu_count(),
                 "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "noop": noop, "buy": buy, "naive": naive, "crash": crash,
        "promised": promised, "buy_again": buy_again, "ratio_promised_to_buy": ratio_promised,
        "consumers": consumed, "buy_after_consumers": buy_after,
        "ratio_consumers_to_buy": ratio_consumed,
        "ratio_buy_to_noop": ratio_noop, "ratio_buy_to_naive": ratio_naive,
        "cpu_ratio_buy_to_noop": (round(buy["server_cpu_us_per_request"]
                                        / noop["server_cpu_us_per_request"], 2)
                                  if noop["server_cpu_us_per_request"] else None),
        "targets": targets,
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
    parser.add_argument("--buyers", type=int, default=256)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--load-procs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of load after every connection is open, not measured")
    parser.add_argument("--window", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--connect-grace", type=float, default=3.0,
                        help="seconds the load processes get to open their connections")
    parser.add_argument("--crash-after", type=float, default=3.0,
                        help="crash run: seconds into the window before SIGKILL")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--consumers", action="store_true",
                        help="also compare buying with the ledger and record consumers running "
                             "in the server (issues #11, #12)")
    parser.add_argument("--consumer-names", default="ledger,record",
                        help="with --consumers: which consumers run in the server")
    parser.add_argument("--promises", action="store_true",
                        help="also compare buying an item with promises in force (issue #9)")
    args = parser.parse_args()
    global MEASURED_CONSUMERS
    MEASURED_CONSUMERS = tuple(n.strip() for n in args.consumer_names.split(",") if n.strip())
    if args.workers is None:
        args.workers = 2 if args.redis else 1
    if args.redis and args.db != "postgresql":
        parser.error("--redis needs --db postgresql")
    if args.window < 10:
        log(f"note: a {args.window} s window is shorter than the 10 s the targets ask for")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
