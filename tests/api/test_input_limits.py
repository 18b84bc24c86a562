"""Input at the edges, on SQLite and PostgreSQL: ids and numbers too big for a 64-bit column,
oversized and streamed bodies, and a bug on the buy fast path. Each is a clear 4xx (or a bare
500 for the bug), never a traceback, and nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

HUGE = "99999999999999999999"  # 20 digits: more than any 64-bit id


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as app_client:
        yield app_client


@pytest.mark.parametrize("path", [
    f"/api/v1/orders/{HUGE}", f"/api/v1/sessions/{HUGE}", f"/api/v1/products/{HUGE}",
    f"/api/v1/shops/{HUGE}"])
async def test_an_id_too_long_to_exist_is_404(client: httpx.AsyncClient, path: str):
    assert_problem(await client.get(path), 404, "not_found")


async def test_buying_with_an_id_too_long_is_404_and_changes_nothing(client: httpx.AsyncClient):
    world = await build_world(client, allocated=5, limit=1)
    for path in (f"/api/v1/sessions/{world.session_id}/lineup/{HUGE}/orders",
                 f"/api/v1/sessions/{HUGE}/lineup/{world.item_id}/orders"):
        response = await client.post(path, json={"quantity": 1}, headers={
            **auth(world.buyers[0]), "Idempotency-Key": "huge"})
        assert_problem(response, 404, "not_found")
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5


async def test_numbers_beyond_64_bits_in_bodies_are_422_and_change_nothing(
        client: httpx.AsyncClient):
    world = await build_world(client, allocated=5, limit=1)
    merchant = auth(world.merchant)
    before = (await client.get(f"/api/v1/sessions/{world.session_id}")).json()
    attempts = [
        (f"/api/v1/sessions/{world.session_id}/lineup", {
            "sku_id": int(HUGE), "live_price": 100, "stock_allocated": 1,
            "sale_starts_at": "2030-01-01T00:00:00+08:00",
            "sale_ends_at": "2030-01-01T01:00:00+08:00"}),
        (f"/api/v1/sessions/{world.session_id}/lineup", {
            "sku_id": world.sku_id, "live_price": int(HUGE), "stock_allocated": 1,
            "sale_starts_at": "2030-01-01T00:00:00+08:00",
            "sale_ends_at": "2030-01-01T01:00:00+08:00"}),
        (f"/api/v1/sessions/{world.session_id}/pin", {"item_id": int(HUGE)}),
        (f"/api/v1/shops/{world.shop_id}/sessions", {
            "title": "x", "anchor_id": int(HUGE), "scheduled_at": "2030-01-01T00:00:00+08:00"}),
        (f"/api/v1/shops/{world.shop_id}/products", {
            "title": "茶", "category": "food",
            "skus": [{"name": "a", "price": int(HUGE), "stock": 1}]}),
    ]
    for path, body in attempts:
        response = await client.post(path, json=body, headers=merchant)
        assert_problem(response, 422, "validation_failed")
    assert (await client.get(f"/api/v1/sessions/{world.session_id}")).json() == before
    products = await client.get(f"/api/v1/shops/{world.shop_id}/products", headers=merchant)
    assert [p["id"] for p in products.json()] == [world.product_id]


async def test_a_streamed_body_over_one_mebibyte_is_413(client: httpx.AsyncClient):
    world = await build_world(client, allocated=5, limit=1)

    async def chunks(total: int):  # no Content-Length: sent chunked
        sent = 0
        while sent < total:
            yield b" " * 65536
            sent += 65536

    for path, headers in [
        (f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders",
         {**auth(world.buyers[0]), "Idempotency-Key": "big"}),
        ("/api/v1/compliance/check", {}),
    ]:
        response = await client.post(path, content=chunks(2 * 1_048_576), headers={
            **headers, "Content-Type": "application/json"})
        assert_problem(response, 413, "payload_too_large")
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5


async def test_a_declared_body_over_one_mebibyte_is_413_on_the_buy_path(
        client: httpx.AsyncClient):
    world = await build_world(client, allocated=5, limit=1)
    response = await client.post(
        f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders",
        content=b" " * (1_048_576 + 1),
        headers={**auth(world.buyers[0]), "Idempotency-Key": "big",
                 "Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")
    assert await world.orders() == []


async def test_a_bug_on_the_buy_fast_path_is_a_bare_500(client: httpx.AsyncClient,
                                                        monkeypatch: pytest.MonkeyPatch):
    world: World = await build_world(client, allocated=5, limit=1)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]

    async def broken(item_id: int) -> None:
        raise RuntimeError("secret internals")
    monkeypatch.setattr(runtime.buy.facts, "get", broken)

    response = await world.buy(world.buyers[0], key="bug")

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "/problems/internal", "title": "内部错误 / Internal error", "status": 500,
        "detail": "请稍后重试 / please retry later",
        "instance": f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders"}
    monkeypatch.undo()
    assert await world.orders() == []
