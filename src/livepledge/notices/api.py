from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.notices import service
from livepledge.notices.schemas import MarkRead

router = APIRouter(prefix="/api/v1", tags=["notices"])


@router.get("/me/notices")
async def inbox(principal: PrincipalDep, rt: RuntimeDep, unread_only: bool = False,
                session_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
                limit: int = Query(default=50, ge=1, le=200),
                offset: int = Query(default=0, ge=0, le=1_000_000)) -> dict[str, Any]:
    """Your notices (站内通知), newest first, with the unread count."""
    return await service.inbox(rt.db, principal, unread_only=unread_only,
                               session_id=session_id, limit=limit, offset=offset)


@router.post("/me/notices/read")
async def mark_read(body: MarkRead, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, int]:
    """Mark notices read (the listed ones, or all); returns the unread count left."""
    return {"unread": await service.mark_read(rt.db, principal, ids=body.ids, now=rt.now())}
