"""`livepledge serve --workers N`: N worker processes, each with its own listening socket on the
same port (SO_REUSEPORT), under a small supervisor.

Why not uvicorn's own `--workers`: its workers share one listening socket, and an event loop that
wakes for a new connection accepts every pending one. When thousands of buyers connect in the
same second (the moment an item is pinned), one worker takes nearly all of them while the others
idle; the flash-sale benchmark measured one worker serving ~99 % of a burst. With a socket per
worker the kernel spreads new connections evenly over the workers.

The supervisor restarts a worker that dies (and gives up if workers keep dying right after they
start), passes SIGTERM/SIGINT on for a graceful shutdown, and its workers stop by themselves if
the supervisor is killed (Linux parent-death signal), so no orphan keeps serving old code.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("livepledge.supervisor")

BACKLOG = 2048
CRASH_WINDOW_SECONDS = 5.0  # a worker that dies sooner than this after starting "crashed early"
MAX_EARLY_CRASHES = 5
STOP_TIMEOUT_SECONDS = 20.0


def reuse_port_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Raise OSError if anything already listens on the port. Binding without SO_REUSEPORT is
    refused even by a socket that has it, so a second deployment started on the same port by
    mistake fails here instead of silently sharing the traffic."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent (the supervisor) dies."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _worker_main(host: str, port: int, uvicorn_options: dict[str, Any], parent: int) -> None:
    _die_with_parent()
    if os.getppid() != parent:  # the supervisor died before the request above took effect
        return
    import uvicorn

    sock = bind_socket(host, port)
    config = uvicorn.Config("livepledge.app:create_app", factory=True, host=host, port=port,
                            **uvicorn_options)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, host: str, port: int, workers: int,
                 uvicorn_options: dict[str, Any]) -> None:
        self.host, self.port, self.workers = host, port, workers
        self.options = uvicorn_options
        self.context = multiprocessing.get_context("spawn")
        self.processes: dict[int, tuple[BaseProcess, float]] = {}  # slot → (process, started)
        self.stopping = False
        self.early_crashes = 0

    def _start(self, slot: int) -> None:
        process = self.context.Process(
            target=_worker_main, name=f"livepledge-worker-{slot}",
            args=(self.host, self.port, self.options, os.getpid()))
        process.start()
        self.processes[slot] = (process, time.monotonic())
        log.info("worker %d started (pid %s) on %s:%d", slot, process.pid, self.host, self.port)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        check_port_free(self.host, self.port)  # raises OSError: the CLI says so clearly
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        for slot in range(self.workers):
            self._start(slot)
        log.info("serving on http://%s:%d with %d workers (SO_REUSEPORT)", self.host, self.port,
                 self.workers)
        status = 0
        while not self.stopping:
            sentinels = {p.sentinel: slot for slot, (p, _) in self.processes.items()}
            for ready in wait(list(sentinels), timeout=0.5):
                slot = sentinels[ready]  # type: ignore[index]
                status = self._on_exit(slot)
                if status:
                    self.stopping = True
                    break
        self._stop_all()
        return status

    def _on_exit(self, slot: int) -> int:
        process, started = self.processes.pop(slot)
        process.join()
        if self.stopping:
            return 0
        lived = time.monotonic() - started
        log.error("worker %d (pid %s) exited with %s after %.1f s; restarting it", slot,
                  process.pid, process.exitcode, lived)
        if lived < CRASH_WINDOW_SECONDS:
            self.early_crashes += 1
            if self.early_crashes >= MAX_EARLY_CRASHES:
                log.error("workers keep dying right after starting; giving up")
                return 1
        self._start(slot)
        return 0

    def _stop_all(self) -> None:
        for process, _ in self.processes.values():
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process, _ in self.processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        self.processes.clear()


def serve_workers(host: str, port: int, workers: int, uvicorn_options: dict[str, Any]) -> int:
    return Supervisor(host, port, workers, uvicorn_options).run()
