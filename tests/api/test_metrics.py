"""Metrics are counted from what happened, per outcome."""

from __future__ import annotations

from tests.api.world import build_world
from tests.conftest import make_app_client

METRICS_TOKEN = "prometheus-scrape-token-0123456789"


async def test_buy_outcomes_are_counted(sqlite_url: str):
    async with make_app_client(sqlite_url, metrics_token=METRICS_TOKEN) as app_client:
        world = await build_world(app_client, allocated=1, limit=1)
        await world.buy(world.buyers[0], key="a")
        await world.buy(world.buyers[0], key="a")
        await world.buy(world.buyers[1])

        response = await app_client.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = response.text

    assert 'livepledge_buy_requests_total{outcome="created"} 1' in text
    assert 'livepledge_buy_requests_total{outcome="replayed"} 1' in text
    assert 'livepledge_buy_requests_total{outcome="sold_out"} 1' in text
    assert "livepledge_orders_written 1" in text


def test_json_log_lines() -> None:
    import logging

    import orjson

    from livepledge.infra.logs import JsonFormatter

    record = logging.LogRecord("livepledge.orders", logging.WARNING, __file__, 1,
                               "batch of %d failed", (3,), None)
    record.session_id = 7
    entry = orjson.loads(JsonFormatter().format(record))
    assert (entry["level"], entry["logger"], entry["message"], entry["session_id"]) == (
        "warning", "livepledge.orders", "batch of 3 failed", 7)


async def test_metrics_need_the_configured_token(sqlite_url: str):
    async with make_app_client(sqlite_url, metrics_token=METRICS_TOKEN) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        merchant_token_shape = await client.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
    assert (anonymous.status_code, wrong.status_code, merchant_token_shape.status_code) == (
        401, 401, 401)
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert "livepledge_" not in anonymous.text + wrong.text


async def test_metrics_are_off_without_a_token(sqlite_url: str):
    async with make_app_client(sqlite_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "livepledge_" not in response.text
