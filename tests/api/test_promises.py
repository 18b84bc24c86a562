"""The promise ledger through the API: declare, withdraw, revise, what is in force for an item;
refused actions change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.world import assert_problem, auth, build_world, register


async def _ledger(client: httpx.AsyncClient, shop_id: int, token: str) -> list[dict]:
    response = await client.get(f"/api/v1/shops/{shop_id}/promises", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_merchant_declares_and_the_room_sees_it(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    declared = await app_client.post(f"/api/v1/shops/{w.shop_id}/promises",
                                     headers=auth(w.merchant), json={
        "kind": "price_protection", "terms": {"days": 30},
        "scope": {"type": "product", "id": w.product_id}})
    assert declared.status_code == 201, declared.text
    body = declared.json()
    assert {k: body[k] for k in ("kind", "terms", "scope", "version", "supersedes_id",
                                 "in_force", "enforced", "withdrawn_at", "ends_at")} == {
        "kind": "price_protection", "terms": {"days": 30, "excludes_flash_sale": False},
        "scope": {"type": "product", "id": w.product_id}, "version": 1, "supersedes_id": None,
        "in_force": True, "enforced": True, "withdrawn_at": None, "ends_at": None}
    assert body["label"] == {"zh-CN": "30天保价", "en": "30-day price protection"}
    assert len(body["hash"]) == 64

    shown = (await app_client.get(f"/api/v1/lineup-items/{w.item_id}/promises")).json()
    assert [p["id"] for p in shown] == [body["id"]]
    assert (await app_client.get(f"/api/v1/promises/{body['id']}")).json() == body


async def test_every_scope_reaches_the_item_and_other_items_are_untouched(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    other = await app_client.post(f"/api/v1/shops/{w.shop_id}/products", headers=auth(w.merchant),
                                  json={"title": "白茶", "category": "food",
                                        "skus": [{"name": "100g", "price": 5000, "stock": 5}]})
    other_sku = other.json()["skus"][0]["id"]
    ids = []
    for kind, terms, scope in (
            ("warranty", {"months": 12}, {"type": "shop"}),
            ("shipping_deadline", {"hours": 48}, {"type": "sku", "id": w.sku_id}),
            ("counterfeit_compensation", {"multiple": 3},
             {"type": "lineup_item", "id": w.item_id}),
            ("gift", {"name": "茶杯", "quantity": 1}, {"type": "sku", "id": other_sku})):
        response = await app_client.post(f"/api/v1/shops/{w.shop_id}/promises",
                                         headers=auth(w.merchant),
                                         json={"kind": kind, "terms": terms, "scope": scope})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    shown = (await app_client.get(f"/api/v1/lineup-items/{w.item_id}/promises")).json()
    assert sorted(p["id"] for p in shown) == sorted(ids[:3])  # not the other SKU's gift
    assert ids[0] in [p["id"] for p in shown if p["scope"] == {"type": "shop", "id": w.shop_id}]


async def test_the_anchor_declares_for_the_session_items_only(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    own = await app_client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.anchor),
                                json={"kind": "gift", "terms": {"name": "试饮装", "quantity": 2},
                                      "scope": {"type": "lineup_item", "id": w.item_id}})
    assert own.status_code == 201, own.text
    before = await _ledger(app_client, w.shop_id, w.merchant)
    assert_problem(await app_client.post(
        f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.anchor),
        json={"kind": "warranty", "terms": {"months": 12}, "scope": {"type": "shop"}}),
        403, "forbidden")
    assert await _ledger(app_client, w.shop_id, w.merchant) == before


async def test_refused_declarations_store_nothing(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    stranger = await build_world(app_client, buyers=0, prefix="x-")
    _, buyer = await register(app_client, "just-a-buyer")
    url = f"/api/v1/shops/{w.shop_id}/promises"
    soon = datetime.now(UTC)
    cases = [
        (buyer, {"kind": "warranty", "terms": {"months": 12}, "scope": {"type": "shop"}},
         403, "forbidden"),
        (stranger.merchant, {"kind": "warranty", "terms": {"months": 12},
                             "scope": {"type": "shop"}}, 403, "forbidden"),
        (w.merchant, {"kind": "lifetime", "terms": {}, "scope": {"type": "shop"}},
         422, "validation_failed"),
        (w.merchant, {"kind": "price_protection", "terms": {"days": 0},
                      "scope": {"type": "shop"}}, 422, "validation_failed"),
        (w.merchant, {"kind": "price_protection", "terms": {"days": 10_000},
                      "scope": {"type": "shop"}}, 422, "validation_failed"),
        (w.merchant, {"kind": "counterfeit_compensation", "terms": {"multiple": 0},
                      "scope": {"type": "shop"}}, 422, "validation_failed"),
        (w.merchant, {"kind": "warranty", "terms": {"months": 12},
                      "scope": {"type": "product", "id": stranger.product_id}},
         404, "not_found"),
        (w.merchant, {"kind": "warranty", "terms": {"months": 12},
                      "scope": {"type": "lineup_item", "id": 987654321}}, 404, "not_found"),
        (w.merchant, {"kind": "gift", "terms": {"sku_id": stranger.sku_id, "quantity": 1},
                      "scope": {"type": "shop"}}, 422, "validation_failed"),
        (w.merchant, {"kind": "warranty", "terms": {"months": 12}, "scope": {"type": "shop"},
                      "starts_at": (soon - timedelta(days=1)).isoformat()},
         422, "validation_failed"),
        (w.merchant, {"kind": "warranty", "terms": {"months": 12}, "scope": {"type": "shop"},
                      "starts_at": (soon + timedelta(hours=2)).isoformat(),
                      "ends_at": (soon + timedelta(hours=1)).isoformat()},
         422, "validation_failed"),
    ]
    for token, body, status, code in cases:
        assert_problem(await app_client.post(url, headers=auth(token), json=body), status, code)
    assert await _ledger(app_client, w.shop_id, w.merchant) == []
    assert await _ledger(app_client, stranger.shop_id, stranger.merchant) == []


async def test_withdrawing_ends_it_once(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    declared = (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises",
                                      headers=auth(w.merchant), json={
        "kind": "warranty", "terms": {"months": 12}, "scope": {"type": "shop"}})).json()
    withdrawn = await app_client.post(f"/api/v1/promises/{declared['id']}/withdraw",
                                      headers=auth(w.merchant))
    assert withdrawn.status_code == 200, withdrawn.text
    after = withdrawn.json()
    assert after["in_force"] is False and after["withdrawn_at"] == after["ends_at"]
    assert {k: after[k] for k in ("terms", "hash", "version")} == {
        k: declared[k] for k in ("terms", "hash", "version")}  # the words and hash never change
    assert (await app_client.get(f"/api/v1/lineup-items/{w.item_id}/promises")).json() == []

    ledger = await _ledger(app_client, w.shop_id, w.merchant)
    assert_problem(await app_client.post(f"/api/v1/promises/{declared['id']}/withdraw",
                                         headers=auth(w.merchant)), 409, "invalid_transition")
    assert await _ledger(app_client, w.shop_id, w.merchant) == ledger
    assert_problem(await app_client.post("/api/v1/promises/987654321/withdraw",
                                         headers=auth(w.merchant)), 404, "not_found")


async def test_a_changed_promise_is_a_new_version(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    first = (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises",
                                   headers=auth(w.merchant), json={
        "kind": "price_protection", "terms": {"days": 30},
        "scope": {"type": "sku", "id": w.sku_id}})).json()
    revised = await app_client.post(f"/api/v1/promises/{first['id']}/revisions",
                                    headers=auth(w.merchant),
                                    json={"terms": {"days": 15, "excludes_flash_sale": True}})
    assert revised.status_code == 201, revised.text
    second = revised.json()
    assert (second["version"], second["supersedes_id"], second["terms"], second["in_force"]) == (
        2, first["id"], {"days": 15, "excludes_flash_sale": True}, True)
    assert second["hash"] != first["hash"]
    old = (await app_client.get(f"/api/v1/promises/{first['id']}")).json()
    assert old["in_force"] is False and old["terms"] == {"days": 30, "excludes_flash_sale": False}
    shown = (await app_client.get(f"/api/v1/lineup-items/{w.item_id}/promises")).json()
    assert [p["id"] for p in shown] == [second["id"]]

    ledger = await _ledger(app_client, w.shop_id, w.merchant)
    for body, status, code in (({"terms": {"days": 0}}, 422, "validation_failed"),
                               ({"terms": {"days": 7}}, 409, "invalid_transition")):
        target = second["id"] if status == 422 else first["id"]  # the old one has ended
        assert_problem(await app_client.post(f"/api/v1/promises/{target}/revisions",
                                             headers=auth(w.merchant), json=body), status, code)
    assert await _ledger(app_client, w.shop_id, w.merchant) == ledger


async def test_a_future_promise_is_not_in_force_yet(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    later = datetime.now(UTC) + timedelta(hours=1)
    body = (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                  json={"kind": "warranty", "terms": {"months": 6},
                                        "scope": {"type": "shop"},
                                        "starts_at": later.isoformat()})).json()
    assert body["in_force"] is False
    assert (await app_client.get(f"/api/v1/lineup-items/{w.item_id}/promises")).json() == []
    in_force = await app_client.get(f"/api/v1/shops/{w.shop_id}/promises?in_force=true",
                                    headers=auth(w.merchant))
    assert in_force.json() == []
    assert [p["id"] for p in await _ledger(app_client, w.shop_id, w.merchant)] == [body["id"]]


async def _paid_order(w, token: str) -> dict:  # type: ignore[no-untyped-def]
    """An order placed (not yet paid)."""
    placed = await w.buy(token)
    assert placed.status_code == 201, placed.text
    return placed.json()  # type: ignore[no-any-return]


async def test_an_order_keeps_the_promises_in_force_when_it_was_placed(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    declared = (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises",
                                      headers=auth(w.merchant), json={
        "kind": "price_protection", "terms": {"days": 30},
        "scope": {"type": "lineup_item", "id": w.item_id}})).json()
    order = await _paid_order(w, w.buyers[0])
    expected = [{"promise_id": declared["id"], "kind": "price_protection",
                 "terms": {"days": 30, "excludes_flash_sale": False}, "version": 1,
                 "hash": declared["hash"], "source": {"type": "lineup_item", "id": w.item_id},
                 "enforced": True, "label": declared["label"],
                 "description": declared["description"]}]
    seen = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                 headers=auth(w.buyers[0]))).json()
    assert seen["promises"] == expected

    # Withdrawn afterwards: the order keeps it; the next order does not get it.
    assert (await app_client.post(f"/api/v1/promises/{declared['id']}/withdraw",
                                  headers=auth(w.merchant))).status_code == 200
    again = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                  headers=auth(w.buyers[0]))).json()
    assert again["promises"] == expected
    later = await _paid_order(w, w.buyers[1])
    assert (await app_client.get(f"/api/v1/orders/{later['id']}",
                                 headers=auth(w.buyers[1]))).json()["promises"] == []
    staff = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                  headers=auth(w.merchant))).json()
    assert staff["promises"] == expected


async def test_a_promise_starting_later_is_not_frozen_into_an_earlier_order(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert (await app_client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                                  json={"kind": "warranty", "terms": {"months": 6},
                                        "scope": {"type": "shop"},
                                        "starts_at": later.isoformat()})).status_code == 201
    order = await _paid_order(w, w.buyers[0])
    assert order["snapshot"]["promises"] == []


async def test_the_reference_price_comes_only_from_paid_orders(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=2)
    assert (await w.item())["reference_price"] is None  # no transaction: nothing is shown
    (await w.buy(w.buyers[1])).json()  # placed, never paid: not a transaction
    assert (await w.item())["reference_price"] is None
    placed = await _paid_order(w, w.buyers[0])  # placed; paid just below
    assert (await app_client.post(f"/api/v1/orders/{placed['id']}/pay",
                                  headers=auth(w.buyers[0]))).status_code == 200
    assert (await w.item())["reference_price"] == {
        "amount": 9900, "days": 7, "orders": 1,
        "basis": {"zh-CN": "前7日最低成交价", "en": "Lowest paid price, previous 7 days"}}


async def test_the_room_lineup_carries_the_badges(app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=0)
    await app_client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                          json={"kind": "counterfeit_compensation", "terms": {"multiple": 3},
                                "scope": {"type": "shop"}})
    item = await w.item()
    assert [(p["kind"], p["label"]) for p in item["promises"]] == [
        ("counterfeit_compensation", {"zh-CN": "假一赔3", "en": "3× if counterfeit"})]
