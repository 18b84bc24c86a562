"""Buyer-facing routes beside the live room's WebSocket: a shop's upcoming lives with 预约
(reservations; their go-live notices are in the notice inbox, notices/), the room's product
bag and the buyer's own orders in a session; and the upcoming-lives page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from livepledge.deps import OptionalPrincipalDep, PrincipalDep, RuntimeDep
from livepledge.openapi import errors
from livepledge.reservations import service as reservations

API = "/api/v1"
router = APIRouter(tags=["live room (buyer)"])
pages = APIRouter(include_in_schema=False)


@router.get(API + "/shops/{shop_id}/lives")
async def shop_lives(shop_id: int, principal: OptionalPrincipalDep,
                     rt: RuntimeDep) -> dict[str, Any]:
    """A shop's live now, upcoming (soonest first) and latest ended sessions; `reserved` says
    whether the caller has reserved each one."""
    return await reservations.shop_lives(rt.db, principal, shop_id)


@router.put(API + "/sessions/{session_id}/reservation", responses=errors(409))
async def reserve(session_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """预约: be told (a `session_live` notice in GET /api/v1/me/notices) when this scheduled
    session goes live. Idempotent; 409 once it is live or has ended."""
    return await reservations.reserve(rt.db, principal, session_id, rt.now())


@router.delete(API + "/sessions/{session_id}/reservation")
async def cancel_reservation(session_id: int, principal: PrincipalDep,
                             rt: RuntimeDep) -> dict[str, Any]:
    """Withdraw a reservation (idempotent)."""
    return await reservations.cancel_reservation(rt.db, principal, session_id)


@router.get(API + "/sessions/{session_id}/bag")
async def session_bag(session_id: int, principal: OptionalPrincipalDep,
                      rt: RuntimeDep) -> dict[str, Any]:
    """The product bag's pictures, units sold and (logged in) units this buyer has bought of
    each lineup item; prices, stock and sale state come with the session (WebSocket)."""
    return await reservations.session_bag(rt.db, principal, session_id)


@router.get(API + "/sessions/{session_id}/my-orders")
async def my_session_orders(session_id: int, principal: PrincipalDep,
                            rt: RuntimeDep) -> list[dict[str, Any]]:
    """The caller's orders in this session, newest first, with cancellation and refund."""
    return await reservations.my_session_orders(rt.db, principal, session_id)


@pages.get("/shops/{shop_id}/lives", response_class=HTMLResponse)
async def upcoming_page(shop_id: int, request: Request, rt: RuntimeDep,
                        principal: OptionalPrincipalDep) -> HTMLResponse:
    from livepledge.web.pages import _render

    lives = await reservations.shop_lives(rt.db, principal, shop_id)  # 404 page if unknown
    return _render(request, "upcoming.html", principal, shop=lives["shop"])
