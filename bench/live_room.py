"""Live-room benchmark: N WebSocket viewers in one live session of a real `livepledge serve`.

    .venv/bin/python bench/live_room.py --viewers 2000
    .venv/bin/python bench/live_room.py --viewers 2000 --db postgresql --redis   # 2 workers
    .venv/bin/python bench/live_room.py --viewers 2000 --compare   # + the ASGI path, same run

Viewers are anonymous WebSockets held by `--load-procs` processes using picows (a compiled
client: a frame costs the load side far less than the server, so the client does not cap what
is measured). Each viewer sends a heartbeat every `--heartbeat` seconds, as the live page does,
so presence never expires mid-run. Phases:

1. join: all viewers connect at once (each process keeps `--connect-concurrency` handshakes in
   flight); the time until the last snapshot arrives, and the number refused or failed.
2. idle (`--idle` s, heartbeats only): server RSS grows by "memory per idle viewer".
3. drive (`--seconds` s): chat posted over HTTP at a fixed rate (open loop: a post is sent at
   its time whether or not the previous one was answered; each text carries its send time), and
   one unit bought every `--buy-interval` s (each buy changes the stock every viewer sees).

Server CPU per delivered frame = CPU time of the server's processes (utime + stime from
/proc, workers included) during the drive ÷ frames the viewers received in that window, so it
holds on a loaded machine; everything the server did in that window is counted (chat posts,
buys, heartbeats, ticks). Delivered share: chat lines received ÷ (sent × viewers) — chat may be
sampled for slow viewers by design — and stock changes received ÷ (buys × viewers), which must
be 1. Latency p50/p99 (post or buy sent -> frame received) over every `--sample`-th viewer.
Chat is coalesced into ~100 ms ticks by design, so chat latency includes up to one tick.

`--path` picks the server path of the viewers' sockets: `listener` (the default: the room's own
listener, `LIVEPLEDGE_ROOM_PORT`, live/roomserver.py), `direct` (uvicorn, the room writing
frames to its transports) or `asgi` (uvicorn, one ASGI send per viewer: the path before #14,
`LIVEPLEDGE_ROOM_DIRECT_FRAMES=false`). `--compare` runs the same load again on each path named
(default: direct) and prints the ratios, first path ÷ each other path.
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
    free_port,
    percentile,
    seed,
)

TARGETS = {"viewers": 10_000, "join_seconds": 20.0, "refused": 0, "cpu_us_per_frame": 5.0,
           "kb_per_idle_viewer": 20.0, "p99_ms": 300.0}
BUCKET = 0.1  # seconds per bucket of received-frame counts


def log(message: str) -> None:
    print(f"[live_room] {message}", file=sys.stderr, flush=True)


# --- viewers (picows; each process holds a share of the WebSockets) ---------------------------


class Tally:
    """What the viewers of one load process received. Every viewer gets the same frames, so a
    payload is parsed once per process (cached by its bytes), not once per viewer."""

    def __init__(self) -> None:
        self.connected = self.refused = self.closed_early = self.chat_lines = 0
        self.last_snapshot_at = 0.0
        self.stopping = False
        self.buckets: dict[int, int] = {}  # frames received per BUCKET of wall time
        self.stock_counts: dict[int, int] = {}
        self.stock_receipts: dict[int, list[float]] = {}
        self.chat_latencies: list[float] = []
        self._cache: dict[bytes, tuple[int, list[float], int]] = {}

    def parse(self, payload: bytes) -> tuple[int, list[float], int]:
        info = self._cache.get(payload)
        if info is None:
            import orjson

            message = orjson.loads(payload)
            kind = message.get("type", "")
            sent = [float(c["text"][8:]) for c in message["chat"]
                    if c["text"].startswith("bench t=")] if kind == "tick" else []
            level = int(message["stock_remaining"]) if kind == "stock" else -1
            info = (len(sent), sent, level)
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[payload] = info
        return info

    def frame(self, payload: bytes, sampled: bool, now: float, seen: set[int]) -> None:
        key = int(now / BUCKET)
        self.buckets[key] = self.buckets.get(key, 0) + 1
        lines, sent, level = self.parse(payload)
        if lines:
            self.chat_lines += lines
            if sampled:
                self.chat_latencies.extend((now - s) * 1000 for s in sent)
        elif level >= 0 and level not in seen:  # a level re-sent by a correction counts once
            seen.add(level)
            self.stock_counts[level] = self.stock_counts.get(level, 0) + 1
            if sampled:
                self.stock_receipts.setdefault(level, []).append(now)

    def result(self) -> dict[str, Any]:
        return {"connected": self.connected, "refused": self.refused,
                "closed_early": self.closed_early, "chat_lines": self.chat_lines,
                "buckets": {str(k): v for k, v in self.buckets.items()},
                "stock_counts": {str(k): v for k, v in self.stock_counts.items()},
                "stock_receipts": {str(k): v for k, v in self.stock_receipts.items()},
                "chat_latencies_ms": self.chat_latencies}


def _listener(tally: Tally, sampled: bool) -> Any:
    from picows import WSListener, WSMsgType

    class Viewer(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.ready = False
            self.transport: Any = None
            self.seen: set[int] = set()
            self.last_level = -1

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type != WSMsgType.TEXT:
                return
            now = time.time()
            if not self.ready:  # the snapshot
                self.ready = True
                tally.connected += 1
                tally.last_snapshot_at = now
                return
            payload = frame.get_payload_as_bytes()
            tally.frame(payload, sampled, now, self.seen)
            level = tally.parse(payload)[2]
            if level >= 0:
                self.last_level = level

        def on_ws_disconnected(self, transport: Any) -> None:
            if not tally.stopping:
                tally.closed_early += 1

    return Viewer()


async def _heartbeats(viewers: list[Any], period: float, stop_file: Path) -> None:
    """Each viewer sends a heartbeat every `period` s, spread evenly, until the stop file."""
    from picows import WSMsgType

    heartbeat = b'{"type":"heartbeat"}'
    step = 0.1
    slices = max(1, int(period / step))
    turn = 0
    while not stop_file.exists():
        for viewer in viewers[turn % slices::slices]:
            if viewer.transport is not None and not viewer.transport.is_disconnected:
                viewer.transport.send(WSMsgType.TEXT, heartbeat)
        turn += 1
        await asyncio.sleep(step)


async def _viewers(job: dict[str, Any]) -> dict[str, Any]:
    from picows import ws_connect

    tally = Tally()
    go = Path(job["go_file"])
    while not go.exists():  # every process starts connecting at the same moment
        await asyncio.sleep(0.01)
    viewers: list[Any] = []
    gate = asyncio.Semaphore(job["connect_concurrency"])

    async def connect(n: int) -> None:
        url = f"{job['url']}?device=bench{job['index']}x{n}"
        sampled = n % job["sample"] == 0
        async with gate:
            try:
                _, viewer = await ws_connect(lambda: _listener(tally, sampled), url,
                                             websocket_handshake_timeout=60)
                viewers.append(viewer)
            except Exception:
                tally.refused += 1

    await asyncio.gather(*(connect(n) for n in range(job["count"])))
    while tally.connected + tally.refused + tally.closed_early < job["count"]:
        await asyncio.sleep(0.01)
    ready = Path(job["ready_file"])
    ready.with_suffix(".tmp").write_text(json.dumps(
        {"connected": tally.connected, "refused": tally.refused,
         "last_snapshot_at": tally.last_snapshot_at}))
    ready.with_suffix(".tmp").replace(ready)
    await _heartbeats(viewers, job["heartbeat"], Path(job["stop_file"]))
    tally.stopping = True
    last_levels: dict[str, int] = {}
    for viewer in viewers:
        last_levels[str(viewer.last_level)] = last_levels.get(str(viewer.last_level), 0) + 1
        viewer.transport.disconnect()
    return {**tally.result(), "last_levels": last_levels}


def viewer_main() -> None:
    from _worker import run_job

    run_job("--viewers-worker", _viewers)


# --- the server's processes, from /proc ---------------------------------------------------------

def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children.get(current, []))
    return pids


def server_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_rss_kb(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


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
    buy_errors: dict[str, int] = {}
    tasks: set[asyncio.Task[None]] = set()

    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False,
                                 limits=httpx.Limits(max_connections=64)) as http:
        async def post_chat(token: str) -> None:
            nonlocal chats_sent
            try:
                response = await http.post(f"/api/v1/sessions/{session}/chat",
                                           json={"text": f"bench t={time.time():.6f}"},
                                           headers={"Authorization": f"Bearer {token}"})
                key = "201" if response.status_code == 201 else str(response.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            if key == "201":
                chats_sent += 1
            else:
                chat_errors[key] = chat_errors.get(key, 0) + 1

        async def buy(index: int, token: str) -> None:
            sent = time.time()
            try:
                response = await http.post(buy_path, json={"quantity": 1}, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": f"live-{index}"})
            except httpx.HTTPError as exc:
                buy_errors[type(exc).__name__] = buy_errors.get(type(exc).__name__, 0) + 1
                return
            if response.status_code == 201:
                buys.append({"sent": sent})
            else:
                buy_errors[str(response.status_code)] = \
                    buy_errors.get(str(response.status_code), 0) + 1

        def spawn(coro: Any) -> None:
            task = asyncio.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        began = time.monotonic()
        chat_every, buy_every = 1 / args.chat_rate, args.buy_interval
        posted = bought = 0
        while (elapsed := time.monotonic() - began) < args.seconds:  # open loop, fixed rate
            while posted * chat_every <= elapsed:
                spawn(post_chat(chatters[posted % len(chatters)]))
                posted += 1
            while bought * buy_every <= elapsed and bought < len(buyers):
                spawn(buy(bought, buyers[bought]))
                bought += 1
            await asyncio.sleep(min(chat_every, buy_every) / 2)
        if tasks:  # what is still unanswered after 30 s is counted as an error (ReadError)
            await asyncio.wait(tasks, timeout=30)
        await asyncio.sleep(1.5)  # the once-a-second stock re-read has announced the last level
        view = (await http.get(f"/api/v1/sessions/{session}")).json()
        stock = next(i["stock_remaining"] for i in view["lineup"]
                     if i["id"] == scenario["item_id"])
    return {"chats_sent": chats_sent, "chats_scheduled": posted, "chat_errors": chat_errors,
            "buys": buys, "buy_errors": buy_errors, "final_stock": stock}


def start_viewers(ws_url: str, args: argparse.Namespace, workdir: Path,
                  children: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """Start the viewer processes, let them all connect at once, wait for every snapshot."""
    go_file, stop_file = workdir / "go", workdir / "stop"
    ready_files = []
    for index in range(args.load_procs):
        share = args.viewers // args.load_procs + (index < args.viewers % args.load_procs)
        job = {"url": ws_url, "count": share, "index": index, "go_file": str(go_file),
               "stop_file": str(stop_file), "ready_file": str(workdir / f"ready{index}"),
               "output": str(workdir / f"viewers{index}.json"), "sample": args.sample,
               "heartbeat": args.heartbeat,
               "connect_concurrency": args.connect_concurrency}
        ready_files.append(Path(job["ready_file"]))
        (workdir / f"job{index}.json").write_text(json.dumps(job))
        children.append(subprocess.Popen([sys.executable, __file__, "--viewers-worker",
                                          str(workdir / f"job{index}.json")]))
    time.sleep(2)  # the processes import picows and wait for the go file
    log(f"connecting {args.viewers} viewers")
    started = time.time()
    go_file.write_text("go")
    deadline = started + args.connect_timeout
    while not all(f.exists() for f in ready_files):  # readiness, not a measurement
        if time.time() > deadline or any(c.poll() is not None for c in children):
            raise SystemExit("viewers did not connect in time")
        time.sleep(0.05)
    ready = [json.loads(f.read_text()) for f in ready_files]
    last = max((r["last_snapshot_at"] for r in ready if r["connected"]), default=started)
    return {"connected": sum(r["connected"] for r in ready),
            "refused": sum(r["refused"] for r in ready),
            "join_seconds": round(last - started, 2), "stop_file": stop_file}


PATHS = {"listener": "the room's own listener (LIVEPLEDGE_ROOM_PORT)",
         "direct": "uvicorn, direct frames", "asgi": "uvicorn, ASGI send per viewer"}


def run(args: argparse.Namespace, path: str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lp-room-bench-"))
    database_url = create_database(args.db, workdir)
    redis_url = REDIS_URL if args.redis else ""
    if args.redis:
        flush_redis()
    allocated = 10_000
    server = None
    children: list[subprocess.Popen[bytes]] = []
    try:
        room_port = free_port() if path == "listener" else 0
        env = base_env(database_url, redis_url, LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS="0",
                       LIVEPLEDGE_ROOM_DIRECT_FRAMES=str(path != "asgi").lower(),
                       LIVEPLEDGE_ROOM_PORT=str(room_port))
        buyers_needed = args.chatters + int(args.seconds / args.buy_interval) + 10
        scenario = seed(env, buyers_needed, allocated)
        server = Server(env, args.workers, workdir / "server.log")
        pid = server.process.pid
        time.sleep(1)
        rss_before = server_rss_kb(pid)
        ws_url = f"ws://127.0.0.1:{room_port or server.port}/ws/sessions/" \
                 f"{scenario['session_id']}"
        joined = start_viewers(ws_url, args, workdir, children)
        log(f"{joined['connected']} viewers connected in {joined['join_seconds']}s; "
            f"idle {args.idle}s")
        cpu_idle0, idle0 = server_cpu_seconds(pid), time.time()
        time.sleep(args.idle)
        rss_idle = server_rss_kb(pid)
        idle_cpu_per_s = (server_cpu_seconds(pid) - cpu_idle0) / (time.time() - idle0)
        log(f"driving {args.seconds}s")
        load_cpu0 = sum(server_cpu_seconds(c.pid) for c in children)
        cpu0, t0 = server_cpu_seconds(pid), time.time()
        driven = asyncio.run(drive(f"http://127.0.0.1:{server.port}", scenario, args,
                                   allocated))
        t1 = time.time()
        cpu1, t2 = server_cpu_seconds(pid), time.time()
        load_cpu = sum(server_cpu_seconds(c.pid) for c in children) - load_cpu0
        joined["stop_file"].write_text("stop")
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
    return summarise(args, path, joined, driven, outputs, allocated, window=(t0, t1, t2),
                     cpu=cpu1 - cpu0, load_cpu=load_cpu, idle_cpu_per_s=idle_cpu_per_s,
                     rss=(rss_before, rss_idle))


def summarise(args: argparse.Namespace, path: str, joined: dict[str, Any],
              driven: dict[str, Any], outputs: list[dict[str, Any]], allocated: int, *,
              window: tuple[float, float, float], cpu: float, load_cpu: float,
              idle_cpu_per_s: float,
              rss: tuple[int, int]) -> dict[str, Any]:
    t0, t1, t2 = window
    connected = joined["connected"]
    frames = sum(v for o in outputs for k, v in o["buckets"].items()
                 if t0 <= int(k) * BUCKET < t2)
    chat_latencies = [x for o in outputs for x in o["chat_latencies_ms"]]
    stock_receipts: dict[str, list[float]] = {}
    stock_counts: dict[str, int] = {}
    for output in outputs:
        for level, times in output["stock_receipts"].items():
            stock_receipts.setdefault(level, []).extend(times)
        for level, n in output["stock_counts"].items():
            stock_counts[level] = stock_counts.get(level, 0) + n
    # A buy commits in a batch and the batch announces each item's final stock once, so two
    # buys in one batch are one stock change: the changes are the levels announced (seen by
    # any viewer); every viewer must get every one, and the last must be the true stock.
    buys = sorted(driven["buys"], key=lambda b: b["sent"])
    levels = sorted((int(level) for level in stock_counts), reverse=True)
    stock_latencies = [(received - buys[allocated - level - 1]["sent"]) * 1000
                       for level in levels if 0 <= allocated - level - 1 < len(buys)
                       for received in stock_receipts.get(str(level), [])]
    stock_delivered = sum(stock_counts[str(level)] for level in levels)
    final_ok = bool(levels) and levels[-1] == driven["final_stock"]
    converged = sum(o["last_levels"].get(str(driven["final_stock"]), 0) for o in outputs)
    chat_lines = sum(o["chat_lines"] for o in outputs)
    cpu_us = cpu * 1e6 / frames if frames else None
    kb_per_viewer = (rss[1] - rss[0]) / connected if connected else None
    chat_p99 = percentile(chat_latencies, 0.99)
    stock_p99 = percentile(stock_latencies, 0.99)
    refused = joined["refused"] + sum(o["closed_early"] for o in outputs)

    def check(ok: bool | None, measured: Any, target: str) -> dict[str, Any]:
        return {"met": bool(ok), "measured": measured, "target": target}

    at_target_size = args.viewers >= TARGETS["viewers"]
    return {
        "benchmark": "live_room",
        "path": PATHS[path],
        "shape": {"db": args.db, "redis": args.redis, "workers": args.workers},
        "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()[0],
                    "note": "shared with other agents: read the CPU costs and ratios"},
        "viewers": {"requested": args.viewers, "connected": connected,
                    "refused_or_failed": joined["refused"],
                    "closed_by_server": sum(o["closed_early"] for o in outputs),
                    "join_seconds": joined["join_seconds"], "load_processes": args.load_procs,
                    "heartbeat_seconds": args.heartbeat},
        "driver": {"seconds": round(t1 - t0, 2), "chat_rate_target": args.chat_rate,
                   "chats_scheduled": driven["chats_scheduled"],
                   "chats_sent": driven["chats_sent"], "chat_errors": driven["chat_errors"],
                   "buys": len(buys), "buy_errors": driven["buy_errors"]},
        "server": {"cpu_seconds_in_drive": round(cpu, 3),
                   "cpu_us_per_delivered_frame": round(cpu_us, 2) if cpu_us else None,
                   "frames_per_cpu_second": round(frames / cpu) if cpu else None,
                   "idle_cpu_share_of_a_core": round(idle_cpu_per_s, 3),
                   "cpu_share_of_a_core_in_drive": round(cpu / (t2 - t0), 3),
                   "rss_kb_before": rss[0], "rss_kb_idle": rss[1],
                   "kb_per_idle_viewer": round(kb_per_viewer, 1) if kb_per_viewer else None},
        "load_processes_cpu_us_per_frame": round(load_cpu * 1e6 / frames, 2) if frames else None,
        "delivered_frames": frames,
        "delivered_frames_per_second": round(frames / (t2 - t0), 1),
        "chat_lines_delivered_share": round(
            chat_lines / max(1, driven["chats_sent"] * connected), 4),
        "stock_changes": {"buys": len(buys), "announced": len(levels),
                          "last_level_is_true_stock": final_ok,
                          "viewers_ending_at_true_stock": converged,
                          "delivered_share": round(
                              stock_delivered / max(1, len(levels) * connected), 4)},
        "chat_latency_ms": {"p50": percentile(chat_latencies, 0.5), "p99": chat_p99,
                            "samples": len(chat_latencies)},
        "stock_update_latency_ms": {"p50": percentile(stock_latencies, 0.5),
                                    "p99": stock_p99, "samples": len(stock_latencies)},
        "targets": {
            "join_10k_in_20s_0_refused": check(
                at_target_size and joined["join_seconds"] <= TARGETS["join_seconds"]
                and refused == 0,
                f"{connected} joined in {joined['join_seconds']} s, {refused} refused/closed",
                "10,000 viewers in <= 20 s, 0 refused"
                + ("" if at_target_size else f" (NOT TESTED at 10,000: ran {args.viewers})")),
            "cpu_per_frame": check(cpu_us is not None and cpu_us <= TARGETS["cpu_us_per_frame"],
                                   cpu_us and round(cpu_us, 2), "<= 5 us"),
            "memory_per_idle_viewer": check(
                kb_per_viewer is not None and kb_per_viewer <= TARGETS["kb_per_idle_viewer"],
                kb_per_viewer and round(kb_per_viewer, 1), "<= 20 KB"),
            "chat_p99": check(chat_p99 is not None and chat_p99 < TARGETS["p99_ms"], chat_p99,
                              "< 300 ms"),
            "stock_p99": check(stock_p99 is not None and stock_p99 < TARGETS["p99_ms"],
                               stock_p99, "< 300 ms"),
            "every_stock_change_delivered": check(
                final_ok and stock_delivered == len(levels) * connected,
                f"{stock_delivered} of {len(levels) * connected}", "all, ending at true stock"
                + ("" if args.workers == 1 else " (several workers: a level one worker's room "
                   "re-read from the database may never exist in another's)")),
            "every_viewer_ends_at_true_stock": check(
                converged == connected, f"{converged} of {connected}", "all"),
        },
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
    parser.add_argument("--idle", type=float, default=3)
    parser.add_argument("--chatters", type=int, default=8)
    parser.add_argument("--chat-rate", type=float, default=40, help="chat posts per second")
    parser.add_argument("--buy-interval", type=float, default=0.25)
    parser.add_argument("--heartbeat", type=float, default=10, help="seconds, as live.js")
    parser.add_argument("--sample", type=int, default=20,
                        help="latencies are recorded for every Nth viewer")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--connect-concurrency", type=int, default=200,
                        help="handshakes in flight per load process")
    parser.add_argument("--connect-timeout", type=float, default=120)
    parser.add_argument("--path", choices=list(PATHS), default="listener",
                        help="the server path of the viewers' sockets")
    parser.add_argument("--compare", nargs="*", choices=list(PATHS), default=None,
                        help="also run these paths (default: direct) and print the ratios")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.redis else 1
    if args.redis and args.db != "postgresql":
        parser.error("--redis needs --db postgresql")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    first = run(args, args.path)
    result: dict[str, Any] = {args.path: first}
    others = [] if args.compare is None else [p for p in (args.compare or ["direct"])
                                              if p != args.path]
    for other in others:
        baseline = result[other] = run(args, other)

        def ratio(path: tuple[str, ...], baseline: dict[str, Any] = baseline) -> float | None:
            a, b = first, baseline
            for key in path:
                a, b = a[key], b[key]
            return round(a / b, 3) if a and b else None

        result[f"ratios_{args.path}_over_{other}"] = {
            "cpu_us_per_delivered_frame": ratio(("server", "cpu_us_per_delivered_frame")),
            "kb_per_idle_viewer": ratio(("server", "kb_per_idle_viewer")),
            "delivered_frames_per_second": ratio(("delivered_frames_per_second",)),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
