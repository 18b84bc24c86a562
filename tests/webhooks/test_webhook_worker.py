"""The delivery worker: a slow endpoint holds only its own deliveries; two workers never send
the same delivery at once (SQLite and PostgreSQL); a delivery failing for ever expires at the
end of its window; 410 Gone disables the endpoint; the metrics count what happened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livepledge.infra import clock
from livepledge.infra.metrics import Metrics
from livepledge.webhooks import service
from livepledge.webhooks.models import webhook_deliveries, webhook_endpoints
from livepledge.webhooks.sender import Outcome
from tests.api.world import World, auth, build_world
from tests.conftest import make_app_client

SLOW, FAST = "https://93.184.216.34/slow", "https://8.8.8.8/fast"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url, webhook_poll_seconds=60) as client:
        yield client


def runtime(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


class Sender:
    """Holds requests to SLOW until released; answers the rest with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.release = asyncio.Event()
        self.sent: list[tuple[str, str]] = []

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        self.sent.append((url, headers["webhook-id"]))
        if url == SLOW:
            await self.release.wait()
        return Outcome(self.status, None, 1, "")

    async def close(self) -> None:
        pass


async def endpoint(world: World, url: str) -> dict[str, Any]:
    response = await world.client.post(f"/api/v1/shops/{world.shop_id}/webhooks",
                                       headers=auth(world.merchant),
                                       json={"url": url, "event_types": ["order.paid"]})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def paid_orders(world: World, count: int) -> None:
    for n in range(count):
        order = (await world.buy(world.buyers[n])).json()
        paid = await world.client.post(f"/api/v1/orders/{order['id']}/pay",
                                       headers=auth(world.buyers[n]))
        assert paid.status_code == 200, paid.text
    await runtime(world.client).consumers.drain_all()


async def written(client: httpx.AsyncClient, expected: int) -> None:
    """On PostgreSQL the app's own consumer loop may hold the `webhooks` consumer while the
    test drains (the test's drain then skips it): wait for its batch to commit."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        await runtime(client).consumers.drain_all()
        async with runtime(client).db.read() as conn:
            count = (await conn.execute(select(func.count()).select_from(
                webhook_deliveries))).scalar_one()
        if count == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{count} of {expected} written"
        await asyncio.sleep(0.05)  # the other loop's transaction is in progress


async def statuses(client: httpx.AsyncClient) -> dict[str, list[str]]:
    d, e = webhook_deliveries, webhook_endpoints
    async with runtime(client).db.read() as conn:
        rows = (await conn.execute(select(e.c.url, d.c.status).join(e, e.c.id == d.c.endpoint_id)
                                   .order_by(d.c.id))).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.url, []).append(row.status)
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_hanging_endpoint_holds_only_its_own_deliveries(client):
    world = await build_world(client, buyers=5, allocated=10)
    await endpoint(world, SLOW)
    fast = await endpoint(world, FAST)
    await paid_orders(world, 5)
    sender = Sender()
    worker = service.DeliveryWorker(runtime(client).db, sender, Metrics(), per_endpoint=2)

    # rounds of the worker while SLOW hangs: FAST gets everything, SLOW exactly its limit
    while True:
        started = await worker.run_once()
        if worker.in_flight.get(fast["id"]):
            await asyncio.wait(set(worker._tasks), return_when=asyncio.FIRST_COMPLETED)
        elif not started:
            break
    found = await statuses(client)
    assert found[FAST] == ["delivered"] * 5
    assert found[SLOW] == ["pending"] * 5
    assert [url for url, _ in sender.sent].count(SLOW) == 2

    sender.release.set()
    await worker.drain()
    assert (await statuses(client))[SLOW] == ["delivered"] * 5


async def test_two_workers_never_take_the_same_delivery(client):
    world = await build_world(client, buyers=5, allocated=10)
    await endpoint(world, FAST)
    await endpoint(world, "https://1.1.1.1/other")
    await paid_orders(world, 5)
    await written(client, 10)
    db = runtime(client).db
    first = service.DeliveryWorker(db, Sender(), Metrics(), per_endpoint=5)
    second = service.DeliveryWorker(db, Sender(), Metrics(), per_endpoint=5)
    now = clock.utcnow()

    a, b = await asyncio.gather(first.claim(now), second.claim(now))

    taken = [c.id for c in a] + [c.id for c in b]
    assert len(taken) == len(set(taken)) == 10
    # and while leased, nobody takes them again
    assert await service.DeliveryWorker(db, Sender(), Metrics()).claim(now) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_delivery_failing_for_ever_expires_at_the_end_of_its_window(client):
    world = await build_world(client, buyers=1)
    await endpoint(world, FAST)
    await paid_orders(world, 1)
    metrics = Metrics()
    worker = service.DeliveryWorker(runtime(client).db, Sender(status=503), metrics)

    now = clock.utcnow()
    attempts = 0
    while (await statuses(client))[FAST] == ["pending"]:
        async with runtime(client).db.read() as conn:
            due = (await conn.execute(select(webhook_deliveries.c.next_attempt_at))).scalar_one()
        now = max(now, clock.as_utc(due)) + timedelta(microseconds=1)
        clock.set_offset(now - datetime.now(now.tzinfo))
        try:
            attempts += await worker.drain(now)
        finally:
            clock.set_offset(timedelta(0))
        assert attempts <= 30

    assert (await statuses(client))[FAST] == ["expired"]
    assert 10 <= attempts <= 14
    assert metrics.value("livepledge_webhook_attempts_total") == attempts
    assert metrics.value("livepledge_webhook_failures_total") == attempts
    assert metrics.value("livepledge_webhook_acks_total") == 0
    assert metrics.value("livepledge_webhook_expired_total") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_410_gone_disables_the_endpoint(client):
    world = await build_world(client, buyers=1)
    created = await endpoint(world, FAST)
    await paid_orders(world, 1)
    worker = service.DeliveryWorker(runtime(client).db, Sender(status=410), Metrics())

    await worker.drain()

    found = (await client.get(f"/api/v1/webhooks/{created['id']}",
                              headers=auth(world.merchant))).json()
    assert found["enabled"] is False and "410" in found["disabled_reason"]
