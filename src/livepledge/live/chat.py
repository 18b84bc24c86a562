"""Chat (弹幕), likes and moderation: validated, rate-limited, stored, then announced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from livepledge.accounts.models import users
from livepledge.accounts.service import Principal
from livepledge.infra.batching import BatchQueue
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.infra.ratelimit import RateLimiter
from livepledge.live.models import chat_messages, live_sessions, room_mutes, room_settings
from livepledge.live.service import access_session, access_session_control

MAX_LIKES_PER_MESSAGE = 10
RECENT_CHAT = 30


@dataclass(frozen=True)
class ChatVerdict:
    """What the compliance check says of a chat message: shown, or held back with a reason."""

    held: bool
    reason: str = ""
    findings: tuple[dict[str, Any], ...] = ()


# (text, from_staff) -> verdict. Staff and the anchor advertise when they chat; viewers do not.
ChatChecker = Callable[[str, bool], ChatVerdict]


def _allow_all(_text: str, _from_staff: bool) -> ChatVerdict:
    return ChatVerdict(held=False)


@dataclass(frozen=True)
class NewChat:
    session_id: int
    user_id: int
    text: str
    status: str
    reason: str | None
    created_at: datetime


@dataclass
class ChatContext:
    db: Database
    notifier: Notifier
    limiter: RateLimiter
    queue: BatchQueue[NewChat]
    max_length: int
    min_interval: float
    checker: ChatChecker = _allow_all
    # (shop id, user id) -> the fan level badge shown beside the chat (fans.service.BadgeCache)
    badge: Callable[[int, int], Awaitable[dict[str, Any] | None]] | None = None


async def commit_chat_batch(uow: UnitOfWork, batch: list[NewChat]) -> list[int]:
    result = await uow.conn.execute(
        insert(chat_messages).returning(chat_messages.c.id, sort_by_parameter_order=True),
        [{"session_id": c.session_id, "user_id": c.user_id, "text": c.text, "status": c.status,
          "reason": c.reason, "created_at": c.created_at} for c in batch])
    return [int(r.id) for r in result]


def check_chat_text(text: Any, max_length: int) -> str:
    if not isinstance(text, str):
        raise Problem("validation_failed", "弹幕须为文本 / chat text must be a string")
    text = text.strip()
    if not text:
        raise Problem("validation_failed", "弹幕不能为空 / chat message is empty")
    if len(text) > max_length:
        raise Problem("validation_failed",
                      f"弹幕最多 {max_length} 字（当前 {len(text)}）/ chat message longer than "
                      f"{max_length} characters", max_length=max_length, length=len(text))
    if any(ord(ch) < 32 and ch not in "\t" for ch in text):
        raise Problem("validation_failed", "弹幕含控制字符 / chat contains control characters")
    return text


async def post_chat(ctx: ChatContext, principal: Principal, session_id: int, text: Any,
                    now: datetime) -> dict[str, Any]:
    text = check_chat_text(text, ctx.max_length)
    async with ctx.db.read() as conn:
        session = (await conn.execute(select(
            live_sessions.c.status, live_sessions.c.shop_id, live_sessions.c.anchor_id).where(
            live_sessions.c.id == session_id))).first()
        if session is None:
            raise Problem("not_found", f"直播场次不存在 / no such live session: {session_id}")
        if session.status != "live":
            raise Problem("invalid_transition", "直播未在进行 / the session is not live")
        muted = (await conn.execute(select(room_mutes.c.user_id).where(
            room_mutes.c.session_id == session_id,
            room_mutes.c.user_id == principal.user_id))).first()
        slow = (await conn.execute(select(room_settings.c.slow_mode_seconds).where(
            room_settings.c.session_id == session_id))).scalar() or 0
    if muted:
        raise Problem("muted", "你已被禁言 / you are muted in this room")
    wait = await ctx.limiter.allow(f"chat:{session_id}:{principal.user_id}",
                                   max(ctx.min_interval, float(slow)))
    if wait > 0:
        raise Problem("rate_limited", f"发言太快，请 {wait:.1f} 秒后再试 / too fast; retry in "
                      f"{wait:.1f}s", retry_after=round(wait, 2))
    from_staff = principal.can_manage(session.shop_id) or principal.user_id == session.anchor_id
    verdict = ctx.checker(text, from_staff)
    status = "held" if verdict.held else "shown"
    chat_id = await ctx.queue.submit(NewChat(session_id, principal.user_id, text, status,
                                             verdict.reason or None, now))
    message = {"type": "chat", "id": chat_id, "user_id": principal.user_id,
               "user": principal.display_name, "text": text, "at": now.isoformat()}
    if ctx.badge is not None:
        message["fan"] = await ctx.badge(session.shop_id, principal.user_id)
    if verdict.held:
        return {**message, "status": "held", "reason": verdict.reason,
                "findings": list(verdict.findings)}
    await ctx.notifier.room(session_id, message)
    return {**message, "status": "shown"}


async def recent_chat(db: Database, session_id: int, limit: int = RECENT_CHAT) -> list[dict]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(chat_messages.c.id, chat_messages.c.user_id, chat_messages.c.text,
                   chat_messages.c.created_at, users.c.display_name)
            .join(users, users.c.id == chat_messages.c.user_id)
            .where(chat_messages.c.session_id == session_id, chat_messages.c.status == "shown")
            .order_by(chat_messages.c.id.desc()).limit(limit))
        return [{"type": "chat", "id": r.id, "user_id": r.user_id, "user": r.display_name,
                 "text": r.text, "at": r.created_at.isoformat()} for r in reversed(rows.all())]


async def remove_chat(db: Database, notifier: Notifier, principal: Principal, session_id: int,
                      chat_id: int, *, reason: str, now: datetime) -> None:
    """Moderation removes abusive chat from view; the row is kept with who removed it and why
    (unfavourable comments may not be deleted to mislead buyers)."""
    if not 2 <= len(reason.strip()) <= 200:
        raise Problem("validation_failed", "删除须说明原因 / removal needs a reason (2-200 chars)")
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        result = await uow.conn.execute(update(chat_messages).where(
            chat_messages.c.id == chat_id, chat_messages.c.session_id == session_id,
            chat_messages.c.status == "shown").values(status="removed", reason=reason.strip()))
        if result.rowcount != 1:
            raise Problem("not_found", f"弹幕不存在 / no such chat message: {chat_id}")
        await record_event(uow, "ChatRemoved", now, shop_id=session.shop_id,
                           session_id=session_id,
                           payload={"chat_id": chat_id, "by": principal.user_id,
                                    "reason": reason.strip()})
        uow.on_commit(lambda: notifier.room(session_id, {"type": "chat_removed",
                                                         "id": chat_id}))


async def set_mute(db: Database, principal: Principal, session_id: int, user_id: int, *,
                   muted: bool, now: datetime) -> None:
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        if (await uow.conn.execute(select(users.c.id).where(users.c.id == user_id))).first() \
                is None:
            raise Problem("not_found", f"用户不存在 / no such user: {user_id}")
        if muted:
            dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
            await uow.conn.execute(dialect_insert(room_mutes).values(
                session_id=session_id, user_id=user_id, muted_by=principal.user_id,
                created_at=now).on_conflict_do_nothing())
        else:
            await uow.conn.execute(delete(room_mutes).where(
                room_mutes.c.session_id == session_id, room_mutes.c.user_id == user_id))
        await record_event(uow, "ViewerMuted" if muted else "ViewerUnmuted", now,
                           shop_id=session.shop_id, session_id=session_id,
                           payload={"user_id": user_id, "by": principal.user_id})


async def set_slow_mode(db: Database, principal: Principal, session_id: int, seconds: int,
                        now: datetime) -> None:
    if not 0 <= seconds <= 300:
        raise Problem("validation_failed", "慢速模式须为 0–300 秒 / slow mode must be 0-300 s")
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
        stmt = dialect_insert(room_settings).values(session_id=session_id,
                                                    slow_mode_seconds=seconds)
        await uow.conn.execute(stmt.on_conflict_do_update(
            index_elements=[room_settings.c.session_id], set_={"slow_mode_seconds": seconds}))
        await record_event(uow, "SlowModeSet", now, shop_id=session.shop_id,
                           session_id=session_id, payload={"seconds": seconds})
