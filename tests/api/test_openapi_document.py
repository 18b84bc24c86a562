"""What the OpenAPI document says (issue #16.9), asserted directly; the schemathesis run in
test_openapi_conformance.py checks that the server answers accordingly."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.world import assert_problem, auth, build_world

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
BUY = "/api/v1/sessions/{session_id}/lineup/{item_id}/orders"


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _statuses(document: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(s) for s in document["paths"][path][method]["responses"]}


async def test_every_error_is_documented_as_problem_json(app_client: httpx.AsyncClient):
    document = await _document(app_client)

    errors = [(path, method, status, response)
              for path, item in document["paths"].items()
              for method, operation in item.items()
              for status, response in operation["responses"].items() if int(status) >= 400]

    assert len(errors) > 200
    assert [(p, m, s) for p, m, s, r in errors if r.get("content") != PROBLEM] == []
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    assert {"code", "errors", "instance"} <= set(problem["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_error_statuses_follow_what_each_route_depends_on(app_client: httpx.AsyncClient):
    document = await _document(app_client)

    # public read by id: 404 (unknown id), 422 (not an integer), 503; no authentication
    assert _statuses(document, "get", "/api/v1/shops/{shop_id}") == {200, 404, 422, 503}
    # token needed, no parameters
    assert _statuses(document, "get", "/api/v1/me") == {200, 401, 403, 503}
    # a body: 400 (malformed JSON), 413 (too large), 422; declared: 409 taken, 429 throttled
    assert _statuses(document, "post", "/api/v1/users") == {201, 400, 409, 413, 422, 429, 503}
    assert _statuses(document, "post", "/api/v1/tokens") == {201, 400, 401, 413, 422, 429, 503}
    assert {409, 429, 403} <= _statuses(document, "post", "/api/v1/sessions/{session_id}/chat")
    assert {402, 409} <= _statuses(document, "post", "/api/v1/orders/{order_id}/pay")
    assert {413, 422, 429} <= _statuses(document, "post", "/api/v1/compliance/check")
    assert _statuses(document, "post", BUY) == {201, 400, 401, 403, 404, 409, 413, 422, 503}
    retry = document["paths"]["/api/v1/me"]["get"]["responses"]["503"]["headers"]
    assert "Retry-After" in retry


async def test_the_buy_requires_an_idempotency_key(app_client: httpx.AsyncClient):
    document = await _document(app_client)

    parameters = document["paths"][BUY]["post"]["parameters"]
    key = next(p for p in parameters if p["in"] == "header")

    assert key["name"].lower() == "idempotency-key"
    assert key["required"] is True
    assert key["schema"]["type"] == "string"
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 128)
    assert key["schema"]["pattern"] == r"^[\x21-\x7e]{1,128}$"
    body = document["components"]["schemas"]["BuyRequest"]["properties"]["quantity"]
    assert (body["minimum"], body["maximum"]) == (1, 1000)


async def test_enforced_constraints_are_in_the_schemas(app_client: httpx.AsyncClient):
    document = await _document(app_client)
    schemas = document["components"]["schemas"]

    chat = schemas["ChatRequest"]["properties"]["text"]
    ship = schemas["ShipRequest"]["properties"]
    audit = {p["name"]: p["schema"] for p in
             document["paths"]["/api/v1/shops/{shop_id}/audit"]["get"]["parameters"]}

    assert (chat["minLength"], chat["pattern"]) == (1, r"\S")
    for name in ("ScriptRequest", "TranscriptRequest"):
        assert schemas[name]["properties"]["text"]["minLength"] == 1
    assert (ship["carrier"]["minLength"], ship["carrier"]["pattern"]) == (1, r"\S")
    assert ship["tracking_number"]["pattern"] == r"^\s*[A-Za-z0-9-]{4,64}\s*$"
    assert (audit["window_seconds"]["minimum"], audit["window_seconds"]["maximum"]) == (1, 604800)
    assert (audit["threshold"]["minimum"], audit["threshold"]["maximum"]) == (2, 1000)
    check = schemas["CheckRequest"]
    assert [option["required"] for option in check["anyOf"]] == [["text"], ["items"]]
    assert document["paths"]["/api/v1/compliance/check"]["post"]["requestBody"]["required"]


async def test_unsupported_methods_answer_405_with_allow(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    product = f"/api/v1/products/{world.product_id}"
    before = (await app_client.get(product)).json()
    cases = [
        ("TRACE", product, "GET, HEAD, PATCH"),
        ("TRACE", f"/api/v1/skus/{world.sku_id}/price-history", "GET, HEAD"),
        ("OPTIONS", "/api/v1/users", "POST"),
        ("DELETE", f"/api/v1/shops/{world.shop_id}/sessions", "GET, HEAD, POST"),
        # was 422: `order` was taken for the image id of DELETE …/images/{image_id}
        ("DELETE", f"{product}/images/order", "PUT"),
    ]
    for method, url, allow in cases:
        response = await app_client.request(method, url, headers=auth(world.merchant))
        body = assert_problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allow, (method, url)
        assert body["allowed"] == allow.split(", ")
    assert (await app_client.get(product)).json() == before


async def test_refusals_are_sent_as_documented(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    chat = f"/api/v1/sessions/{world.session_id}/chat"

    blank = await app_client.post(chat, headers=auth(world.buyers[0]), json={"text": "   "})
    empty = await app_client.post(chat, headers=auth(world.buyers[0]), json={"text": ""})
    window = await app_client.get(f"/api/v1/shops/{world.shop_id}/audit?window_seconds=0",
                                  headers=auth(world.merchant))
    neither = await app_client.post("/api/v1/compliance/check", json={})

    assert_problem(blank, 422, "validation_failed")
    assert_problem(empty, 422, "validation_failed")
    assert_problem(window, 422, "validation_failed")
    assert_problem(neither, 422, "validation_failed")
    assert (await app_client.get(chat)).json() == []
