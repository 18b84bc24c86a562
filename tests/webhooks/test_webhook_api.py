"""Webhook endpoints through the API: registration with the secret shown once, refused URLs
(nothing stored), other shops' staff kept out, the delivery log with attempts, and replays."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from livepledge.config import Settings
from livepledge.infra.metrics import Metrics
from livepledge.infra.models import events
from livepledge.webhooks import service, signature
from livepledge.webhooks.models import webhook_deliveries, webhook_endpoints
from livepledge.webhooks.rules import parse_url
from livepledge.webhooks.sender import AddressPolicy, AddressRefused, Outcome, checked_addresses
from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

PUBLIC_URL = "https://93.184.216.34/hooks/livepledge"


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # the app's own delivery worker looks once at start and then not for a minute: these tests
    # drive a worker of their own with a scripted sender
    async with make_app_client(sqlite_url, webhook_poll_seconds=60) as client:
        yield client


def runtime(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def count(client: httpx.AsyncClient, table: Any) -> int:
    async with runtime(client).db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def create(world: World, **body: Any) -> httpx.Response:
    payload = {"url": PUBLIC_URL, "event_types": ["order.paid"], "description": "ERP 对接"}
    return await world.client.post(f"/api/v1/shops/{world.shop_id}/webhooks",
                                   headers=auth(world.merchant), json={**payload, **body})


async def test_a_merchant_registers_an_endpoint_and_sees_the_secret_once(client):
    world = await build_world(client, buyers=0)

    created = await create(world, event_types=["order.shipped", "order.paid", "order.paid"])

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(signature.secret_key(body["secret"])) == 32
    assert body["event_types"] == ["order.paid", "order.shipped"]  # catalogue order, once each
    assert (body["url"], body["enabled"], body["description"]) == (PUBLIC_URL, True, "ERP 对接")
    listed = (await client.get(f"/api/v1/shops/{world.shop_id}/webhooks",
                               headers=auth(world.merchant))).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] == body["secret"][:10] + "…"
    one = (await client.get(f"/api/v1/webhooks/{body['id']}",
                            headers=auth(world.merchant))).json()
    assert "secret" not in one and one["id"] == body["id"]
    async with runtime(client).db.read() as conn:
        recorded = (await conn.execute(select(events.c.type, events.c.shop_id, events.c.payload)
                                       .where(events.c.type.like("Webhook%")))).all()
    assert [(r.type, r.shop_id, r.payload["url"], r.payload["endpoint_id"]) for r in recorded] == [
        ("WebhookEndpointRegistered", world.shop_id, PUBLIC_URL, body["id"])]
    assert body["secret"] not in str(recorded[0].payload)
    types = (await client.get("/api/v1/webhook-types")).json()
    assert {t["type"] for t in types} >= {"order.paid", "fan.joined", "coupon.claimed"}


BAD_URLS = [
    "ftp://93.184.216.34/x",
    "javascript:alert(1)",
    "https://user:secret@93.184.216.34/x",
    "http://127.0.0.1:8080/x",
    "http://localhost/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/x",
    "http://192.168.1.10/x",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[fd00::1]/x",
    "http://0.0.0.0/x",
    "http://224.0.0.1/x",
    "http://2130706433/x",  # 127.0.0.1 written as one number: caught after resolution
    "https://93.184.216.34/x#frag",
    "not a url",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_refused_urls_are_422_and_store_nothing(client, url: str):
    world = await build_world(client, buyers=0)

    response = await create(world, url=url)

    body = assert_problem(response, 422, "validation_failed")
    assert body.get("field") == "url" or response.status_code == 422
    assert await count(client, webhook_endpoints) == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"event_types": []}, None), ({"event_types": ["order.exploded"]}, "event_types"),
    ({"description": "x" * 201}, None), ({"url": ""}, None), ({"secret": "mine"}, None)])
async def test_other_bad_input_is_422_and_stores_nothing(client, change, field):
    world = await build_world(client, buyers=0)

    body = assert_problem(await create(world, **change), 422, "validation_failed")

    if field:
        assert body["field"] == field
    assert await count(client, webhook_endpoints) == 0


async def test_other_shops_staff_and_buyers_cannot_see_or_touch_an_endpoint(client):
    world = await build_world(client, buyers=1)
    other = await build_world(client, buyers=0, prefix="other-")
    endpoint = (await create(world)).json()
    url = f"/api/v1/webhooks/{endpoint['id']}"
    before = (await client.get(url, headers=auth(world.merchant))).json()

    for token in (other.merchant, world.buyers[0]):
        headers = auth(token)
        assert_problem(await client.get(url, headers=headers), 404, "not_found")
        assert_problem(await client.patch(url, headers=headers, json={"enabled": False}),
                       404, "not_found")
        assert_problem(await client.post(url + "/secret", headers=headers), 404, "not_found")
        assert_problem(await client.get(url + "/deliveries", headers=headers), 404, "not_found")
        assert_problem(await client.post(f"/api/v1/shops/{world.shop_id}/webhooks",
                                         headers=headers, json={"url": PUBLIC_URL,
                                                                "event_types": ["order.paid"]}),
                       403, "forbidden")
        assert_problem(await client.get(f"/api/v1/shops/{world.shop_id}/webhooks",
                                        headers=headers), 403, "forbidden")
    assert_problem(await client.get(url), 401, "unauthenticated")
    assert (await client.get(url, headers=auth(world.merchant))).json() == before
    assert await count(client, webhook_endpoints) == 1


async def test_update_disable_and_a_refused_update_changes_nothing(client):
    world = await build_world(client, buyers=0)
    endpoint = (await create(world)).json()
    url = f"/api/v1/webhooks/{endpoint['id']}"
    headers = auth(world.merchant)

    refused = await client.patch(url, headers=headers, json={
        "url": "http://127.0.0.1/x", "description": "改了"})
    assert_problem(refused, 422, "validation_failed")
    unchanged = (await client.get(url, headers=headers)).json()
    assert (unchanged["url"], unchanged["description"]) == (PUBLIC_URL, "ERP 对接")

    changed = (await client.patch(url, headers=headers, json={
        "event_types": ["order.refunded", "case.opened"], "enabled": False})).json()
    assert changed["event_types"] == ["order.refunded", "case.opened"]
    assert changed["enabled"] is False and changed["disabled_reason"]
    again = (await client.patch(url, headers=headers, json={"enabled": True})).json()
    assert again["enabled"] is True and again["disabled_reason"] is None


async def test_rotation_shows_a_new_secret_once_and_keeps_the_old_one_signing_a_day(client):
    world = await build_world(client, buyers=0)
    endpoint = (await create(world)).json()

    rotated = await client.post(f"/api/v1/webhooks/{endpoint['id']}/secret",
                                headers=auth(world.merchant))

    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    assert body["previous_secret_until"] is not None


class ScriptedSender:
    """Answers from a script, recording what was sent."""

    def __init__(self, *answers: int) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        self.sent.append((url, headers, body))
        status = self.answers.pop(0) if self.answers else 200
        return Outcome(status, None, 3, "ok" if status < 300 else "oops")

    async def close(self) -> None:
        pass


async def paid_order(world: World) -> int:
    order = (await world.buy(world.buyers[0])).json()
    paid = await world.client.post(f"/api/v1/orders/{order['id']}/pay",
                                   headers=auth(world.buyers[0]))
    assert paid.status_code == 200, paid.text
    await runtime(world.client).consumers.drain_all()
    return int(order["id"])


async def test_an_order_paid_is_delivered_logged_with_its_attempts_and_replayed(client):
    world = await build_world(client, buyers=1)
    other = await build_world(client, buyers=1, prefix="other-")
    endpoint = (await create(world, event_types=["order.paid", "order.shipped"])).json()
    foreign = (await create(other)).json()
    order_id = await paid_order(world)
    sender = ScriptedSender(500, 200)
    worker = service.DeliveryWorker(runtime(client).db, sender, Metrics(), poll_seconds=60)

    # the first attempt fails (500): a retry is scheduled 4-6 s later
    assert await worker.drain() == 1
    log = (await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries",
                            headers=auth(world.merchant))).json()
    [delivery] = log["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "pending", 1, 500)
    assert delivery["payload"]["type"] == "order.paid"
    assert delivery["payload"]["data"]["order_id"] == order_id
    assert delivery["payload"]["data"]["shop_id"] == world.shop_id
    assert [(a["number"], a["status_code"], a["response_excerpt"])
            for a in delivery["attempt_log"]] == [(1, 500, "oops")]

    # when it comes due it is sent again, with the same webhook-id, and acknowledged
    from datetime import datetime, timedelta

    later = datetime.fromisoformat(delivery["next_attempt_at"]) + timedelta(seconds=1)
    assert await worker.drain(later) == 1
    [(_, first, body), (_, second, body2)] = sender.sent
    assert first["webhook-id"] == second["webhook-id"] == delivery["webhook_id"]
    assert body == body2 and orjson.loads(body)["data"]["order_id"] == order_id
    assert signature.verify(endpoint["secret"], webhook_id=second["webhook-id"],
                            webhook_timestamp=second["webhook-timestamp"],
                            webhook_signature=second["webhook-signature"], body=body2,
                            now=int(second["webhook-timestamp"]))
    log = (await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries",
                            headers=auth(world.merchant))).json()
    assert log["deliveries"][0]["status"] == "delivered"
    assert [a["status_code"] for a in log["deliveries"][0]["attempt_log"]] == [500, 200]

    # the other shop's endpoint got nothing of this shop's order
    foreign_log = (await client.get(f"/api/v1/webhooks/{foreign['id']}/deliveries",
                                    headers=auth(other.merchant))).json()
    assert foreign_log["deliveries"] == []

    # a replay: a new delivery of the same message, with its own attempts
    replayed = await client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                                 headers=auth(world.merchant))
    assert replayed.status_code == 201, replayed.text
    copy = replayed.json()
    assert copy["id"] != delivery["id"] and copy["replay_of"] == delivery["id"]
    assert (copy["webhook_id"], copy["status"], copy["attempt_log"]) == (
        delivery["webhook_id"], "pending", [])
    assert await worker.drain() == 1
    assert sender.sent[-1][1]["webhook-id"] == delivery["webhook_id"]

    # others cannot replay it; a disabled endpoint's deliveries are not replayed
    assert_problem(await client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                                     headers=auth(other.merchant)), 404, "not_found")
    await client.patch(f"/api/v1/webhooks/{endpoint['id']}", headers=auth(world.merchant),
                       json={"enabled": False})
    before = await count(client, webhook_deliveries)
    assert_problem(await client.post(f"/api/v1/webhook-deliveries/{delivery['id']}/replay",
                                     headers=auth(world.merchant)), 409, "invalid_transition")
    assert await count(client, webhook_deliveries) == before


async def test_the_delivery_log_pages(client):
    world = await build_world(client, buyers=1, limit=5, allocated=5)
    endpoint = (await create(world)).json()
    for _ in range(3):
        await paid_order(world)
    url = f"/api/v1/webhooks/{endpoint['id']}/deliveries"

    first = (await client.get(url + "?limit=2", headers=auth(world.merchant))).json()
    second = (await client.get(f"{url}?limit=2&before={first['next_before']}",
                               headers=auth(world.merchant))).json()

    ids = [d["id"] for d in first["deliveries"] + second["deliveries"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_before"] is None


async def test_a_disabled_endpoint_gets_no_new_deliveries(client):
    world = await build_world(client, buyers=1)
    endpoint = (await create(world)).json()
    await client.patch(f"/api/v1/webhooks/{endpoint['id']}", headers=auth(world.merchant),
                       json={"enabled": False})

    await paid_order(world)

    assert await count(client, webhook_deliveries) == 0


def test_production_requires_https_unless_allowed(tmp_path: Path) -> None:
    production = Settings(environment="production", secret_key="x" * 40)
    allowed = Settings(environment="production", secret_key="x" * 40, webhook_allow_http=True)
    assert service.url_policy(production).require_https is True
    assert service.url_policy(allowed).require_https is False
    assert service.url_policy(Settings()).require_https is False


def test_production_refuses_the_private_address_switch(tmp_path: Path) -> None:
    from livepledge.record.note import Signer

    key = tmp_path / "record.key"
    key.write_text(Signer.generate("shop.example").private_key_text())
    with pytest.raises(SystemExit, match=r"WEBHOOK_ALLOW_PRIVATE"):
        Settings(environment="production", secret_key="x" * 40, record_key_file=key,
                 webhook_allow_private=True).check_production()


async def test_a_name_resolving_to_an_internal_address_is_refused_at_delivery() -> None:
    # DNS rebinding: the name resolved to a public address at registration; now one of its
    # addresses is internal, and the sender refuses to connect at all
    target, _ = parse_url("https://hooks.example.com/x", require_https=True)
    assert target is not None

    async def rebinding(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("127.0.0.1")]

    async def public(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address("93.184.216.34")]

    with pytest.raises(AddressRefused, match=r"127\.0\.0\.1"):
        await checked_addresses(target, AddressPolicy(), rebinding)
    assert await checked_addresses(target, AddressPolicy(), public) == [
        ipaddress.ip_address("93.184.216.34")]
    assert await checked_addresses(target, AddressPolicy(allow_private=True), rebinding)
