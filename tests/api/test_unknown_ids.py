"""Issue #16.10: an id that names nothing is 404 on every read, lists under a parent included
(`/shops/{unknown}/sessions` was `[]`, `/sessions/{unknown}/viewers` was `{"viewers": 0}`).
Shop-scoped staff reads answer 403 instead: the caller is not staff of that shop, whether or not
it exists. The table below must name every GET route with a path id, so a new one is checked
too."""

from __future__ import annotations

import re

import httpx
from fastapi.routing import iter_route_contexts

from tests.api.world import assert_problem, auth, build_world

UNKNOWN = "987654321"
# path -> expected (status, code) for (anonymous, merchant of another shop, buyer)
NOT_FOUND = (404, "not_found")
LOGIN = (401, "unauthenticated")
NOT_STAFF = (403, "forbidden")
EXPECTED: dict[str, tuple[tuple[int, str], ...]] = {
    "/api/v1/shops/{shop_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/sessions": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/members": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/products": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/orders": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/orders.csv": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/audit": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/audit/report.html": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/products/{product_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/skus/{sku_id}/price-history": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/chat": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/viewers": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/oversight": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/orders/{order_id}": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/orders/{order_id}/packing-slip": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/promises": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/trust-record": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/promises/{promise_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/lineup-items/{item_id}/promises": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/cases": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/cases/{case_id}": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/lives": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/bag": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/my-orders": (LOGIN, NOT_FOUND, NOT_FOUND),
    # fan clubs (粉丝团)
    "/api/v1/shops/{shop_id}/fan-club": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/fan-club/coupons": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/fan-club/feed": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/me/fan-clubs/{shop_id}/affinity": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/me/fan-clubs/{shop_id}/points": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/fans": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/segments": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/segments/{segment_id}/export.csv": (LOGIN, NOT_STAFF, NOT_STAFF),
    # the session record: public, and an order's evidence for its buyer and the shop
    "/api/v1/sessions/{session_id}/record/checkpoint": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/record/checkpoints": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/record/entries": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/record/proof/inclusion": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/record/proof/consistency": (NOT_FOUND, NOT_FOUND,
                                                               NOT_FOUND),
    "/api/v1/orders/{order_id}/evidence": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/balances": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/statement": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/payouts": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/deposit/withdrawals": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/agreements": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/shops/{shop_id}/mcn-contracts": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/mcn-contracts/{contract_id}": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/partners/{login}": (LOGIN, NOT_FOUND, NOT_STAFF),
    "/api/v1/shops/{shop_id}/campaigns": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/campaigns/{campaign_id}": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/income-statements": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/sessions/{session_id}/lotteries": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/lotteries/{lottery_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/lotteries/{lottery_id}/verification": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/coupons": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/coupons/{coupon_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/coupons": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/orders/{order_id}/coupons": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/sessions/{session_id}/red-packets": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/red-packets/{packet_id}": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/prize-record": (NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "/api/v1/shops/{shop_id}/webhooks": (LOGIN, NOT_STAFF, NOT_STAFF),
    "/api/v1/webhooks/{endpoint_id}": (LOGIN, NOT_FOUND, NOT_FOUND),
    "/api/v1/webhooks/{endpoint_id}/deliveries": (LOGIN, NOT_FOUND, NOT_FOUND),
}
# routes whose required query parameters are given, so that the unknown id is what is refused
QUERIES = {"/api/v1/sessions/{session_id}/record/proof/inclusion": "?index=0&size=1",
           "/api/v1/sessions/{session_id}/record/proof/consistency": "?first=0&second=1",
           "/api/v1/shops/{shop_id}/income-statements": "?period=2026Q4"}


def _get_routes_with_ids(app: object) -> set[str]:
    paths = set()
    for context in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        route = context.route
        path = getattr(route, "path", "")
        if (path.startswith("/api/v1/") and "{" in path
                and "GET" in (getattr(route, "methods", None) or ())):
            paths.add(path)
    return paths


async def test_the_table_names_every_get_route_with_an_id(app_client: httpx.AsyncClient):
    assert _get_routes_with_ids(app_client.app) == set(EXPECTED)  # type: ignore[attr-defined]


async def test_unknown_ids_are_refused_on_every_read(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    callers = ({}, auth(world.merchant), auth(world.buyers[0]))
    for path, expected in EXPECTED.items():
        url = re.sub(r"\{[^}]+\}", UNKNOWN, path) + QUERIES.get(path, "")
        for headers, (status, code) in zip(callers, expected, strict=True):
            assert_problem(await app_client.get(url, headers=headers), status, code)


async def test_the_reported_lists_answer_404_and_real_parents_still_answer(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)

    sessions = await app_client.get(f"/api/v1/shops/{UNKNOWN}/sessions")
    viewers = await app_client.get(f"/api/v1/sessions/{UNKNOWN}/viewers")

    assert_problem(sessions, 404, "not_found")
    assert_problem(viewers, 404, "not_found")
    real = await app_client.get(f"/api/v1/shops/{world.shop_id}/sessions")
    assert [s["id"] for s in real.json()] == [world.session_id]
    assert (await app_client.get(f"/api/v1/sessions/{world.session_id}/viewers")).json() == {
        "viewers": 0}
