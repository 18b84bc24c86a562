"""The notice inbox: written by the `notices` event consumer, read by its user only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork
from livepledge.notices import rules
from livepledge.notices.models import notices
from livepledge.orders import service as orders


def notice_row(event: Event, *, user_id: int, kind: str, params: dict[str, Any],
               session_id: int | None = None, order_id: int | None = None,
               dedupe: str | None = None) -> dict[str, Any]:
    return {"user_id": user_id, "kind": kind, "params": params,
            "order_id": order_id if order_id is not None else event.order_id,
            "session_id": session_id if session_id is not None else event.session_id,
            "event_id": event.id, "dedupe": dedupe or f"e{event.id}",
            "created_at": event.occurred_at}


async def do_notify_many(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """One notice per (user, dedupe key) — by default the event: handling an event again adds
    nothing. A consumer that tells one user several things about one event (two orders
    refunded by one price drop) gives each its own key."""
    if rows:
        insert = pg_insert if uow.conn.dialect.name == "postgresql" else sqlite_insert
        await uow.conn.execute(insert(notices).on_conflict_do_nothing(
            index_elements=["user_id", "dedupe"]), rows)


async def do_notify(uow: UnitOfWork, event: Event, *, user_id: int, kind: str,
                    params: dict[str, Any], session_id: int | None = None,
                    order_id: int | None = None, dedupe: str | None = None) -> None:
    await do_notify_many(uow, [notice_row(event, user_id=user_id, kind=kind, params=params,
                                          session_id=session_id, order_id=order_id,
                                          dedupe=dedupe)])


class OrderNotices:
    """Tells buyers what happened to their orders without their asking: a cancellation by the
    shop or the platform (with the reason and the refund), shipping, expiry."""

    name = "notices"
    types = frozenset({"OrderCancelled", "OrderShipped", "OrderExpired", "OrderCompensated"})

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        if event.order_id is None:
            return
        buyer_id = await orders.buyer_of(uow.conn, event.order_id)
        params: dict[str, Any] = {"order_id": event.order_id}
        if event.type == "OrderCancelled":
            if event.payload.get("by") == "buyer":
                return  # they did it themselves
            kind = "order_cancelled"
            params |= {k: event.payload.get(k) for k in ("by", "reason", "code", "refunded",
                                                         "was", "compensated")}
        elif event.type == "OrderCompensated":
            if event.payload.get("cause") == "merchant_cancel":
                return  # said in the cancellation's notice
            kind = "order_compensated"
            params |= {k: event.payload.get(k) for k in ("amount", "cause", "hours")}
        elif event.type == "OrderShipped":
            kind = "order_shipped"
            params |= {k: event.payload.get(k) for k in ("carrier", "tracking_number")}
        else:
            kind = "order_expired"
        await do_notify(uow, event, user_id=buyer_id, kind=kind, params=params)


def view(row: Any) -> dict[str, Any]:
    words = rules.render(row.kind, dict(row.params))
    return {"id": row.id, "kind": row.kind, "params": dict(row.params), "order_id": row.order_id,
            "session_id": row.session_id, "created_at": row.created_at.isoformat(),
            "read": row.read_at is not None, **words}


async def _unread(conn: AsyncConnection, user_id: int) -> int:
    return int((await conn.execute(select(func.count()).select_from(notices).where(
        notices.c.user_id == user_id, notices.c.read_at.is_(None)))).scalar_one())


async def inbox(db: Database, principal: Principal, *, unread_only: bool,
                session_id: int | None, limit: int, offset: int) -> dict[str, Any]:
    async with db.read() as conn:
        query = (select(notices).where(notices.c.user_id == principal.user_id)
                 .order_by(notices.c.id.desc()).limit(limit).offset(offset))
        if unread_only:
            query = query.where(notices.c.read_at.is_(None))
        if session_id is not None:
            query = query.where(notices.c.session_id == session_id)
        rows = (await conn.execute(query)).all()
        return {"unread": await _unread(conn, principal.user_id),
                "notices": [view(r) for r in rows]}


async def mark_read(db: Database, principal: Principal, *, ids: list[int] | None,
                    now: datetime) -> int:
    """Mark the user's own notices read (all of them when `ids` is None); another user's ids
    are ignored. Returns the unread count left."""
    async with db.write() as uow:
        query = update(notices).where(notices.c.user_id == principal.user_id,
                                      notices.c.read_at.is_(None))
        if ids is not None:
            query = query.where(notices.c.id.in_(ids))
        await uow.conn.execute(query.values(read_at=now))
        return await _unread(uow.conn, principal.user_id)
