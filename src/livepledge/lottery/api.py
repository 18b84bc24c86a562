from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from livepledge.deps import OptionalPrincipalDep, PrincipalDep, RuntimeDep
from livepledge.lottery import service
from livepledge.lottery.schemas import LotteryCreate, PrizeAddress
from livepledge.lottery.verify import verify_lottery
from livepledge.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["lotteries"])


@router.post("/sessions/{session_id}/lotteries", status_code=201, responses=errors(409))
async def create(session_id: int, body: LotteryCreate, principal: PrincipalDep,
                 rt: RuntimeDep) -> dict[str, Any]:
    """Start a lottery (福袋) in a live session: shop staff or the session's anchor. The prize
    units leave the SKU's stock now; the seed's SHA-256 commitment is published at once
    (docs/lottery.md)."""
    return await service.create_lottery(
        rt.db, rt.notifier, principal, session_id, title=body.title, sku_id=body.sku_id,
        prize_quantity=body.prize_quantity, winners=body.winners, opens_at=body.opens_at,
        closes_at=body.closes_at, conditions=[c.model_dump() for c in body.conditions],
        ship_within_hours=body.ship_within_hours, now=rt.now())


@router.get("/sessions/{session_id}/lotteries")
async def of_session(session_id: int, principal: OptionalPrincipalDep,
                     rt: RuntimeDep) -> list[dict[str, Any]]:
    """A session's lotteries, newest first; with my entry (nonce and entrant hash) if logged in."""
    return await service.session_lotteries(rt.db, principal, session_id, rt.now())


@router.get("/lotteries/{lottery_id}")
async def get(lottery_id: int, principal: OptionalPrincipalDep,
              rt: RuntimeDep) -> dict[str, Any]:
    """One lottery: commitment, window, conditions, count, and once drawn the seed, entry root
    and winners' entrant hashes."""
    return await service.get_lottery(rt.db, principal, lottery_id, rt.now())


@router.post("/lotteries/{lottery_id}/entries", status_code=201, responses=errors(409))
async def enter(lottery_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Enter once, inside the window, meeting the conditions (403 `not_eligible` names those
    missing; 409 `lottery_closed` / `already_entered`). The answer's `my_entry` holds the nonce
    and entrant hash to check one's own inclusion later."""
    return await service.enter(rt.db, principal, lottery_id, rt.now())


@router.get("/lotteries/{lottery_id}/verification")
async def verification(lottery_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """The public verification document (`kind: livepledge-lottery/v1`): everything needed to
    recompute the draw, with the server's own check of it under `report`. Check it yourself
    with `livepledge verify-lottery FILE` (docs/lottery.md)."""
    document = await service.verification_document(rt.db, lottery_id)
    return {**document, "report": verify_lottery(document).to_dict()}


@router.post("/lotteries/{lottery_id}/prize-address", responses=errors(409))
async def prize_address(lottery_id: int, body: PrizeAddress, principal: PrincipalDep,
                        rt: RuntimeDep) -> dict[str, Any]:
    """The winner gives the prize's shipping address (one of their addresses); the shop's
    shipping deadline starts. Returns the prize order."""
    return await service.confirm_address(rt.db, principal, lottery_id,
                                         address_id=body.address_id, now=rt.now())


@router.get("/shops/{shop_id}/prize-record")
async def prize_record(shop_id: int, rt: RuntimeDep) -> dict[str, int]:
    """A shop's lottery prizes: how many were won, shipped, received, still awaiting shipment,
    cancelled (public)."""
    return await service.shop_prize_counts(rt.db, shop_id)
