"""Webhooks end to end: a real `livepledge serve` process delivering to a real local HTTP
receiver (uvicorn, in the test's event loop), on SQLite and PostgreSQL.

- signed `order.paid` deliveries arrive and verify, with the docs' standard-library example
  (docs/fans.md, run from the file) and with `signature.verify`;
- a receiver answering 500 then 200 gets the retry, with the same webhook-id (the test clock
  lets the 5 s back-off pass; the test waits on the receiver's own requests, never sleeps);
- kill -9 with deliveries in flight and pending, restart: every delivery arrives, under the ids
  it had."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from livepledge.webhooks import signature
from tests.race.race_support import crash, fetch, lp_env, seed_demo, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fans.md"


def docs_verifier() -> Any:
    """The verification example of docs/fans.md, exactly as written there."""
    text = DOCS.read_text(encoding="utf-8")
    marker = text.index("<!-- webhook-verification-example")
    code = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOCS), "exec"), namespace)
    return namespace["verify_webhook"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A tiny webhook receiver. `script` gives the status of each request in turn (then
    `default`); `hang` holds requests unanswered until released."""

    script: list[int] = field(default_factory=list)
    default: int = 200
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        hung = self.hang
        status = self.script.pop(0) if self.script else self.default
        item = Received(headers, body, 0 if hung else status)
        self.requests.append(item)
        self.arrived.put_nowait(item)
        if hung:
            await self.release.wait()
            status = 200
        with contextlib.suppress(Exception):
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"received"})

    async def next(self, timeout: float = 30) -> Received:
        return await asyncio.wait_for(self.arrived.get(), timeout)


@contextlib.asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[str]:
    config = uvicorn.Config(receiver, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)  # readiness of our own in-loop server
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hooks/livepledge"
    finally:
        receiver.release.set()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def server_env(url: str, **extra: str) -> dict[str, str]:
    return lp_env(url, "", LIVEPLEDGE_WEBHOOK_ALLOW_PRIVATE="true", LIVEPLEDGE_TEST_CLOCK="true",
                  LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.05", LIVEPLEDGE_WEBHOOK_POLL_SECONDS="0.05",
                  LIVEPLEDGE_WEBHOOK_TIMEOUT_SECONDS="2", **extra)


