"""Metrics are counted from what happened, per outcome."""

from __future__ import annotations

import httpx

from tests.api.world import build_world


async def test_buy_outcomes_are_counted(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=1, limit=1)
    await world.buy(world.buyers[0], key="a")
    await world.buy(world.buyers[0], key="a")
    await world.buy(world.buyers[1])

    text = (await app_client.get("/metrics")).text

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
