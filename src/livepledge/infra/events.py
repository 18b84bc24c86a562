"""Writing domain events to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from livepledge.infra.db import UnitOfWork
from livepledge.infra.models import events


async def record_event(
    uow: UnitOfWork, type_: str, now: datetime, *, payload: dict[str, Any],
    shop_id: int | None = None, session_id: int | None = None, order_id: int | None = None,
) -> None:
    await uow.conn.execute(insert(events).values(
        type=type_, shop_id=shop_id, session_id=session_id, order_id=order_id,
        payload=payload, occurred_at=now))


def event_rows(rows: list[dict[str, Any]]) -> Any:
    """An insert for many events at once (executemany)."""
    return insert(events), rows
