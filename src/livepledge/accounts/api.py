from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from livepledge.accounts import service
from livepledge.accounts.schemas import (
    AddressRequest,
    AddressResponse,
    CoolingOffSetting,
    LoginRequest,
    MemberRequest,
    RegisterRequest,
    ShopRequest,
    TokenResponse,
)
from livepledge.deps import PrincipalDep, RuntimeDep, client_address
from livepledge.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/users", status_code=201, response_model=TokenResponse, responses=errors(409, 429))
async def register(body: RegisterRequest, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    user_id = await service.guarded_register(
        rt.db, rt.login_guard, login=body.login, password=body.password,
        display_name=body.display_name, role=body.role, address=client_address(request),
        now=rt.now())
    async with rt.db.write() as uow:
        token = await service.do_issue_token(uow, user_id, kind="api", now=rt.now())
    return {"token": token, "user_id": user_id}


@router.post("/tokens", status_code=201, response_model=TokenResponse,
             responses=errors(401, 429))
async def issue_token(body: LoginRequest, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    user_id = await service.login(rt.db, rt.login_guard, login=body.login,
                                  password=body.password, address=client_address(request))
    async with rt.db.write() as uow:
        token = await service.do_issue_token(uow, user_id, kind="api", now=rt.now())
    return {"token": token, "user_id": user_id}


@router.get("/me")
async def me(principal: PrincipalDep) -> dict[str, Any]:
    return {"id": principal.user_id, "login": principal.login,
            "display_name": principal.display_name, "role": principal.role,
            "shops": [{"shop_id": k, "role": v} for k, v in principal.shop_roles.items()]}


@router.get("/partners/{login}")
async def find_partner(login: str, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Shop staff look an anchor or an MCN agency up by login, to make an agreement or a
    contract with them (docs/money.md). Other accounts are not found."""
    return await service.find_partner(rt.db, principal, login)


@router.post("/shops", status_code=201)
async def create_shop(body: ShopRequest, principal: PrincipalDep,
                      rt: RuntimeDep) -> dict[str, Any]:
    shop_id = await service.create_shop(rt.db, principal, name=body.name,
                                        legal_name=body.legal_name, license_no=body.license_no,
                                        now=rt.now())
    await rt.tokens.forget()
    async with rt.db.read() as conn:
        return await service.get_shop(conn, shop_id)


@router.get("/shops/{shop_id}")
async def get_shop(shop_id: int, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.db.read() as conn:
        return await service.get_shop(conn, shop_id)


@router.post("/shops/{shop_id}/members", status_code=201)
async def add_member(shop_id: int, body: MemberRequest, principal: PrincipalDep,
                     rt: RuntimeDep) -> dict[str, Any]:
    user_id = await service.add_member(rt.db, principal, shop_id, login=body.login,
                                       role=body.role, now=rt.now())
    await rt.tokens.forget()
    return {"shop_id": shop_id, "user_id": user_id, "role": body.role}


@router.get("/shops/{shop_id}/members")
async def list_members(shop_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> list[dict[str, Any]]:
    return await service.list_members(rt.db, principal, shop_id)


# --- shipping addresses (收货地址) ----------------------------------------------------------------

@router.get("/me/addresses", response_model=list[AddressResponse])
async def list_addresses(principal: PrincipalDep, rt: RuntimeDep) -> list[dict[str, Any]]:
    """My shipping addresses, the default first."""
    return await service.list_addresses(rt.db, principal)


@router.post("/me/addresses", status_code=201, response_model=AddressResponse,
             responses=errors(409))
async def add_address(body: AddressRequest, principal: PrincipalDep,
                      rt: RuntimeDep) -> dict[str, Any]:
    """Add an address (at most 20). The first one is the default."""
    return await service.add_address(rt.db, principal, body.fields(),
                                     make_default=body.is_default, now=rt.now())


@router.put("/me/addresses/{address_id}", response_model=AddressResponse,
            responses=errors(409))
async def update_address(address_id: int, body: AddressRequest, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    """Edit an address. Orders keep the copy they took when paid."""
    return await service.update_address(rt.db, principal, address_id, body.fields(),
                                        make_default=body.is_default)


@router.post("/me/addresses/{address_id}/default", response_model=AddressResponse,
             responses=errors(409))
async def set_default_address(address_id: int, principal: PrincipalDep,
                              rt: RuntimeDep) -> dict[str, Any]:
    return await service.set_default_address(rt.db, principal, address_id)


@router.delete("/me/addresses/{address_id}", status_code=204)
async def remove_address(address_id: int, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    """Remove an address from the book (orders keep their copies)."""
    await service.remove_address(rt.db, principal, address_id, now=rt.now())
    return Response(status_code=204)


@router.get("/me/cooling-off")
async def get_cooling_off(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, int]:
    """My cooling-off period after each live purchase (冷静期), in minutes; 0: none."""
    async with rt.db.read() as conn:
        return {"minutes": await service.cooling_off_minutes(conn, principal.user_id)}


@router.put("/me/cooling-off")
async def put_cooling_off(body: CoolingOffSetting, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, int]:
    """Opt in (or out): each paid live order waits this long before it may ship, and I can
    cancel it with one tap for a full refund until then."""
    return {"minutes": await service.set_cooling_off(rt.db, principal, body.minutes)}

