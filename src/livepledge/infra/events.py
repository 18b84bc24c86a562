"""Writing domain events to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, insert, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.infra.db import UnitOfWork
from livepledge.infra.models import events

# The writing transaction's id (PostgreSQL 13+), stamped on each event: consumers read events
# by (tx, id) and only from transactions that have all ended (infra/consumers.py).
PG_TX = literal_column("pg_current_xact_id()::text::bigint")


def insert_events(conn: AsyncConnection) -> Insert:
    """An INSERT into the outbox that stamps the transaction id where the database has one;
    use it for every event insert (single or executemany)."""
    if conn.dialect.name == "postgresql":
        return insert(events).values(tx=PG_TX)
    return insert(events)


async def record_event(
    uow: UnitOfWork, type_: str, now: datetime, *, payload: dict[str, Any],
    shop_id: int | None = None, session_id: int | None = None, order_id: int | None = None,
) -> None:
    await uow.conn.execute(insert_events(uow.conn).values(
        type=type_, shop_id=shop_id, session_id=session_id, order_id=order_id,
        payload=payload, occurred_at=now))


async def record_event_id(
    uow: UnitOfWork, type_: str, now: datetime, *, payload: dict[str, Any],
    shop_id: int | None = None, session_id: int | None = None, order_id: int | None = None,
) -> int:
    """`record_event`, returning the event's id (for rows that name their source event)."""
    return int((await uow.conn.execute(insert_events(uow.conn).values(
        type=type_, shop_id=shop_id, session_id=session_id, order_id=order_id,
        payload=payload, occurred_at=now).returning(events.c.id))).scalar_one())
