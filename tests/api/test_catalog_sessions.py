"""Catalog and live-session rules through the API: roles, shops, transitions, allocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.world import assert_problem, auth, build_world, register


async def test_buyers_cannot_open_shops_or_touch_catalogs(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    buyer = world.buyers[0]

    shop = await app_client.post("/api/v1/shops", headers=auth(buyer), json={
        "name": "x", "legal_name": "x", "license_no": "x"})
    product = await app_client.post(f"/api/v1/shops/{world.shop_id}/products", headers=auth(buyer),
                                    json={"title": "t", "skus": [{"name": "a", "price": 1,
                                                                  "stock": 1}]})

    assert_problem(shop, 403, "wrong_role")
    assert_problem(product, 403, "forbidden")
    listing = await app_client.get(f"/api/v1/shops/{world.shop_id}/products",
                                   headers=auth(world.merchant))
    assert [p["title"] for p in listing.json()] == ["红茶礼盒"]


async def test_another_shop_cannot_change_this_shop(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    other = await build_world(app_client, prefix="other-", buyers=0)

    edit = await app_client.patch(f"/api/v1/products/{world.product_id}",
                                  headers=auth(other.merchant), json={"title": "偷改"})
    price = await app_client.patch(f"/api/v1/skus/{world.sku_id}", headers=auth(other.merchant),
                                   json={"price": 1})
    pin = await app_client.post(f"/api/v1/sessions/{world.session_id}/unpin",
                                headers=auth(other.merchant))
    orders = await app_client.get(f"/api/v1/shops/{world.shop_id}/orders",
                                  headers=auth(other.merchant))

    for response in (edit, price, pin, orders):
        assert_problem(response, 403, "forbidden")
    assert (await app_client.get(f"/api/v1/products/{world.product_id}")).json()["title"] == \
        "红茶礼盒"
    assert (await world.sku())["price"] == 12900
    session = (await app_client.get(f"/api/v1/sessions/{world.session_id}")).json()
    assert session["pinned_item_id"] == world.item_id


async def test_archived_products_are_kept_with_their_orders(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    order = (await world.buy(world.buyers[0])).json()

    archived = await app_client.post(f"/api/v1/products/{world.product_id}/archive",
                                     headers=auth(world.merchant))
    edit = await app_client.patch(f"/api/v1/products/{world.product_id}",
                                  headers=auth(world.merchant), json={"title": "改名"})

    assert archived.json()["status"] == "archived"
    assert_problem(edit, 409, "archived")
    assert (await app_client.get(f"/api/v1/products/{world.product_id}")).status_code == 200
    kept = await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(world.buyers[0]))
    assert kept.json()["snapshot"]["product_title"] == "红茶礼盒"
    active = await app_client.get(f"/api/v1/shops/{world.shop_id}/products",
                                  headers=auth(world.merchant))
    everything = await app_client.get(
        f"/api/v1/shops/{world.shop_id}/products?include_archived=true",
        headers=auth(world.merchant))
    assert (active.json(), len(everything.json())) == ([], 1)


async def test_bad_product_input_is_422(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    url = f"/api/v1/shops/{world.shop_id}/products"
    cases = [
        {"title": "", "skus": [{"name": "a", "price": 100, "stock": 1}]},
        {"title": "t", "skus": []},
        {"title": "t", "skus": [{"name": "a", "price": 0, "stock": 1}]},
        {"title": "t", "skus": [{"name": "a", "price": 100, "stock": -1}]},
        {"title": "t", "category": "weapons", "skus": [{"name": "a", "price": 1, "stock": 1}]},
        {"title": "t", "skus": [{"name": "a", "price": "cheap", "stock": 1}]},
    ]
    for body in cases:
        assert_problem(await app_client.post(url, headers=auth(world.merchant), json=body), 422,
                       "validation_failed")
    listing = await app_client.get(url, headers=auth(world.merchant))
    assert len(listing.json()) == 1


async def test_allocation_cannot_exceed_stock_on_hand(app_client: httpx.AsyncClient):
    world = await build_world(app_client, stock=10, allocated=5)
    now = datetime.now(UTC)

    response = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/lineup", headers=auth(world.merchant),
        json={"sku_id": world.sku_id, "live_price": 100, "stock_allocated": 6,
              "per_buyer_limit": 1, "sale_starts_at": now.isoformat(),
              "sale_ends_at": (now + timedelta(hours=1)).isoformat()})

    body = assert_problem(response, 409, "insufficient_stock")
    assert body["stock_on_hand"] == 5
    assert (await world.sku())["stock"] == 5
    session = (await app_client.get(f"/api/v1/sessions/{world.session_id}")).json()
    assert len(session["lineup"]) == 1


async def test_ending_returns_unsold_units_to_the_sku(app_client: httpx.AsyncClient):
    world = await build_world(app_client, stock=10, allocated=5)
    await world.buy(world.buyers[0], quantity=2)

    await app_client.post(f"/api/v1/sessions/{world.session_id}/end", headers=auth(world.anchor))

    item = await world.item()
    assert (item["stock_allocated"], item["stock_remaining"], item["sale_state"]) == (
        2, 0, "ended")
    assert (await world.sku())["stock"] == 8


async def test_session_transitions_are_enforced(app_client: httpx.AsyncClient):
    world = await build_world(app_client, live=False, buyers=0)
    base = f"/api/v1/sessions/{world.session_id}"

    pin_before_live = await app_client.post(base + "/pin", headers=auth(world.anchor),
                                            json={"item_id": world.item_id})
    end_before_start = await app_client.post(base + "/end", headers=auth(world.anchor))
    assert_problem(pin_before_live, 409, "invalid_transition")
    assert_problem(end_before_start, 409, "invalid_transition")
    assert (await app_client.get(base)).json()["status"] == "scheduled"

    assert (await app_client.post(base + "/start", headers=auth(world.anchor))).status_code == 200
    assert_problem(await app_client.post(base + "/start", headers=auth(world.anchor)), 409,
                   "invalid_transition")
    assert (await app_client.post(base + "/end", headers=auth(world.anchor))).status_code == 200
    now = datetime.now(UTC)
    after_end = await app_client.post(base + "/lineup", headers=auth(world.merchant), json={
        "sku_id": world.sku_id, "live_price": 100, "stock_allocated": 1, "per_buyer_limit": 1,
        "sale_starts_at": now.isoformat(), "sale_ends_at": (now + timedelta(hours=1)).isoformat()})
    assert_problem(after_end, 409, "invalid_transition")
    assert_problem(await app_client.post(base + "/pin", headers=auth(world.anchor),
                                         json={"item_id": world.item_id}), 409,
                   "invalid_transition")


async def test_only_this_shops_anchor_can_be_scheduled(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    stranger_id, _ = await register(app_client, "stranger-anchor", "anchor")

    response = await app_client.post(f"/api/v1/shops/{world.shop_id}/sessions",
                                     headers=auth(world.merchant), json={
                                         "title": "t", "anchor_id": stranger_id,
                                         "scheduled_at": datetime.now(UTC).isoformat()})

    assert_problem(response, 422, "validation_failed")
    assert len((await app_client.get(f"/api/v1/shops/{world.shop_id}/sessions")).json()) == 1


async def test_bad_playback_url_and_naive_times_are_422(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    url = f"/api/v1/shops/{world.shop_id}/sessions"
    bad_url = await app_client.post(url, headers=auth(world.merchant), json={
        "title": "t", "anchor_id": world.anchor_id, "scheduled_at": datetime.now(UTC).isoformat(),
        "playback_url": "javascript:alert(1)"})
    naive = await app_client.post(url, headers=auth(world.merchant), json={
        "title": "t", "anchor_id": world.anchor_id, "scheduled_at": "2026-11-24T20:00:00"})

    assert_problem(bad_url, 422, "validation_failed")
    assert_problem(naive, 422, "validation_failed")
    assert len((await app_client.get(url)).json()) == 1


async def test_login_errors(app_client: httpx.AsyncClient):
    await register(app_client, "alice")
    duplicate = await app_client.post("/api/v1/users", json={
        "login": "alice", "password": "another-password", "display_name": "A"})
    wrong = await app_client.post("/api/v1/tokens",
                                  json={"login": "alice", "password": "nope-nope"})
    unknown = await app_client.post("/api/v1/tokens",
                                    json={"login": "bob", "password": "nope-nope"})
    short = await app_client.post("/api/v1/users", json={
        "login": "carol", "password": "short", "display_name": "C"})
    good = await app_client.post("/api/v1/tokens", json={
        "login": "alice", "password": "correct-horse-battery"})

    assert_problem(duplicate, 409, "login_taken")
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(unknown, 401, "invalid_credentials")
    assert_problem(short, 422, "validation_failed")
    assert good.status_code == 201


async def test_oversized_body_is_413(app_client: httpx.AsyncClient):
    response = await app_client.post("/api/v1/users", content=b"x" * 2_000_000,
                                     headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


async def test_one_anchor_is_live_in_one_room_at_a_time(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)  # the anchor is live in world.session_id
    second = await app_client.post(f"/api/v1/shops/{world.shop_id}/sessions",
                                   headers=auth(world.merchant), json={
                                       "title": "第二场", "anchor_id": world.anchor_id,
                                       "scheduled_at": datetime.now(UTC).isoformat()})
    other = second.json()["id"]

    refused = await app_client.post(f"/api/v1/sessions/{other}/start", headers=auth(world.anchor))

    body = assert_problem(refused, 409, "invalid_transition")
    assert body["live_session_id"] == world.session_id
    assert (await app_client.get(f"/api/v1/sessions/{other}")).json()["status"] == "scheduled"
    await app_client.post(f"/api/v1/sessions/{world.session_id}/end", headers=auth(world.anchor))
    started = await app_client.post(f"/api/v1/sessions/{other}/start", headers=auth(world.anchor))
    assert started.status_code == 200


async def test_the_database_holds_one_live_room_per_anchor_even_in_a_race(
        app_client: httpx.AsyncClient):
    """Past the service's check (as two concurrent requests would be), the unique index holds."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from livepledge.live.models import live_sessions

    world = await build_world(app_client, buyers=0)
    second = (await app_client.post(f"/api/v1/shops/{world.shop_id}/sessions",
                                    headers=auth(world.merchant), json={
                                        "title": "第二场", "anchor_id": world.anchor_id,
                                        "scheduled_at": datetime.now(UTC).isoformat()})).json()
    db = app_client.app.state.runtime.db  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError):
        async with db.write() as uow:
            await uow.conn.execute(update(live_sessions).where(
                live_sessions.c.id == second["id"]).values(status="live"))
    assert (await app_client.get(f"/api/v1/sessions/{second['id']}")).json()["status"] == \
        "scheduled"
