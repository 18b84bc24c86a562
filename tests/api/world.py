"""Builds a small shop world through the public API, for API tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

_keys = itertools.count(1)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, login: str, role: str = "buyer") -> tuple[int, str]:
    response = await client.post("/api/v1/users", json={
        "login": login, "password": "correct-horse-battery", "display_name": login, "role": role})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["user_id"], body["token"]


@dataclass
class World:
    client: httpx.AsyncClient
    merchant: str
    anchor: str
    anchor_id: int
    shop_id: int
    sku_id: int
    product_id: int
    session_id: int
    item_id: int
    buyers: list[str] = field(default_factory=list)

    async def buy(self, token: str, quantity: int = 1, key: str | None = None,
                  item_id: int | None = None) -> httpx.Response:
        headers = auth(token)
        headers["Idempotency-Key"] = key or f"key-{next(_keys)}"
        return await self.client.post(
            f"/api/v1/sessions/{self.session_id}/lineup/{item_id or self.item_id}/orders",
            json={"quantity": quantity}, headers=headers)

    async def item(self, item_id: int | None = None) -> dict[str, Any]:
        session = (await self.client.get(f"/api/v1/sessions/{self.session_id}")).json()
        return next(i for i in session["lineup"] if i["id"] == (item_id or self.item_id))

    async def sku(self) -> dict[str, Any]:
        product = (await self.client.get(f"/api/v1/products/{self.product_id}")).json()
        return next(s for s in product["skus"] if s["id"] == self.sku_id)

    async def orders(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/shops/{self.shop_id}/orders?limit=500",
                                         headers=auth(self.merchant))
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]


async def build_world(client: httpx.AsyncClient, *, stock: int = 10, allocated: int = 5,
                      limit: int = 2, buyers: int = 3, live: bool = True,
                      starts_in: timedelta = timedelta(minutes=-1),
                      lasts: timedelta = timedelta(hours=1), prefix: str = "") -> World:
    _, merchant = await register(client, f"{prefix}merchant", "merchant")
    anchor_id, anchor = await register(client, f"{prefix}anchor", "anchor")
    shop = await client.post("/api/v1/shops", headers=auth(merchant), json={
        "name": "测试小店", "legal_name": "测试有限公司", "license_no": "91110000TEST0001X"})
    assert shop.status_code == 201, shop.text
    shop_id = shop.json()["id"]
    added = await client.post(f"/api/v1/shops/{shop_id}/members", headers=auth(merchant),
                              json={"login": f"{prefix}anchor", "role": "anchor"})
    assert added.status_code == 201, added.text
    product = await client.post(f"/api/v1/shops/{shop_id}/products", headers=auth(merchant), json={
        "title": "红茶礼盒", "category": "food",
        "skus": [{"name": "250g", "price": 12900, "stock": stock}]})
    assert product.status_code == 201, product.text
    sku_id = product.json()["skus"][0]["id"]
    now = datetime.now(UTC)
    session = await client.post(f"/api/v1/shops/{shop_id}/sessions", headers=auth(merchant), json={
        "title": "红茶专场", "anchor_id": anchor_id, "scheduled_at": now.isoformat()})
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    starts = now + starts_in
    item = await client.post(f"/api/v1/sessions/{session_id}/lineup", headers=auth(merchant),
                             json={"sku_id": sku_id, "live_price": 9900,
                                   "stock_allocated": allocated, "per_buyer_limit": limit,
                                   "sale_starts_at": starts.isoformat(),
                                   "sale_ends_at": (starts + lasts).isoformat()})
    assert item.status_code == 201, item.text
    item_id = item.json()["id"]
    if live:
        assert (await client.post(f"/api/v1/sessions/{session_id}/start",
                                  headers=auth(anchor))).status_code == 200
        assert (await client.post(f"/api/v1/sessions/{session_id}/pin", headers=auth(anchor),
                                  json={"item_id": item_id})).status_code == 200
    world = World(client, merchant, anchor, anchor_id, shop_id, sku_id, product.json()["id"],
                  session_id, item_id)
    for n in range(buyers):
        token = (await register(client, f"{prefix}buyer{n}"))[1]
        await add_address(client, token)
        world.buyers.append(token)
    return world


ADDRESS = {"recipient": "张三", "phone": "13800138000", "province": "浙江省", "city": "杭州市",
           "district": "西湖区", "detail": "文三路 100 号 2 单元 301"}


async def add_address(client: httpx.AsyncClient, token: str, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/me/addresses", headers=auth(token),
                                 json={**ADDRESS, **changes})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]
    return body  # type: ignore[no-any-return]
