"""Coupon claim burst (领券): 10,000 buyers each press 领券 once on a coupon of 1,000, against a
real `livepledge serve`.

    .venv/bin/python bench/coupons.py --db sqlite
    .venv/bin/python bench/coupons.py --db postgresql --redis --workers 2

In one run, with the same load client, connections and request bytes (a POST with a bearer
token and an Idempotency-Key, no body):
  0. warm-up: every buyer opens the room's coupon list (GET /sessions/{s}/coupons, as opening
     the live room does), so tokens are validated and cached; not measured;
  1. noop: `POST /api/v1/coupons/{c}/noop`, the bench-only no-op (LIVEPLEDGE_BENCH_NOOP_ENDPOINT=1,
     404 otherwise) routed exactly like a claim (same router, middleware and path shape), doing
     nothing: one burst of one request per buyer;
  2. claim: `POST /api/v1/coupons/{c}/claims`, one request per buyer, all at once;
  3. noop again (the baseline is the mean of 1 and 3, so neither side gets the quieter moment).
Each burst is measured from the common start to its last answer: requests ÷ elapsed seconds,
and server CPU per request = CPU time of the server's processes (from /proc) over the burst ÷
requests. Then the database is read: claims stored, over-issued (stored − budget, must be 0),
acknowledged 201s missing from the database (must be 0), buyers holding more than the limit.
One JSON object goes to stdout with the targets checked; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import (
    REDIS_URL,
    Server,
    _read_response,
    base_env,
    create_database,
    drop_database,
    flush_redis,
    http_request,
    percentile,
    seed,
    tree_cpu_seconds,
)


def log(message: str) -> None:
    print(f"[coupons] {message}", file=sys.stderr, flush=True)


async def _burst(job: dict[str, Any]) -> dict[str, Any]:
    """Open every connection, wait for the common start, then send this process's requests,
    each connection its share one after another (a buyer presses once)."""
    import orjson

    requests = [r.encode("latin-1") for r in job["requests"]]
    conns = [await asyncio.open_connection(job["host"], job["port"])
             for _ in range(min(job["connections"], len(requests)))]
    await asyncio.sleep(max(0.0, job["start_at"] - time.time()))
    results: list[list[Any]] = []

    async def loop(index: int, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
        for request in requests[index::len(conns)]:
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            detail: Any = None
            if job["parse"] and body:
                parsed = orjson.loads(body)
                detail = parsed.get("id") if status in (200, 201) else parsed.get("code")
            results.append([time.time(), status,
                            round((time.perf_counter() - started) * 1000, 3), detail])
        writer.close()

    await asyncio.gather(*(loop(i, r, w) for i, (r, w) in enumerate(conns)))
    return {"results": results}


def burst(server: Server, requests: list[str], args: argparse.Namespace, *,
          parse: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-coupon-load-"))
    start_at = time.time() + args.connect_grace
    children = []
    for n in range(args.load_procs):
        job = {"host": "127.0.0.1", "port": server.port, "requests": requests[n::args.load_procs],
               "parse": parse, "connections": max(1, args.connections // args.load_procs),
               "start_at": start_at, "output": str(workdir / f"out{n}.json")}
        (workdir / f"job{n}.json").write_text(json.dumps(job))
        children.append(subprocess.Popen(
            [sys.executable, __file__, "--load-worker", str(workdir / f"job{n}.json")]))
    time.sleep(max(0.0, start_at - time.time()))
    cpu_start = tree_cpu_seconds(server.process.pid)
    for n, child in enumerate(children):
        if child.wait() != 0:
            raise SystemExit(f"load process {n} failed")
    cpu_end = tree_cpu_seconds(server.process.pid)
    results = [r for n in range(args.load_procs)
               for r in json.loads((workdir / f"out{n}.json").read_text())["results"]]
    elapsed = max(r[0] for r in results) - start_at
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    out: dict[str, Any] = {
        "requests": len(results), "seconds": round(elapsed, 3),
        "requests_per_second": round(len(results) / elapsed, 1),
        "server_cpu_seconds": round(cpu_end - cpu_start, 3),
        "server_cpu_us_per_request": round((cpu_end - cpu_start) / len(results) * 1e6, 1),
        "statuses": statuses,
        "p50_ms": percentile([r[2] for r in results], 0.5),
        "p99_ms": percentile([r[2] for r in results], 0.99),
    }
    if parse:
        codes: dict[str, int] = {}
        for r in results:
            if r[1] == 409:
                codes[str(r[3])] = codes.get(str(r[3]), 0) + 1
        out["refused_by_code"] = codes
        out["_acked_ids"] = {r[3] for r in results if r[1] == 201}
    return out


def post_json(port: int, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 method="POST", headers={"Authorization": f"Bearer {token}",
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def create_coupon(server: Server, scenario: dict[str, Any], budget: int,
                  targeting: dict[str, Any] | None = None) -> int:
    now = datetime.now(UTC)
    return int(post_json(server.port, f"/api/v1/shops/{scenario['shop_id']}/coupons",
                         scenario["merchant_token"], {
        "title": "直播间无门槛券", "kind": "no_threshold", "amount_off": 500, "budget": budget,
        "per_buyer_limit": 1, "claim_starts_at": (now - timedelta(minutes=1)).isoformat(),
        "claim_ends_at": (now + timedelta(hours=2)).isoformat(), "valid_days": 7,
        **(targeting or {})})["id"])


def targeting_for(server: Server, scenario: dict[str, Any], args: argparse.Namespace,
                  tokens: list[str]) -> dict[str, Any] | None:
    """--target level | segment: every buyer joins the fan club first (a burst, not measured);
    the coupon is for fan level 1+, or for a saved segment of the club's members."""
    if args.target == "none":
        return None
    log(f"every buyer joins the fan club ({args.target}-targeted coupon)")
    joins = [http_request("PUT", f"/api/v1/shops/{scenario['shop_id']}/fan-club/membership",
                          {"Authorization": f"Bearer {t}"}) for t in tokens]
    joined = burst(server, joins, args, parse=False)
    if joined["statuses"] != {"200": len(tokens)}:
        raise SystemExit(f"joining failed: {joined['statuses']}")
    # 10,000 FanJoined events: let the event consumers (webhooks, …) finish with them first, so
    # their catching up is not counted in the bursts that follow
    args.consumers_caught_up = asyncio.run(_consumers_caught_up(args.database_url))
    if args.target == "level":
        return {"min_fan_level": 1}
    segment = post_json(server.port, f"/api/v1/shops/{scenario['shop_id']}/segments",
                        scenario["merchant_token"],
                        {"name": "粉丝团成员", "filter": {"members_only": True}})
    return {"segment_id": segment["id"]}