async def register(base: str, demo: dict[str, Any], url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        created = await client.post(
            f"/api/v1/shops/{demo['shop_id']}/webhooks", json={
                "url": url, "event_types": ["order.paid"], "description": "receiver"},
            headers={"Authorization": f"Bearer {demo['merchant_token']}"})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def buy_and_pay(base: str, demo: dict[str, Any], buyer: int) -> int:
    headers = {"Authorization": f"Bearer {demo['buyer_tokens'][buyer]}"}
    async with httpx.AsyncClient(base_url=base) as client:
        order = await client.post(
            f"/api/v1/sessions/{demo['session_id']}/lineup/{demo['item_id']}/orders",
            json={"quantity": 1}, headers={**headers, "Idempotency-Key": f"wh-{buyer}"})
        assert order.status_code == 201, order.text
        paid = await client.post(f"/api/v1/orders/{order.json()['id']}/pay", headers=headers)
        assert paid.status_code == 200, paid.text
        return int(order.json()["id"])


def assert_signed(item: Received, secret: str) -> dict[str, Any]:
    verify_webhook = docs_verifier()
    assert verify_webhook(secret, item.headers, item.body)
    assert signature.verify(secret, webhook_id=item.headers["webhook-id"],
                            webhook_timestamp=item.headers["webhook-timestamp"],
                            webhook_signature=item.headers["webhook-signature"],
                            body=item.body, now=time.time())
    assert not verify_webhook(secret, item.headers, item.body + b" ")
    assert not verify_webhook(signature.new_secret(), item.headers, item.body)
    assert item.headers["content-type"] == "application/json"
    return orjson.loads(item.body)  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_signed_deliveries_arrive_and_a_500_is_retried(database_url, server_factory):
    env = server_env(database_url, LIVEPLEDGE_METRICS_TOKEN="scrape")
    demo = seed_demo(env, buyers=2, stock=10)
    server = server_factory(env)
    receiver = Receiver(script=[500])
    async with serve(receiver) as url:
        endpoint = await register(server.base_url, demo, url)

        order_id = await buy_and_pay(server.base_url, demo, 0)

        first = await receiver.next()
        payload = assert_signed(first, endpoint["secret"])
        assert payload["type"] == "order.paid" and payload["version"] == 1
        assert payload["data"]["order_id"] == order_id
        assert payload["data"]["shop_id"] == demo["shop_id"]
        assert first.answered == 500
        # the retry is due about 5 s later: move the server's clock past it
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            moved = await client.post("/api/v1/test/clock", json={"advance_seconds": 10})
            assert moved.status_code == 200
        second = await receiver.next()
        assert_signed(second, endpoint["secret"])
        assert second.headers["webhook-id"] == first.headers["webhook-id"]
        assert second.body == first.body and second.answered == 200

        other_order = await buy_and_pay(server.base_url, demo, 1)
        third = await receiver.next()
        assert assert_signed(third, endpoint["secret"])["data"]["order_id"] == other_order
        assert third.headers["webhook-id"] != first.headers["webhook-id"]

        async def logged() -> bool:
            rows = await fetch(database_url, "SELECT status FROM webhook_deliveries")
            return sorted(r["status"] for r in rows) == ["delivered", "delivered"]
        await wait_for(logged, "both deliveries recorded as delivered")
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            log = (await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries",
                                    headers={"Authorization":
                                             f"Bearer {demo['merchant_token']}"})).json()
        by_order = {d["payload"]["data"]["order_id"]: d for d in log["deliveries"]}
        assert [a["status_code"] for a in by_order[order_id]["attempt_log"]] == [500, 200]
        assert by_order[order_id]["attempt_log"][1]["response_excerpt"] == "received"
        assert [a["status_code"] for a in by_order[other_order]["attempt_log"]] == [200]
        assert len(receiver.requests) == 3
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            metrics = (await client.get("/metrics", headers={
                "Authorization": "Bearer scrape"})).text
        for line in ("livepledge_webhook_attempts_total 3", "livepledge_webhook_acks_total 2",
                     "livepledge_webhook_failures_total 1"):
            assert line in metrics.splitlines()


@pytest.mark.slow
async def test_kill_9_with_deliveries_in_flight_loses_none(database_url, server_factory):
    env = server_env(database_url)
    demo = seed_demo(env, buyers=3, stock=10)
    server = server_factory(env)
    receiver = Receiver(hang=True)
    async with serve(receiver) as url:
        endpoint = await register(server.base_url, demo, url)
        orders = [await buy_and_pay(server.base_url, demo, n) for n in range(3)]

        # two are in flight (the per-endpoint limit), the third waits its turn
        in_flight = {(await receiver.next()).headers["webhook-id"] for _ in range(2)}

        async def three_written() -> bool:
            found = await fetch(database_url, "SELECT count(*) AS n FROM webhook_deliveries")
            return int(found[0]["n"]) == 3
        await wait_for(three_written, "the third delivery", every=0.02)
        crash(server)
        rows = await fetch(database_url, "SELECT message_id, status FROM webhook_deliveries")
        assert len(rows) == 3 and {r["status"] for r in rows} == {"pending"}
        ids = {r["message_id"] for r in rows}
        assert in_flight < ids

        # the receiver comes back healthy; the server restarts past the senders' leases
        receiver.hang = False
        receiver.release.set()
        server_factory({**env, "LIVEPLEDGE_CLOCK_OFFSET_SECONDS": "60"})
        acknowledged: set[str] = set()
        while acknowledged != ids:
            item = await receiver.next()
            assert_signed(item, endpoint["secret"])
            if item.answered == 200:
                acknowledged.add(item.headers["webhook-id"])
        assert acknowledged == ids

        async def all_delivered() -> bool:
            found = await fetch(database_url, "SELECT status FROM webhook_deliveries")
            return [r["status"] for r in found] == ["delivered"] * 3
        await wait_for(all_delivered, "every delivery recorded as delivered")
        bodies = {orjson.loads(r.body)["data"]["order_id"] for r in receiver.requests}
        assert bodies == set(orders)
