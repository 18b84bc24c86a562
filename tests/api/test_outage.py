"""A backing service that is down gives 503 problem+json with Retry-After, never a 500, and
nothing is written."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from livepledge.infra.db import Database
from livepledge.orders.gate import RedisStockGate
from livepledge.orders.service import gate_loader
from tests.api.world import assert_problem, build_world


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed on exit: nothing listens there


async def buy_through_a_broken_gate(app_client: httpx.AsyncClient, url: str, **options: Any):
    """A buy while the stock gate's Redis is broken: a 503 that leaves no trace, after which the
    same key works once the gate is back."""
    world = await build_world(app_client, allocated=5, limit=1)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    broken_gate = RedisStockGate(url, gate_loader(runtime.db), **options)
    healthy_gate, runtime.buy.gate = runtime.buy.gate, broken_gate
    try:
        response = await world.buy(world.buyers[0], key="during-outage")
    finally:
        runtime.buy.gate = healthy_gate
        await broken_gate.close()

    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5
    retry = await world.buy(world.buyers[0], key="during-outage")
    assert retry.status_code == 201
    assert [o["id"] for o in await world.orders()] == [retry.json()["id"]]


async def test_buy_with_the_stock_gate_unreachable_is_503_and_writes_nothing(
        app_client: httpx.AsyncClient):
    await buy_through_a_broken_gate(app_client, f"redis://127.0.0.1:{dead_port()}/0")


async def test_buy_with_the_stock_gate_hung_is_503_after_the_timeout_and_writes_nothing(
        app_client: httpx.AsyncClient):
    """A Redis that accepts connections but never answers (hung, or packets black-holed)."""
    with socket.socket() as hung:  # the kernel completes the handshake; nobody ever replies
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        port = hung.getsockname()[1]
        await buy_through_a_broken_gate(app_client, f"redis://127.0.0.1:{port}/0",
                                        reply_timeout=0.3)


async def test_database_unreachable_is_503(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=1)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    dead = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{dead_port()}/none")
    healthy, runtime.db = runtime.db, dead
    try:
        response = await app_client.get(f"/api/v1/sessions/{world.session_id}")
    finally:
        runtime.db = healthy
        await dead.dispose()

    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert (await app_client.get(f"/api/v1/sessions/{world.session_id}")).status_code == 200
