"""Coupon routes: the shop's coupons (console), the room's coupons and 领券 (buyers)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from livepledge.coupons import service
from livepledge.coupons.schemas import CouponCreate, CouponStatusChange
from livepledge.deps import OptionalPrincipalDep, PrincipalDep, RuntimeDep
from livepledge.infra.problems import Problem
from livepledge.openapi import errors
from livepledge.orders import rules as order_rules
from livepledge.orders import service as orders

router = APIRouter(prefix="/api/v1", tags=["coupons"])


@router.post("/shops/{shop_id}/coupons", status_code=201)
async def create_coupon(shop_id: int, body: CouponCreate, principal: PrincipalDep,
                        rt: RuntimeDep) -> dict[str, Any]:
    """Create a shop coupon (满减, 折扣 or 无门槛) with its budget, per-buyer limit, claim
    window and validity; optionally claimable only while one live session is on."""
    return await service.create(rt.db, principal, shop_id, body.terms(), title=body.title,
                                session_id=body.session_id, stackable=body.stackable,
                                min_fan_level=body.min_fan_level, segment_id=body.segment_id,
                                now=rt.now())


@router.get("/shops/{shop_id}/coupons")
async def shop_coupons(shop_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> list[dict[str, Any]]:
    """The shop's coupons, newest first, with how many were issued."""
    return await service.list_shop_coupons(rt.db, principal, shop_id)


@router.get("/coupons/{coupon_id}")
async def get_coupon(coupon_id: int, principal: OptionalPrincipalDep,
                     rt: RuntimeDep) -> dict[str, Any]:
    """A coupon's terms."""
    return await service.get_coupon(rt.db, principal, coupon_id)


@router.post("/coupons/{coupon_id}/status", responses=errors(409))
async def change_coupon_status(coupon_id: int, body: CouponStatusChange,
                               principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Pause, resume or end a coupon (shop staff). Coupons already claimed stay usable."""
    return await service.change_status(rt.db, principal, coupon_id, body.action, now=rt.now(),
                                       desk=rt.coupons)


@router.get("/sessions/{session_id}/coupons")
async def room_coupons(session_id: int, principal: OptionalPrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """The coupons offered in a live room, with what is left and (logged in) how many the caller
    holds of each."""
    return await service.session_coupons(rt.db, principal, session_id, now=rt.now(),
                                         desk=rt.coupons)


@router.post("/coupons/{coupon_id}/claims", status_code=201,
             responses={201: {"description": "the claim (durable); a repeat with the same key "
                                             "returns it again with `Idempotent-Replayed: true`",
                              "headers": {"Idempotent-Replayed": {
                                  "description": "present on a repeat", "required": False,
                                  "schema": {"type": "string", "enum": ["true"]}}}},
                        **errors(409)})
async def claim_coupon(coupon_id: int, principal: PrincipalDep, rt: RuntimeDep,
                       idempotency_key: Annotated[str, Header(
                           min_length=1, max_length=128,
                           pattern=order_rules.IDEMPOTENCY_KEY.pattern,
                           description="1–128 visible ASCII characters; a repeat returns the "
                                       "same claim")]) -> Response:
    """领券: claim one coupon. 201 only once the claim is durable; never over the budget or the
    per-buyer limit."""
    claim, created = await service.claim(rt.coupons, principal, coupon_id, key=idempotency_key,
                                         now=rt.now())
    return Response(orjson.dumps(claim), status_code=201, media_type="application/json",
                    headers={} if created else {"Idempotent-Replayed": "true"})


@router.post("/coupons/{coupon_id}/noop", include_in_schema=False)
async def claim_noop(coupon_id: int, rt: RuntimeDep) -> Response:
    """The coupon benchmark's baseline (LIVEPLEDGE_BENCH_NOOP_ENDPOINT only): routed exactly
    like a claim, doing nothing (bench/coupons.py)."""
    if not rt.settings.bench_noop_endpoint:
        raise Problem("not_found", "未启用 / not enabled")
    return Response(b"{}", media_type="application/json")


@router.get("/me/coupons")
async def my_coupons(principal: PrincipalDep, rt: RuntimeDep,
                     shop_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                     usable: bool = False) -> list[dict[str, Any]]:
    """The caller's claimed coupons, newest first; `usable=true`: only unused ones valid now."""
    return await service.my_claims(rt.db, principal, shop_id=shop_id,
                                   usable_at=rt.now() if usable else None)


@router.get("/orders/{order_id}/coupons")
async def order_coupons(order_id: int, principal: PrincipalDep,
                        rt: RuntimeDep) -> list[dict[str, Any]]:
    """My claimed coupons that can be applied to this unpaid order now, each with the discount
    it gives (`discount_on_order`) and what would be left to pay, best first."""
    order = await orders.get_order(rt.db, principal, order_id)
    return await service.usable_for_order(rt.db, principal, order, now=rt.now())
