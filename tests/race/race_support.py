"""Shared pieces of the race tests: the three deployment shapes, a burst client, direct database
reads and a crash that kills a server and its workers at once.

The root tests/conftest.py fixtures (pg_url, redis_url, server_factory) are used as fixtures; its
plain helpers (lp_env, seed_demo, LiveServer) are loaded from the file by path, because the module
name `conftest` is shared by every conftest.py pytest imports."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import ssl
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

_spec = importlib.util.spec_from_file_location(
    "livepledge_tests_root_conftest", Path(__file__).parents[1] / "conftest.py")
assert _spec is not None and _spec.loader is not None
root = sys.modules.get(_spec.name) or importlib.util.module_from_spec(_spec)
if _spec.name not in sys.modules:
    sys.modules[_spec.name] = root
    _spec.loader.exec_module(root)

lp_env = root.lp_env
seed_demo = root.seed_demo
LiveServer = root.LiveServer

SHAPES = ["sqlite", "postgresql", "postgresql+redis"]
DEADLINE_SECONDS = 30.0
# One TLS context for every client: building one per client costs ~25 ms of CPU each.
TLS = ssl.create_default_context()


@dataclass
class Shape:
    """One deployment shape: its database, Redis URL (empty: embedded) and worker count."""

    name: str
    database_url: str
    redis_url: str
    workers: int

    def env(self, **extra: str) -> dict[str, str]:
        return lp_env(self.database_url, self.redis_url, **extra)  # type: ignore[no-any-return]


# --- HTTP -----------------------------------------------------------------------------------

@dataclass
class Answer:
    buyer: int  # index into the seeded buyer tokens
    key: str
    status: int  # 0: no HTTP answer (connection refused or reset)
    body: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    error: str = ""  # for status 0: the transport error (ConnectError: never sent)

    @property
    def order_id(self) -> int | None:
        return self.body.get("id") if self.status in (200, 201) else None

    @property
    def code(self) -> str | None:
        return self.body.get("code")


def buy_path(scenario: dict[str, Any]) -> str:
    return f"/api/v1/sessions/{scenario['session_id']}/lineup/{scenario['item_id']}/orders"


async def buy(base_url: str, scenario: dict[str, Any], buyer: int, key: str,
              quantity: int = 1) -> Answer:
    """One buyer's request on a connection of its own, as from the buyer's phone. (One httpx
    pool shared by hundreds of connections is itself slower than the server under test.)"""
    token = scenario["buyer_tokens"][buyer]
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False,
                                 verify=TLS) as http:
        try:
            response = await http.post(buy_path(scenario), json={"quantity": quantity},
                                       headers={"Authorization": f"Bearer {token}",
                                                "Idempotency-Key": key})
        except httpx.TransportError as exc:
            return Answer(buyer, key, 0, error=type(exc).__name__)
    return Answer(buyer, key, response.status_code, response.json(),
                  response.headers.get("idempotent-replayed") == "true")


async def burst(base_url: str, scenario: dict[str, Any],
                requests: Iterable[tuple[int, str]], *, concurrency: int | None = None,
                on_answer: Callable[[Answer], None] | None = None) -> list[Answer]:
    """Fire every (buyer, key) request at once (or `concurrency` at a time)."""
    gate = asyncio.Semaphore(concurrency) if concurrency else None

    async def one(buyer: int, key: str) -> Answer:
        if gate is None:
            answer = await buy(base_url, scenario, buyer, key)
        else:
            async with gate:
                answer = await buy(base_url, scenario, buyer, key)
        if on_answer is not None:
            on_answer(answer)
        return answer

    return list(await asyncio.gather(*(one(b, k) for b, k in requests)))


def tally(answers: Iterable[Answer]) -> dict[int, int]:
    """How many answers had each HTTP status."""
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


def expected(**counts: int) -> dict[int, int]:
    """`expected(s201=3, s409=0)` -> {201: 3}: the statuses that must occur, zeros left out."""
    return {int(name[1:]): n for name, n in counts.items() if n}


def new_key() -> str:
    return uuid.uuid4().hex


async def session_item(base_url: str, scenario: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False,
                                 verify=TLS) as http:
        response = await http.get(f"/api/v1/sessions/{scenario['session_id']}")
    assert response.status_code == 200, response.text
    return next(i for i in response.json()["lineup"] if i["id"] == scenario["item_id"])


# --- the database, read directly ------------------------------------------------------------

@dataclass(frozen=True)
class Ledger:
    """What the database says about one lineup item."""

    orders: dict[int, dict[str, Any]]  # order id -> row
    stock_allocated: int
    stock_remaining: int
    buyer_counts: dict[int, int]  # buyer id -> units counted against the limit

    def units(self, *statuses: str) -> int:
        return sum(o["quantity"] for o in self.orders.values()
                   if not statuses or o["status"] in statuses)

    def orders_per_buyer(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for order in self.orders.values():
            counts[order["buyer_id"]] = counts.get(order["buyer_id"], 0) + 1
        return counts


async def fetch(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql), params)
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def ledger(database_url: str, item_id: int) -> Ledger:
    rows = await fetch(database_url, "SELECT id, buyer_id, quantity, status, idempotency_key "
                       "FROM orders WHERE lineup_item_id = :item", item=item_id)
    item = (await fetch(database_url, "SELECT stock_allocated, stock_remaining FROM "
                        "lineup_items WHERE id = :item", item=item_id))[0]
    counts = await fetch(database_url, "SELECT buyer_id, quantity FROM buyer_item_counts "
                         "WHERE lineup_item_id = :item", item=item_id)
    return Ledger({r["id"]: r for r in rows}, item["stock_allocated"], item["stock_remaining"],
                  {c["buyer_id"]: c["quantity"] for c in counts})


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str,
                   deadline: float = DEADLINE_SECONDS, every: float = 0.1) -> None:
    """Poll `condition` until it holds (a readiness poll with a deadline, not a sleep)."""
    end = time.monotonic() + deadline
    while not await condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}")
        await asyncio.sleep(every)


# --- crashing -------------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in map(int, children):
            found.append(child)
            found.extend(_descendants(child))
    return found


def crash(server: Any) -> None:
    """SIGKILL the server and every worker process it started, as a power cut would. The
    supervisor goes first so that it cannot restart the workers."""
    workers = _descendants(server.process.pid)
    server.process.send_signal(signal.SIGKILL)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    end = time.monotonic() + 30
    for pid in workers:  # reaped by init once orphaned; wait until they are gone
        while Path(f"/proc/{pid}").exists() and _is_alive(pid):
            if time.monotonic() > end:
                raise AssertionError(f"worker {pid} survived SIGKILL")
            time.sleep(0.01)


def _is_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status
