"""`livepledge serve --workers N` on a real server: a socket per worker spreads a burst of new
connections over every worker; a worker that dies is replaced; SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from tests.conftest import lp_env, run_cli


async def _answering_workers(base_url: str, connections: int) -> Counter[int]:
    """Open `connections` new connections at once; which worker answered on each."""
    async def one() -> int:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            return int((await client.get("/healthz")).json()["worker"])
    return Counter(await asyncio.gather(*(one() for _ in range(connections))))


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _workers_of(server) -> set[int]:  # type: ignore[no-untyped-def]
    """Worker pids: children of the supervisor, not multiprocessing's resource tracker."""
    return {pid for pid in _children(server.process.pid)
            if "livepledge" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            or "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")}


async def test_new_connections_are_spread_over_every_worker(pg_url, redis_url, server_factory):
    env = lp_env(pg_url, redis_url)
    run_cli(["migrate"], env)
    server = server_factory(env, workers=3)

    answered = await _answering_workers(server.base_url, 90)

    assert len(answered) == 3, answered
    assert set(answered) <= _workers_of(server)
    # The kernel hashes connections over the three sockets: each worker gets a fair share (the
    # chance that a fair spread leaves one below 10 of 90 is under one in a million).
    assert min(answered.values()) >= 10, answered


async def test_a_dead_worker_is_replaced_and_sigterm_stops_everything(pg_url, redis_url,
                                                                      server_factory):
    env = lp_env(pg_url, redis_url)
    run_cli(["migrate"], env)
    server = server_factory(env, workers=2)
    before = _workers_of(server)
    victim = next(iter(await _answering_workers(server.base_url, 20)))
    assert victim in before

    os.kill(victim, signal.SIGKILL)

    async def replaced() -> set[int]:
        for _ in range(600):  # bounded poll: a new worker must answer (not a timed wait)
            answered = set(await _answering_workers(server.base_url, 20))
            if len(answered) == 2 and victim not in answered:
                return answered
        raise AssertionError("the killed worker was not replaced")
    after = await replaced()
    assert victim not in after and len(after & before) == 1

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in after)


def test_a_second_server_on_a_taken_port_fails_clearly(pg_url, redis_url, server_factory):
    env = lp_env(pg_url, redis_url)
    run_cli(["migrate"], env)
    server = server_factory(env, workers=2)
    port = server.base_url.rsplit(":", 1)[1]

    second = subprocess.run(
        [sys.executable, "-m", "livepledge", "serve", "--host", "127.0.0.1", "--port", port,
         "--workers", "2", "--no-migrate"], env=env, capture_output=True, text=True, timeout=60)

    assert second.returncode == 1
    assert "already in use" in second.stderr and "Traceback" not in second.stderr
    assert server.process.poll() is None  # the first one is untouched
