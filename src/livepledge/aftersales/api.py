from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from livepledge.aftersales import service
from livepledge.aftersales.schemas import BuyerAction, CaseOpen, MerchantAction
from livepledge.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["aftersales"])


@router.post("/orders/{order_id}/cases", status_code=201)
async def open_case(order_id: int, body: CaseOpen, principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    """Open an after-sales case on my order (docs/aftersales.md)."""
    return await service.open_case(
        rt.db, rt.payments, principal, order_id, case_type=body.type, reason=body.reason,
        quantity=body.quantity, amount=body.amount, promise_id=body.promise_id, text=body.text,
        cfg=rt.aftersales, now=rt.now())


@router.get("/cases/{case_id}")
async def get_case(case_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """A case and its whole record, the same for the buyer and the shop."""
    return await service.get_case(rt.db, principal, case_id)


@router.post("/cases/{case_id}/merchant")
async def merchant_act(case_id: int, body: MerchantAction, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """The shop answers: approve (with a return address for a return), refuse with a reason,
    or offer a partial refund."""
    address = body.return_address.model_dump() if body.return_address else None
    return await service.merchant_act(rt.db, rt.payments, principal, case_id,
                                      action=body.action, text=body.text, amount=body.amount,
                                      address=address, cfg=rt.aftersales, now=rt.now())


@router.post("/cases/{case_id}/buyer")
async def buyer_act(case_id: int, body: BuyerAction, principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    """The buyer answers an offer, ships the return, or withdraws the case."""
    return await service.buyer_act(rt.db, rt.payments, principal, case_id, action=body.action,
                                   carrier=body.carrier, tracking=body.tracking_number,
                                   cfg=rt.aftersales, now=rt.now())


@router.post("/cases/{case_id}/return-received")
async def confirm_return(case_id: int, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    """The shop confirms the returned goods: the buyer is refunded."""
    return await service.confirm_return(rt.db, rt.payments, principal, case_id,
                                        cfg=rt.aftersales, now=rt.now())


@router.get("/shops/{shop_id}/cases")
async def shop_queue(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                     status: str | None = Query(default=None, max_length=20),
                     type: str | None = Query(default=None, max_length=20),
                     limit: int = Query(default=50, ge=1, le=200),
                     offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[dict[str, Any]]:
    """The shop's cases: open ones first, soonest deadline first."""
    return await service.shop_queue(rt.db, principal, shop_id, status=status, case_type=type,
                                    limit=limit, offset=offset)
