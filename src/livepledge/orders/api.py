from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from livepledge.deps import PrincipalDep, RuntimeDep, get_runtime, require_principal
from livepledge.infra import problems
from livepledge.infra.problems import Problem
from livepledge.orders import service
from livepledge.orders.schemas import BuyRequest, CancelRequest, PayRequest, ShipRequest

router = APIRouter(prefix="/api/v1", tags=["orders"])

STATUSES = {"pending_payment", "paid", "shipped", "received", "cancelled", "expired"}


@router.post("/sessions/{session_id}/lineup/{item_id}/orders", status_code=201,
             responses={200: {"description": "a repeat of an earlier request (same key)"},
                        409: {"description": "sold out, over the limit, sale not open"}})
async def buy(session_id: int, item_id: int, body: BuyRequest, principal: PrincipalDep,
              rt: RuntimeDep,
              idempotency_key: Annotated[str | None, Header()] = None) -> Response:
    """Buy a lineup item. 201 only once the order is durable; a repeat with the same
    Idempotency-Key returns the same order (with `Idempotent-Replayed: true`).

    Served by `buy_asgi` (below), which keeps this contract without FastAPI's per-request
    machinery; this declaration documents it in the OpenAPI and answers ids that are not
    integers (or too long to be one)."""
    return await _buy(rt, principal, session_id, item_id, body.quantity, idempotency_key)


async def _buy(rt: Any, principal: Any, session_id: int, item_id: int, quantity: int,
               key: str | None) -> Response:
    try:
        order, created = await service.buy(rt.buy, principal, session_id, item_id,
                                           quantity=quantity, key=key, now=rt.now())
    except Problem as problem:
        rt.metrics.inc("livepledge_buy_requests_total", outcome=problem.code)
        raise
    rt.metrics.inc("livepledge_buy_requests_total", outcome="created" if created else "replayed")
    return Response(orjson.dumps(order), status_code=201, media_type="application/json",
                    headers={} if created else {"Idempotent-Replayed": "true"})


BUY_PATH = re.compile(r"/api/v1/sessions/([0-9]{1,18})/lineup/([0-9]{1,18})/orders")


async def buy_asgi(scope: Scope, receive: Receive, send: Send, session_id: int,
                   item_id: int) -> None:
    """The hottest endpoint (thousands of presses a second in a flash sale) as a bare ASGI
    handler, dispatched before the middleware stack (`app.LivepledgeAPI`): the same body limit,
    authentication, validation, answers and error mapping as `buy` above, which documents it.
    Ids that are not 1–18 digits never get here (the route above answers them)."""
    path = scope["path"]
    request = Request(scope, receive)
    try:
        raw = await problems.read_body(scope, receive)
        if raw is None:
            return  # the client went away
        principal = await require_principal(request)
        quantity = _quantity(raw)
        response = await _buy(get_runtime(request), principal, session_id, item_id, quantity,
                              request.headers.get("idempotency-key"))
    except Exception as exc:
        response = problems.response_for(exc, path)
    await response(scope, receive, send)


def _quantity(raw: bytes) -> int:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem("malformed_json",
                      "请求体不是合法的 JSON / The request body is not valid JSON") from exc
    if not isinstance(body, dict) or set(body) != {"quantity"}:
        raise Problem("validation_failed", "请求体须为 {\"quantity\": 整数} / the body must be "
                      "{\"quantity\": integer}",
                      errors=[{"field": "quantity", "message": "required; no other fields"}])
    quantity = body["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Problem("validation_failed", "quantity 须为整数 / quantity must be an integer",
                      errors=[{"field": "quantity", "message": "must be an integer"}])
    return quantity


@router.get("/orders/{order_id}")
async def get_order(order_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return await service.get_order(rt.db, principal, order_id)


@router.get("/orders")
async def my_orders(principal: PrincipalDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    return await service.list_buyer_orders(rt.db, principal)


@router.get("/shops/{shop_id}/orders")
async def shop_orders(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                      status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise Problem("validation_failed", f"未知订单状态 / unknown status: {status}",
                      allowed=sorted(STATUSES))
    if not 1 <= limit <= 500:
        raise Problem("validation_failed", "limit 须为 1–500 / limit must be 1-500")
    return await service.list_shop_orders(rt.db, principal, shop_id, status=status, limit=limit)


@router.post("/orders/{order_id}/pay")
async def pay(order_id: int, principal: PrincipalDep, rt: RuntimeDep,
              body: Annotated[PayRequest | None, Body()] = None) -> dict[str, Any]:
    return await service.pay(rt.db, rt.payments, rt.notifier, principal, order_id,
                             outcome=body.sandbox_outcome if body else None, now=rt.now())


@router.post("/orders/{order_id}/ship")
async def ship(order_id: int, body: ShipRequest, principal: PrincipalDep,
               rt: RuntimeDep) -> dict[str, Any]:
    return await service.ship(rt.db, rt.notifier, principal, order_id, carrier=body.carrier,
                              tracking_number=body.tracking_number, now=rt.now())


@router.post("/orders/{order_id}/receive")
async def receive(order_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return await service.receive(rt.db, principal, order_id, now=rt.now())


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: int, principal: PrincipalDep, rt: RuntimeDep,
                 body: Annotated[CancelRequest | None, Body()] = None) -> dict[str, Any]:
    return await service.cancel(rt.db, rt.payments, rt.gate, rt.notifier, principal, order_id,
                                reason=body.reason if body else None, now=rt.now())


@router.get("/noop", include_in_schema=False)
async def noop() -> Response:
    """Baseline for the flash-sale benchmark: the cheapest request this server can answer."""
    return Response(b"{}", media_type="application/json")
