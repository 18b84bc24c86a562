"""Live-room benchmark: N WebSocket viewers in one live session of a real `livepledge serve`.

    .venv/bin/python bench/live_room.py --viewers 1000
    .venv/bin/python bench/live_room.py --viewers 1000 --db postgresql --redis   # 2 workers

Viewers connect from `--load-procs` separate processes (anonymous viewers, one WebSocket each) and
wait for their snapshot. Then a driver, for `--seconds`, posts chat over HTTP from several buyers
(`--chat-rate` messages/s in total, each text carrying its send time) and buys one unit every
`--buy-interval` seconds (each buy changes the stock shown to every viewer). Viewers timestamp
what they receive. Printed JSON: messages delivered per second (WebSocket frames and chat lines),
the share of chat lines delivered to every viewer, and p50/p99 latency of chat delivery (post sent
-> line received) and of stock updates (buy sent -> new stock received).

Chat is coalesced into ~100 ms ticks by design, so chat latency includes up to one tick. The chat
rate limit is switched off for the bench (LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS=0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import (
    REDIS_URL,
    Server,
    base_env,
    create_database,
    drop_database,
    flush_redis,
    percentile,
    seed,
)


def log(message: str) -> None:
    print(f"[live_room] {message}", file=sys.stderr, flush=True)


# --- viewers (each process holds a share of the WebSockets) -----------------------------------


class Tally:
    """What the viewers of one load process received."""

    def __init__(self) -> None:
        self.connected = 0
        self.closed_early = 0
        self.frames = 0
        self.chat_lines = 0
        self.chat_latencies: list[float] = []
        self.stock_receipts: dict[int, list[float]] = {}  # stock level -> receive times

    def record(self, raw: str | bytes, now: float) -> None:
        message = json.loads(raw)
        self.frames += 1
        kind = message.get("type")
        if kind == "tick":
            for line in message["chat"]:
                if line["text"].startswith("bench t="):
                    self.chat_lines += 1
                    sent = float(line["text"].split("=")[1])
                    self.chat_latencies.append((now - sent) * 1000)
        elif kind == "stock":
            level = int(message["stock_remaining"])
            self.stock_receipts.setdefault(level, []).append(now)


async def _viewer(url: str, tally: Tally, stopping: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(url, max_queue=None, open_timeout=60,
                                      ping_interval=None) as socket:
            await socket.recv()  # snapshot
            tally.connected += 1
            while True:
                try:
                    raw = await asyncio.wait_for(socket.recv(), 0.5)
                except TimeoutError:
                    if stopping.is_set():  # the driver is done and the room is quiet
                        return
                    continue
                tally.record(raw, time.time())
    except Exception:  # a viewer the server dropped (slow consumer) or refused
        tally.closed_early += 1


async def _viewers(job: dict[str, Any]) -> dict[str, Any]:
    stop_file = Path(job["stop_file"])
    tally = Tally()
    stopping = asyncio.Event()

    async def watch_stop_file() -> None:
        while not stop_file.exists():
            await asyncio.sleep(0.1)
        stopping.set()

    watcher = asyncio.create_task(watch_stop_file())
    tasks = []
    for n in range(job["count"]):
        url = f"{job['url']}?device=bench{job['index']}x{n}"
        tasks.append(asyncio.create_task(_viewer(url, tally, stopping)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # connect in waves, as a room fills
    while tally.connected + tally.closed_early < job["count"]:
        await asyncio.sleep(0.05)
    ready = Path(job["ready_file"])
    ready.with_suffix(".tmp").write_text(str(tally.connected))
    ready.with_suffix(".tmp").replace(ready)  # atomic: the parent never reads half a file
    await asyncio.gather(*tasks)
    await watcher
    return {"connected": tally.connected, "closed_early": tally.closed_early,
            "frames": tally.frames, "chat_lines": tally.chat_lines,
            "chat_latencies_ms": tally.chat_latencies,
            "stock_receipts": {str(k): v for k, v in tally.stock_receipts.items()}}


def viewer_main() -> None:
    from _worker import run_job

    run_job("--viewers-worker", _viewers)


# --- the driver -------------------------------------------------------------------------------

async def drive(base_url: str, scenario: dict[str, Any], args: argparse.Namespace,
                allocated: int) -> dict[str, Any]:
    import httpx

    tokens = scenario["buyer_tokens"]
    chatters = tokens[: args.chatters]
    buyers = tokens[args.chatters:]
    session = scenario["session_id"]
    buy_path = f"/api/v1/sessions/{session}/lineup/{scenario['item_id']}/orders"
    chats_sent = 0
    chat_errors: dict[str, int] = {}
    buys: list[dict[str, Any]] = []
    end = time.monotonic() + args.seconds

    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False,
                                 limits=httpx.Limits(max_connections=64)) as http:
        async def chatter(token: str, interval: float) -> None:
            nonlocal chats_sent
            next_at = time.monotonic()
            while time.monotonic() < end:
                response = await http.post(f"/api/v1/sessions/{session}/chat",
                                           json={"text": f"bench t={time.time():.6f}"},
                                           headers={"Authorization": f"Bearer {token}"})
                if response.status_code == 201:
                    chats_sent += 1
                else:
                    key = str(response.status_code)
                    chat_errors[key] = chat_errors.get(key, 0) + 1
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        async def buyer() -> None:
            for index, token in enumerate(buyers):
                if time.monotonic() >= end:
                    return
                sent = time.time()
                response = await http.post(buy_path, json={"quantity": 1}, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": f"live-{index}"})
                if response.status_code == 201:
                    buys.append({"sent": sent, "level": allocated - len(buys) - 1})
                await asyncio.sleep(args.buy_interval)

        interval = args.chatters / args.chat_rate
        await asyncio.gather(buyer(), *(chatter(t, interval) for t in chatters))
    return {"chats_sent": chats_sent, "chat_errors": chat_errors, "buys": buys}


def start_viewers(ws_url: str, args: argparse.Namespace, workdir: Path,
                  children: list[subprocess.Popen[bytes]]) -> tuple[int, float, Path]:
    """Start the viewer processes and wait until every viewer has its snapshot."""
    started = time.time()
    stop_file = workdir / "stop"
    ready_files = []
    for index in range(args.load_procs):
        share = args.viewers // args.load_procs + (index < args.viewers % args.load_procs)
        job = {"url": ws_url, "count": share, "index": index, "stop_file": str(stop_file),
               "ready_file": str(workdir / f"ready{index}"),
               "output": str(workdir / f"viewers{index}.json")}
        ready_files.append(Path(job["ready_file"]))
        (workdir / f"job{index}.json").write_text(json.dumps(job))
        children.append(subprocess.Popen([sys.executable, __file__, "--viewers-worker",
                                          str(workdir / f"job{index}.json")]))
    log(f"connecting {args.viewers} viewers")
    deadline = time.time() + args.connect_timeout
    while not all(f.exists() for f in ready_files):  # readiness, not a measurement
        if time.time() > deadline or any(c.poll() is not None for c in children):
            raise SystemExit("viewers did not connect in time")
        time.sleep(0.1)
    return sum(int(f.read_text()) for f in ready_files), time.time() - started, stop_file


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-room-bench-"))
    database_url = create_database(args.db, workdir)
    redis_url = REDIS_URL if args.redis else ""
    if args.redis:
        flush_redis()
    allocated = 10_000
    server = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        env = base_env(database_url, redis_url, LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS="0")
        buyers_needed = args.chatters + int(args.seconds / args.buy_interval) + 10
        scenario = seed(env, buyers_needed, allocated)
        server = Server(env, args.workers, workdir / "server.log")
        ws_url = f"ws://127.0.0.1:{server.port}/ws/sessions/{scenario['session_id']}"
        connected, connect_seconds, stop_file = start_viewers(ws_url, args, workdir, children)
        log(f"{connected} viewers connected in {connect_seconds:.1f}s; driving {args.seconds}s")
        began = time.time()
        driven = asyncio.run(drive(f"http://127.0.0.1:{server.port}", scenario, args, allocated))
        driven["seconds"] = time.time() - began
        stop_file.write_text("stop")
        outputs = []
        for index, child in enumerate(children):
            if child.wait(timeout=120) != 0:
                raise SystemExit(f"viewer process {index} failed")
            outputs.append(json.loads((workdir / f"viewers{index}.json").read_text()))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        if server is not None:
            server.stop()
        drop_database(database_url)
        if args.redis:
            flush_redis()
    return summarise(args, connected, connect_seconds, driven, outputs)


def summarise(args: argparse.Namespace, connected: int, connect_seconds: float,
              driven: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    chat_latencies = [x for o in outputs for x in o["chat_latencies_ms"]]
    receipts: dict[str, list[float]] = {}
    for output in outputs:
        for level, times in output["stock_receipts"].items():
            receipts.setdefault(level, []).extend(times)
    stock_latencies = [(received - buy["sent"]) * 1000 for buy in driven["buys"]
                       for received in receipts.get(str(buy["level"]), [])]
    frames = sum(o["frames"] for o in outputs)
    chat_lines = sum(o["chat_lines"] for o in outputs)
    window = driven["seconds"]  # frames in flight when the driver stops arrive within a tick
    return {
        "benchmark": "live_room",
        "shape": {"db": args.db, "redis": args.redis, "workers": args.workers},
        "viewers": {"requested": args.viewers, "connected": connected,
                    "dropped_or_failed": sum(o["closed_early"] for o in outputs),
                    "connect_seconds": round(connect_seconds, 2),
                    "load_processes": args.load_procs},
        "driver": {"seconds": round(window, 2), "chatters": args.chatters,
                   "chats_sent": driven["chats_sent"], "chat_errors": driven["chat_errors"],
                   "chat_rate_per_second": round(driven["chats_sent"] / window, 1),
                   "buys": len(driven["buys"])},
        "delivered_frames_per_second": round(frames / window, 1),
        "delivered_chat_lines_per_second": round(chat_lines / window, 1),
        "chat_lines_delivered_share": round(
            chat_lines / max(1, driven["chats_sent"] * connected), 4),
        "chat_latency_ms": {"p50": percentile(chat_latencies, 0.5),
                            "p99": percentile(chat_latencies, 0.99),
                            "max": percentile(chat_latencies, 1.0)},
        "stock_update_latency_ms": {"p50": percentile(stock_latencies, 0.5),
                                    "p99": percentile(stock_latencies, 0.99),
                                    "samples": len(stock_latencies),
                                    "expected": len(driven["buys"]) * connected},
    }


def main() -> None:
    if "--viewers-worker" in sys.argv:
        viewer_main()
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--chatters", type=int, default=8)
    parser.add_argument("--chat-rate", type=float, default=40, help="chat posts per second")
    parser.add_argument("--buy-interval", type=float, default=0.25)
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--connect-timeout", type=float, default=90)
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.redis else 1
    if args.redis and args.db != "postgresql":
        parser.error("--redis needs --db postgresql")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
