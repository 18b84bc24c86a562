from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from livepledge.deps import PrincipalDep, RuntimeDep, get_runtime, require_principal
from livepledge.infra import problems
from livepledge.infra.problems import Problem
from livepledge.openapi import errors
from livepledge.orders import rules, service
from livepledge.orders.schemas import (
    BuyRequest,
    CancelRequest,
    OrderAddressRequest,
    PayRequest,
    ShipRequest,
)
from livepledge.orders.service import OrderFilter

router = APIRouter(prefix="/api/v1", tags=["orders"])

STATUSES = {"pending_payment", "paid", "shipped", "received", "cancelled", "expired"}


@router.post("/sessions/{session_id}/lineup/{item_id}/orders", status_code=201,
             responses={201: {"description": "the order (durable); a repeat with the same key "
                                             "returns it again with `Idempotent-Replayed: true`",
                              "headers": {"Idempotent-Replayed": {
                                  "description": "present on a repeat", "required": False,
                                  "schema": {"type": "string", "enum": ["true"]}}}},
                        409: {"description": "sold out, over the limit, sale not started or "
                                             "ended"}})
async def buy(session_id: int, item_id: int, body: BuyRequest, principal: PrincipalDep,
              rt: RuntimeDep,
              idempotency_key: Annotated[str, Header(
                  min_length=1, max_length=128, pattern=rules.IDEMPOTENCY_KEY.pattern,
                  description="1–128 visible ASCII characters; a repeat returns the same order",
              )]) -> Response:
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


NOOP_PATH = re.compile(r"/api/v1/sessions/([0-9]{1,18})/lineup/([0-9]{1,18})/noop")


async def noop_asgi(scope: Scope, receive: Receive, send: Send, session_id: int,
                    item_id: int) -> None:
    """The flash-sale benchmark's baseline, only when LIVEPLEDGE_BENCH_NOOP_ENDPOINT is set
    (production refuses it): dispatched exactly like `buy_asgi` (same place ahead of the stack,
    same path shape, body read, answer object and error mapping), doing nothing in between,
    so that buy ÷ no-op measures the buy itself (bench/flash_sale.py)."""
    path = scope["path"]
    try:
        raw = await problems.read_body(scope, receive)
        if raw is None:
            return  # the client went away
        response: Response = Response(b"{}", media_type="application/json")
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


def _order_filter(status: str | None, session_id: int | None, q: str | None,
                  placed_from: date | None, placed_to: date | None, tz: str) -> OrderFilter:
    if status is not None and status not in STATUSES:
        raise Problem("validation_failed", f"未知订单状态 / unknown status: {status}",
                      allowed=sorted(STATUSES))
    if placed_from and placed_to and placed_to < placed_from:
        raise Problem("validation_failed", "结束日期早于开始日期 / placed_to is before placed_from")
    zone = ZoneInfo(tz)  # dates are the shop's calendar days (Asia/Shanghai by default)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return OrderFilter(
        status=status, session_id=session_id, query=(q or "").strip() or None,
        placed_from=start_of(placed_from) if placed_from else None,
        placed_before=start_of(placed_to + timedelta(days=1)) if placed_to else None)


OrderQuery = Annotated[str | None, Query(max_length=64, description=(
    "an order id, a buyer's login or nickname (part of it), or a tracking number"))]
Day = Annotated[date | None, Query(description="a calendar day in the shop's time zone")]


@router.get("/shops/{shop_id}/orders")
async def shop_orders(shop_id: int, principal: PrincipalDep, rt: RuntimeDep, response: Response,
                      status: str | None = None, session_id: int | None = None,
                      q: OrderQuery = None, placed_from: Day = None, placed_to: Day = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                      ) -> list[dict[str, Any]]:
    """The shop's orders, newest first, filtered; `X-Total-Count` says how many match in all.
    Staff see buyers' phones masked."""
    where = _order_filter(status, session_id, q, placed_from, placed_to, rt.settings.timezone)
    page, total = await service.list_shop_orders(rt.db, principal, shop_id, limit=limit,
                                                 offset=offset, where=where)
    response.headers["X-Total-Count"] = str(total)
    return page


@router.get("/shops/{shop_id}/orders.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def shop_orders_csv(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                          status: str | None = None, session_id: int | None = None,
                          q: OrderQuery = None, placed_from: Day = None,
                          placed_to: Day = None) -> Response:
    """The same search as a CSV file (UTF-8 with BOM, so Excel opens the Chinese right), at most
    100,000 orders; times in the shop's time zone, amounts in yuan."""
    where = _order_filter(status, session_id, q, placed_from, placed_to, rt.settings.timezone)
    page, _ = await service.list_shop_orders(rt.db, principal, shop_id, limit=100_000,
                                             where=where)
    body = rules.orders_csv(page, tz=rt.settings.timezone)
    return Response(body.encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="orders-shop{shop_id}.csv"'})


@router.get("/orders/{order_id}/packing-slip")
async def packing_slip(order_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """What goes in the parcel, with the whole address (shop staff only)."""
    return await service.packing_slip(rt.db, principal, order_id)


@router.put("/orders/{order_id}/address", responses=errors(409))
async def change_address(order_id: int, body: OrderAddressRequest, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    """Ship a paid order to another of my addresses, until it has shipped."""
    return await service.change_address(rt.db, principal, order_id, address_id=body.address_id,
                                        now=rt.now())


@router.post("/orders/{order_id}/pay", responses=errors(402, 409))
async def pay(order_id: int, principal: PrincipalDep, rt: RuntimeDep,
              body: Annotated[PayRequest | None, Body()] = None) -> dict[str, Any]:
    return await service.pay(rt.db, rt.payments, rt.notifier, principal, order_id,
                             outcome=body.sandbox_outcome if body else None, now=rt.now(),
                             address_id=body.address_id if body else None,
                             cooling_off_minutes=body.cooling_off_minutes if body else None,
                             claim_id=body.claim_id if body else None)


@router.post("/orders/{order_id}/ship", responses=errors(409))
async def ship(order_id: int, body: ShipRequest, principal: PrincipalDep,
               rt: RuntimeDep) -> dict[str, Any]:
    return await service.ship(rt.db, rt.notifier, principal, order_id, carrier=body.carrier,
                              tracking_number=body.tracking_number, now=rt.now(),
                              gift_included=body.gift_included)


@router.post("/orders/{order_id}/receive", responses=errors(409))
async def receive(order_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return await service.receive(rt.db, principal, order_id, now=rt.now())


@router.post("/orders/{order_id}/cancel", responses=errors(409))
async def cancel(order_id: int, principal: PrincipalDep, rt: RuntimeDep,
                 body: Annotated[CancelRequest | None, Body()] = None) -> dict[str, Any]:
    """The buyer cancels an unpaid order; the shop cancels with a reason code (docs/promises.md:
    unless the buyer asked, a paid order is refunded and the buyer compensated at once)."""
    return await service.cancel(rt.db, rt.payments, rt.gate, rt.notifier, principal, order_id,
                                reason=body.reason if body else None,
                                reason_code=body.reason_code if body else None,
                                policy=rt.compensation, now=rt.now())



