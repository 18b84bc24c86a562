"""Coupon routes: the shop's coupons (console), the room's coupons and 领券 (buyers)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from livepledge.coupons import red_packets, service
from livepledge.coupons.schemas import CouponCreate, CouponStatusChange, RedPacketCreate
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
                                points_price=body.points_price, now=rt.now())


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


@router.get("/shops/{shop_id}/fan-club/coupons")
async def fan_club_coupons(shop_id: int, principal: OptionalPrincipalDep,
                           rt: RuntimeDep) -> dict[str, Any]:
    """The fan club's coupons: free ones and those offered for points (积分兑换), each with
    whether the caller is in its target (fan level, segment) and how many the caller holds."""
    return await service.club_coupons(rt.db, principal, shop_id, now=rt.now(), desk=rt.coupons)


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


@router.post("/coupons/{coupon_id}/redemptions", status_code=201,
             responses={201: {"description": "the claim, paid for with points (durable); a "
                                             "repeat with the same key returns it again and "
                                             "spends nothing",
                              "headers": {"Idempotent-Replayed": {
                                  "description": "present on a repeat", "required": False,
                                  "schema": {"type": "string", "enum": ["true"]}}}},
                        **errors(409)})
async def redeem_coupon(coupon_id: int, principal: PrincipalDep, rt: RuntimeDep,
                        idempotency_key: Annotated[str, Header(
                            min_length=1, max_length=128,
                            pattern=order_rules.IDEMPOTENCY_KEY.pattern,
                            description="1–128 visible ASCII characters; a repeat returns the "
                                        "same claim")]) -> Response:
    """积分兑换: spend the coupon's `points_price` on it. The points and the coupon move in one
    transaction through the claim gate: never spent without the coupon, never issued without
    the points (409 `insufficient_points`, nothing changed)."""
    claim, created = await service.claim(rt.coupons, principal, coupon_id, key=idempotency_key,
                                         now=rt.now(), redeem=True)
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


REPLAYED = {"Idempotent-Replayed": {"description": "present on a repeat", "required": False,
                                    "schema": {"type": "string", "enum": ["true"]}}}


@router.post("/sessions/{session_id}/red-packets", status_code=201,
             responses={201: {"description": "the red packet (funded); a repeat with the same key "
                                             "returns it again", "headers": REPLAYED},
                        **errors(402, 409)})
async def create_red_packet(session_id: int, body: RedPacketCreate, principal: PrincipalDep,
                            rt: RuntimeDep, idempotency_key: Annotated[str, Header(
                                min_length=1, max_length=128,
                                pattern=order_rules.IDEMPOTENCY_KEY.pattern,
                                description="a repeat returns the same red packet, never a "
                                            "second charge")]) -> Response:
    """发红包: the shop funds a red packet in its live session (charged through the payment
    provider), split into `shares` for the first fans who grab it; what is not grabbed in 24
    hours goes back to the shop."""
    packet, created = await red_packets.create(
        rt.db, rt.payments, principal, session_id, total=body.total_amount, shares=body.shares,
        split_mode=body.split, key=idempotency_key, outcome=body.sandbox_outcome, now=rt.now(),
        coupon_id=body.coupon_id)
    return Response(orjson.dumps(packet), status_code=201, media_type="application/json",
                    headers={} if created else {"Idempotent-Replayed": "true"})


@router.get("/sessions/{session_id}/red-packets")
async def session_red_packets(session_id: int, principal: OptionalPrincipalDep,
                              rt: RuntimeDep) -> list[dict[str, Any]]:
    """The session's red packets, newest first, with what is left and my share."""
    return await red_packets.session_packets(rt.db, principal, session_id)


@router.get("/red-packets/{packet_id}")
async def get_red_packet(packet_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """A red packet with its grabs; the seed and every share once it is closed, so anyone can
    recompute the split (docs/fans.md)."""
    return await red_packets.get_packet(rt.db, packet_id)


@router.post("/red-packets/{packet_id}/grabs", status_code=201,
             responses={201: {"description": "my share; a second grab returns it again",
                              "headers": REPLAYED}, **errors(409)})
async def grab_red_packet(packet_id: int, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    """抢红包: take the next share, once per fan; 409 when all are taken or it has ended."""
    grab, created = await red_packets.grab(rt.db, principal, packet_id, now=rt.now())
    return Response(orjson.dumps(grab), status_code=201, media_type="application/json",
                    headers={} if created else {"Idempotent-Replayed": "true"})
