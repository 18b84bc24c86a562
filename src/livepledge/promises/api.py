from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from livepledge.deps import PrincipalDep, Runtime, RuntimeDep
from livepledge.live.service import republish
from livepledge.promises import service
from livepledge.promises.schemas import PromiseCreate, PromiseRevision

router = APIRouter(prefix="/api/v1", tags=["promises"])


async def _rooms_see(rt: Runtime, promise_id: int) -> None:
    """The live rooms the promise reaches show it (or stop showing it) at once."""
    await republish(rt.db, rt.notifier, await service.open_sessions(rt.db, promise_id), rt.now())


@router.post("/shops/{shop_id}/promises", status_code=201)
async def declare(shop_id: int, body: PromiseCreate, principal: PrincipalDep,
                  rt: RuntimeDep) -> dict[str, Any]:
    """Declare a promise (merchant staff; a session's anchor for its lineup items)."""
    now = rt.now()
    promise_id = await service.declare(
        rt.db, rt.notifier, principal, shop_id, kind=body.kind, terms=body.terms,
        scope_type=body.scope.type, scope_id=body.scope.id, starts_at=body.starts_at,
        ends_at=body.ends_at, now=now)
    await _rooms_see(rt, promise_id)
    async with rt.db.read() as conn:
        return await service.get(conn, promise_id, now)


@router.get("/shops/{shop_id}/promises")
async def list_promises(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                        in_force: bool = False) -> list[dict[str, Any]]:
    """The shop's promise ledger, every version (or only those in force now)."""
    return await service.list_for_shop(rt.db, principal, shop_id, at=rt.now(),
                                       in_force_only=in_force)


@router.get("/promises/{promise_id}")
async def get_promise(promise_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """A promise is public: what the shop committed to, when, and its content hash."""
    async with rt.db.read() as conn:
        return await service.get(conn, promise_id, rt.now())


@router.post("/promises/{promise_id}/withdraw")
async def withdraw(promise_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """End a promise from now on; orders that carry it keep it."""
    now = rt.now()
    await service.withdraw(rt.db, rt.notifier, principal, promise_id, now=now)
    await _rooms_see(rt, promise_id)
    async with rt.db.read() as conn:
        return await service.get(conn, promise_id, now)


@router.post("/promises/{promise_id}/revisions", status_code=201)
async def revise(promise_id: int, body: PromiseRevision, principal: PrincipalDep,
                 rt: RuntimeDep) -> dict[str, Any]:
    """Change a promise: the current version ends now and the next version starts now."""
    now = rt.now()
    new_id = await service.revise(rt.db, rt.notifier, principal, promise_id, terms=body.terms,
                                  ends_at=body.ends_at, now=now)
    await _rooms_see(rt, new_id)
    async with rt.db.read() as conn:
        return await service.get(conn, new_id, now)


@router.get("/lineup-items/{item_id}/promises")
async def item_promises(item_id: int, rt: RuntimeDep) -> list[dict[str, Any]]:
    """The promises in force now for a lineup item: what the live room's card shows."""
    async with rt.db.read() as conn:
        return await service.item_promises(conn, item_id, rt.now())


@router.get("/shops/{shop_id}/trust-record")
async def trust_record(shop_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """What the shop's promises cost it, counted from its events (public)."""
    async with rt.db.read() as conn:
        return await service.trust_record(conn, shop_id)

