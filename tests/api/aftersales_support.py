"""Shared steps of the after-sales API tests: paid orders, opening cases, a snapshot of
everything a refused request must leave as it was, and the clock moved forward."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx

from tests.api.world import World, auth

SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}


def runtime(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def paid(w: World, token: str, *, ship: bool = False, receive: bool = False,
               gift: bool | None = None, quantity: int = 1) -> int:
    order = (await w.buy(token, quantity=quantity)).json()
    url = f"/api/v1/orders/{order['id']}"
    assert (await w.client.post(url + "/pay", headers=auth(token))).status_code == 200
    if ship:
        body: dict[str, Any] = dict(SHIP)
        if gift is not None:
            body["gift_included"] = gift
        shipped = await w.client.post(url + "/ship", headers=auth(w.merchant), json=body)
        assert shipped.status_code == 200, shipped.text
    if receive:
        assert (await w.client.post(url + "/receive", headers=auth(token))).status_code == 200
    return int(order["id"])


async def open_case(w: World, token: str, order_id: int, **body: object) -> httpx.Response:
    return await w.client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(token),
                               json=body)


async def declare(w: World, kind: str, terms: dict[str, Any]) -> int:
    made = await w.client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                               json={"kind": kind, "terms": terms, "scope": {"type": "shop"}})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def snapshot(w: World, token: str, order_ids: list[int],
                   case_ids: list[int] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """What a refused request must not change: the orders (status, refunds, cases, returned
    units), each case with its record, the shop's queue and the sale's stock."""
    c = w.client
    state: dict[str, Any] = {
        "orders": [(await c.get(f"/api/v1/orders/{o}", headers=auth(token))).json()
                   for o in order_ids],
        "cases": [(await c.get(f"/api/v1/cases/{i}", headers=auth(w.merchant))).json()
                  for i in case_ids],
        "queue": (await c.get(f"/api/v1/shops/{w.shop_id}/cases?limit=200",
                              headers=auth(w.merchant))).json(),
        "stock": (await w.item())["stock_remaining"],
    }
    return state


@contextlib.contextmanager
def clock_ahead(by: timedelta) -> Iterator[None]:
    """Run the server's clock `by` ahead of the wall clock (one process: in-process tests)."""
    from livepledge.infra import clock

    before = clock.offset()
    clock.set_offset(before + by)
    try:
        yield
    finally:
        clock.set_offset(before)
