"""Where an idle room viewer's server memory goes: tracemalloc inside a real server process.

    .venv/bin/python bench/room_memory.py --viewers 1000

Runs `livepledge`'s app under uvicorn (as `livepledge serve` does: uvloop, the room's frame
protocol, no permessage-deflate) in a child process with tracemalloc on, with the room's own
listener on a second port; then, for each path (the room listener, uvicorn's main port), a
separate process opens `--viewers` idle WebSockets to one live session and the server reports
the Python memory allocated while they are open ÷ viewers, and the allocation sites that hold
most of it (tracemalloc counts Python allocations only: kernel socket buffers are not in it,
nor in RSS). Prints JSON; the RSS per idle viewer is bench/live_room.py's figure.
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

from flash_sale import base_env, create_database, drop_database, free_port, seed


def server_main(workdir: Path, port: int, room_port: int) -> None:
    import tracemalloc

    import uvicorn

    async def watch(server: uvicorn.Server) -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        tracemalloc.start(4)  # after start-up: only what the viewers' sockets allocate counts
        (workdir / "up").write_text("up")
        turn = 0
        while True:
            ask = workdir / f"measure{turn}"
            while not ask.exists():
                await asyncio.sleep(0.05)
            before = tracemalloc.take_snapshot()
            (workdir / f"base{turn}").write_text("ok")
            done = workdir / f"connected{turn}"
            while not done.exists():
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)  # let the joins' tasks finish
            after = tracemalloc.take_snapshot()
            stats = after.compare_to(before, "lineno")
            grown = sum(s.size_diff for s in stats)
            top = [{"where": str(s.traceback[0]), "bytes": s.size_diff, "count": s.count_diff}
                   for s in stats[:12]]
            (workdir / f"result{turn}.json").write_text(json.dumps(
                {"bytes": grown, "top": top}))
            turn += 1

    config = uvicorn.Config("livepledge.app:create_app", factory=True, host="127.0.0.1",
                            port=port, log_level="warning", ws_per_message_deflate=False,
                            ws="livepledge.live.wsserver:RoomWebSocketProtocol",
                            ws_max_size=65536)
    server = uvicorn.Server(config)

    async def run() -> None:
        watcher = asyncio.create_task(watch(server))
        await server.serve()
        watcher.cancel()

    asyncio.run(run())


async def viewers_main(url: str, count: int, done: Path, stop: Path) -> None:
    from picows import WSListener, ws_connect

    class Idle(WSListener):  # type: ignore[misc]
        pass

    gate = asyncio.Semaphore(50)
    held = []

    async def one(n: int) -> None:
        async with gate:
            transport, _ = await ws_connect(Idle, f"{url}?device=mem{n}",
                                            websocket_handshake_timeout=120)
            held.append(transport)

    await asyncio.gather(*(one(n) for n in range(count)))
    done.write_text(str(len(held)))
    while not stop.exists():
        await asyncio.sleep(0.1)
    for transport in held:
        transport.disconnect()


def main() -> None:
    if sys.argv[1:2] == ["--server"]:
        server_main(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    if sys.argv[1:2] == ["--viewers-proc"]:
        asyncio.run(viewers_main(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]),
                                 Path(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lp-room-mem-"))
    database_url = create_database("sqlite", workdir)
    port, room_port = free_port(), free_port()
    env = base_env(database_url, "", LIVEPLEDGE_ROOM_PORT=str(room_port))
    scenario = seed(env, 2, 100)
    server = subprocess.Popen([sys.executable, __file__, "--server", str(workdir), str(port),
                               str(room_port)], env=env)
    results: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 180
        while not (workdir / "up").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.05)
        paths = {"room listener": room_port, "uvicorn (main port, direct frames)": port}
        for turn, (name, p) in enumerate(paths.items()):
            (workdir / f"measure{turn}").write_text("go")
            while not (workdir / f"base{turn}").exists():
                time.sleep(0.05)
            stop = workdir / f"stop{turn}"
            viewers = subprocess.Popen([
                sys.executable, __file__, "--viewers-proc",
                f"ws://127.0.0.1:{p}/ws/sessions/{scenario['session_id']}", str(args.viewers),
                str(workdir / f"connected{turn}"), str(stop)])
            result = workdir / f"result{turn}.json"
            while not result.exists():
                if viewers.poll() is not None and not (workdir / f"connected{turn}").exists():
                    raise SystemExit("viewers failed")
                time.sleep(0.1)
            data = json.loads(result.read_text())
            stop.write_text("stop")
            viewers.wait(timeout=60)
            results[name] = {"viewers": args.viewers,
                             "python_bytes_per_idle_viewer": round(data["bytes"] / args.viewers),
                             "top_sites": data["top"]}
            time.sleep(2)  # the leaves are processed before the next path
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(database_url)
    print(json.dumps({"benchmark": "room_memory", "machine": {"loadavg": os.getloadavg()[0]},
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