async def _consumers_caught_up(database_url: str, limit: float = 120.0) -> bool:
    """Wait (polling the database) until every consumer's checkpoint has passed the newest
    event, for at most `limit` seconds."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                newest = (await conn.execute(text("SELECT max(id) FROM events"))).scalar() or 0
                behind = (await conn.execute(text(
                    "SELECT count(*) FROM consumer_checkpoints WHERE last_id < :n"),
                    {"n": newest})).scalar()
            if not behind:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await engine.dispose()


async def _stored(database_url: str, coupon_id: int) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            claims = (await conn.execute(text(
                "SELECT id, buyer_id FROM coupon_claims WHERE coupon_id = :c"),
                {"c": coupon_id})).all()
            coupon = (await conn.execute(text(
                "SELECT budget, remaining FROM coupons WHERE id = :c"), {"c": coupon_id})).one()
    finally:
        await engine.dispose()
    per_buyer: dict[int, int] = {}
    for claim in claims:
        per_buyer[claim.buyer_id] = per_buyer.get(claim.buyer_id, 0) + 1
    return {"ids": {c.id for c in claims}, "budget": coupon.budget,
            "remaining": coupon.remaining,
            "over_limit_buyers": sum(1 for n in per_buyer.values() if n > 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-coupon-bench-"))
    database_url = create_database(args.db, workdir)
    args.database_url = database_url
    args.consumers_caught_up = None
    redis_url = REDIS_URL if args.redis else ""
    if args.redis:
        flush_redis()
    server = None
    try:
        env = base_env(database_url, redis_url, LIVEPLEDGE_BENCH_NOOP_ENDPOINT="1",
                       LIVEPLEDGE_TOKEN_CACHE_SECONDS="600")
        log(f"seeding {args.buyers} buyers ({args.db})")
        scenario = seed(env, args.buyers, 10)
        server = Server(env, args.workers, workdir / "server.log")
        tokens = scenario["buyer_tokens"]
        coupon_id = create_coupon(server, scenario, args.budget,
                                  targeting_for(server, scenario, args, tokens))
        warm = [http_request("GET", f"/api/v1/sessions/{scenario['session_id']}/coupons",
                             {"Authorization": f"Bearer {t}"}) for t in tokens]

        def presses(endpoint: str, tag: str) -> list[str]:
            return [http_request("POST", f"/api/v1/coupons/{coupon_id}/{endpoint}", {
                "Authorization": f"Bearer {t}", "Idempotency-Key": f"{tag}-{i}"})
                for i, t in enumerate(tokens)]

        log("warm-up: every buyer opens the room's coupons")
        for _ in range(max(1, args.workers)):
            burst(server, warm, args, parse=False)
        log("no-op burst")
        noop = burst(server, presses("noop", "n1"), args, parse=False)
        log("claim burst")
        claim = burst(server, presses("claims", secrets.token_hex(4)), args, parse=True)
        log("no-op burst again")
        noop_again = burst(server, presses("noop", "n2"), args, parse=False)
        stored = asyncio.run(_stored(database_url, coupon_id))
    finally:
        if server is not None:
            server.stop()
        drop_database(database_url)
        if args.redis:
            flush_redis()
    acked = claim.pop("_acked_ids")
    claim.update({
        "acknowledged": len(acked), "claims_in_db": len(stored["ids"]),
        "over_issued": max(0, len(stored["ids"]) - stored["budget"]),
        "lost_acknowledgements": len(acked - stored["ids"]),
        "buyers_over_limit": stored["over_limit_buyers"],
        "budget_consistent": stored["remaining"] == stored["budget"] - len(stored["ids"]),
    })
    baseline = (noop["requests_per_second"] + noop_again["requests_per_second"]) / 2
    ratio = round(claim["requests_per_second"] / baseline, 3)
    baseline_cpu = (noop["server_cpu_us_per_request"]
                    + noop_again["server_cpu_us_per_request"]) / 2
    return {
        "benchmark": "coupons",
        "shape": {"db": args.db, "redis": args.redis, "workers": args.workers,
                  "target": args.target, "consumers_caught_up": args.consumers_caught_up},
        "load": {"buyers": args.buyers, "budget": args.budget, "connections": args.connections,
                 "load_processes": args.load_procs, "cpus": os.cpu_count(),
                 "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "noop": noop, "claim": claim, "noop_again": noop_again,
        "ratio_claim_to_noop": ratio,
        "cpu_ratio_claim_to_noop": round(claim["server_cpu_us_per_request"] / baseline_cpu, 2),
        "targets": {
            "0 over-issued, every 201 stored, limit held, budget consistent": {
                "met": claim["over_issued"] == 0 and claim["lost_acknowledgements"] == 0
                and claim["buyers_over_limit"] == 0 and claim["budget_consistent"]
                and claim["acknowledged"] == min(args.budget, args.buyers)},
            "claims/s >= 0.5 x a no-op dispatched the same way": {
                "value": ratio, "met": ratio >= 0.5},
        },
    }


def main() -> None:
    if "--load-worker" in sys.argv:
        from _worker import run_job

        run_job("--load-worker", _burst)
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--redis", action="store_true", help="scale-out shape (Redis gate)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server workers (default 1; 2 with --redis)")
    parser.add_argument("--buyers", type=int, default=10_000)
    parser.add_argument("--budget", type=int, default=1_000)
    parser.add_argument("--target", choices=["none", "level", "segment"], default="none",
                        help="a coupon targeted by fan level or segment (every buyer joins "
                             "the fan club first; eligibility comes from the targeting cache)")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--load-procs", type=int, default=1)
    parser.add_argument("--connect-grace", type=float, default=3.0,
                        help="seconds the load processes get to open their connections")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.redis else 1
    if args.redis and args.db != "postgresql":
        parser.error("--redis needs --db postgresql")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
