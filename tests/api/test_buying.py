"""Buying through the API: the happy path and every refusal, with nothing changed on refusal."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.api.world import assert_problem, auth, build_world


async def test_buy_creates_a_pending_order_at_the_live_price(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)

    response = await world.buy(world.buyers[0], quantity=2, key="k-1")

    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["quantity"], order["unit_price"], order["amount"]) == (
        "pending_payment", 2, 9900, 19800)
    assert order["snapshot"]["product_title"] == "红茶礼盒"
    assert order["snapshot"]["seller"]["name"] == "测试小店"
    assert (await world.item())["stock_remaining"] == 3


async def test_same_idempotency_key_returns_the_same_order(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    first = await world.buy(world.buyers[0], key="same")

    repeat = await world.buy(world.buyers[0], key="same")

    assert repeat.status_code == 201
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.json()["id"] == first.json()["id"]
    assert len(await world.orders()) == 1
    assert (await world.item())["stock_remaining"] == 4


async def test_key_reused_for_a_different_purchase_is_refused(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    await world.buy(world.buyers[0], quantity=1, key="same")

    response = await world.buy(world.buyers[0], quantity=2, key="same")

    assert_problem(response, 422, "idempotency_key_reused")
    assert len(await world.orders()) == 1
    assert (await world.item())["stock_remaining"] == 4


async def test_sold_out_is_409_and_changes_nothing(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=2, limit=2)
    assert (await world.buy(world.buyers[0], quantity=2)).status_code == 201

    response = await world.buy(world.buyers[1], quantity=1)

    assert_problem(response, 409, "sold_out")
    assert len(await world.orders()) == 1
    assert (await world.item())["stock_remaining"] == 0


async def test_over_the_per_buyer_limit_is_409(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    assert (await world.buy(world.buyers[0], quantity=2)).status_code == 201

    again = await world.buy(world.buyers[0], quantity=1)
    too_many = await world.buy(world.buyers[1], quantity=3)

    body = assert_problem(again, 409, "over_limit")
    assert body["per_buyer_limit"] == 2
    assert_problem(too_many, 409, "over_limit")
    assert len(await world.orders()) == 1
    assert (await world.item())["stock_remaining"] == 3


async def test_sale_not_started_is_409(app_client: httpx.AsyncClient):
    world = await build_world(app_client, starts_in=timedelta(minutes=10))

    response = await world.buy(world.buyers[0])

    assert_problem(response, 409, "sale_not_started")
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5


async def test_sale_after_the_session_ended_is_409(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    ended = await app_client.post(f"/api/v1/sessions/{world.session_id}/end",
                                  headers=auth(world.merchant))
    assert ended.status_code == 200

    response = await world.buy(world.buyers[0])

    assert_problem(response, 409, "sale_ended")
    assert await world.orders() == []


async def test_session_not_live_means_sale_not_started(app_client: httpx.AsyncClient):
    world = await build_world(app_client, live=False)

    assert_problem(await world.buy(world.buyers[0]), 409, "sale_not_started")
    assert await world.orders() == []


async def test_bad_quantities_are_422(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    for quantity in (0, -1, 1001, 10**12):
        assert_problem(await world.buy(world.buyers[0], quantity=quantity), 422,
                       "validation_failed")
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5


async def test_missing_idempotency_key_is_400(app_client: httpx.AsyncClient):
    world = await build_world(app_client)

    response = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders",
        json={"quantity": 1}, headers=auth(world.buyers[0]))

    assert_problem(response, 400, "idempotency_key_missing")
    assert await world.orders() == []


async def test_malformed_json_is_400(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    headers = {**auth(world.buyers[0]), "Idempotency-Key": "x",
               "Content-Type": "application/json"}

    response = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders",
        content=b'{"quantity": ', headers=headers)

    assert_problem(response, 400, "malformed_json")
    assert await world.orders() == []


async def test_unknown_ids_are_404(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    token = world.buyers[0]
    headers = {**auth(token), "Idempotency-Key": "x"}

    assert_problem(await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup/999/orders", json={"quantity": 1},
        headers=headers), 404, "not_found")
    assert_problem(await app_client.post(
        f"/api/v1/sessions/999/lineup/{world.item_id}/orders", json={"quantity": 1},
        headers=headers), 404, "not_found")
    assert_problem(await app_client.get("/api/v1/sessions/999"), 404, "not_found")
    assert_problem(await app_client.get("/api/v1/orders/999", headers=auth(token)), 404,
                   "not_found")
    assert_problem(await app_client.get("/api/v1/products/999"), 404, "not_found")
    assert_problem(await app_client.get("/api/v1/no-such-path"), 404, "not_found")
    assert await world.orders() == []


async def test_unauthenticated_and_bad_token_are_401(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    url = f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders"

    anonymous = await app_client.post(url, json={"quantity": 1}, headers={"Idempotency-Key": "a"})
    forged = await app_client.post(url, json={"quantity": 1}, headers={
        "Idempotency-Key": "b", "Authorization": "Bearer lpt_forged"})

    assert_problem(anonymous, 401, "unauthenticated")
    assert_problem(forged, 401, "unauthenticated")
    assert await world.orders() == []


async def test_a_buyer_cannot_see_another_buyers_order(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = (await world.buy(world.buyers[0])).json()

    response = await app_client.get(f"/api/v1/orders/{order['id']}",
                                    headers=auth(world.buyers[1]))
    pay = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                headers=auth(world.buyers[1]))

    assert_problem(response, 404, "not_found")
    assert_problem(pay, 404, "not_found")
    mine = await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(world.buyers[0]))
    assert mine.json()["status"] == "pending_payment"


async def test_live_price_change_applies_forward_only(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=5, limit=2)
    before = (await world.buy(world.buyers[0])).json()

    changed = await app_client.patch(
        f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}",
        headers=auth(world.merchant), json={"live_price": 8800})
    after = (await world.buy(world.buyers[1])).json()

    assert changed.status_code == 200
    assert changed.json()["live_price"] == 8800
    kept = await app_client.get(f"/api/v1/orders/{before['id']}", headers=auth(world.buyers[0]))
    assert (kept.json()["unit_price"], kept.json()["amount"]) == (9900, 9900)
    assert (after["unit_price"], after["amount"]) == (8800, 8800)
    history = (await app_client.get(f"/api/v1/skus/{world.sku_id}/price-history")).json()
    assert [(h["price"], h["context"]) for h in history] == [
        (12900, "list"), (9900, "live"), (8800, "live")]


async def test_list_price_change_keeps_existing_orders(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = (await world.buy(world.buyers[0])).json()

    response = await app_client.patch(f"/api/v1/skus/{world.sku_id}",
                                      headers=auth(world.merchant), json={"price": 15900})

    assert response.status_code == 200
    assert response.json()["price"] == 15900
    kept = await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(world.buyers[0]))
    assert kept.json()["amount"] == 9900
    assert kept.json()["snapshot"]["list_price"] == 12900


async def test_body_shape_is_validated(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    url = f"/api/v1/sessions/{world.session_id}/lineup/{world.item_id}/orders"
    headers = {**auth(world.buyers[0]), "Idempotency-Key": "shape"}
    for body in ({"quantity": "1"}, {"quantity": True}, {"quantity": 1.5}, {},
                 {"quantity": 1, "price": 1}, [1], "1"):
        assert_problem(await app_client.post(url, json=body, headers=headers), 422,
                       "validation_failed")
    not_a_number = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup/abc/orders", json={"quantity": 1},
        headers=headers)
    assert_problem(not_a_number, 422, "validation_failed")
    assert await world.orders() == []
    assert (await world.item())["stock_remaining"] == 5


async def test_the_buy_endpoint_is_documented(app_client: httpx.AsyncClient):
    spec = (await app_client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/sessions/{session_id}/lineup/{item_id}/orders"]["post"]
    assert "201" in operation["responses"]
    assert any(p["name"] == "idempotency-key" for p in operation["parameters"])
