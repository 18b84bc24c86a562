"""The fan-group feed (粉丝群动态, docs/fans.md "Fan-group feed"): the shop posts to its fan
club — news, new arrivals, a live schedule, a coupon — and fans react and comment, without a
WeChat group. A post is checked by the compliance engine like a live script: a violation is
refused with its findings, warnings are stored and shown beside the post. A fan's comment is
checked like chat: one that leads off the platform is held, visible only to its author."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import users
from livepledge.accounts.service import Principal, access_shop
from livepledge.compliance.service import check_text
from livepledge.fans.models import fan_members, fan_post_comments, fan_post_reactions, fan_posts
from livepledge.fans.service import _access_shop_row
from livepledge.infra import clock
from livepledge.infra.db import Database
from livepledge.infra.events import record_event
from livepledge.infra.problems import Problem
from livepledge.infra.ratelimit import RateLimiter

POST_KINDS = ("news", "arrival", "schedule", "coupon")
REACTIONS = ("like", "love", "want")  # 👍 ❤️ 想要
MAX_POST = 1000
MAX_COMMENT = 300
PAGE = 20
COMMENTS_PER_POST = 50


def _iso(value: datetime | None) -> str | None:
    return clock.as_utc(value).isoformat() if value else None


def check_post_text(body: str) -> tuple[str, list[dict[str, Any]]]:
    """(the text, its warnings); a violation is refused with every violation found."""
    text = body.strip()
    if not 1 <= len(text) <= MAX_POST:
        raise Problem("validation_failed", f"动态须为 1–{MAX_POST} 个字 / a post must be 1-"
                      f"{MAX_POST} characters", errors=[{"field": "body", "message": "length"}])
    result = check_text(text, category="general", context="script")
    if result.violation:
        findings = [f.to_dict() for f in result.findings if f.severity == "violation"]
        raise Problem("compliance_blocked", "动态含违规内容，请按建议修改 / the post has "
                      "violations; reword it as suggested", findings=findings)
    return text, [f.to_dict() for f in result.findings if f.severity == "warning"]


def check_comment_text(body: str, *, from_staff: bool) -> tuple[str, str, list[dict[str, Any]]]:
    """(the text, shown | held, findings). A fan's comment that leads off the platform is held
    (as chat is); the shop's own reply is advertising, refused on any violation (as a post)."""
    text = body.strip()
    if not 1 <= len(text) <= MAX_COMMENT:
        raise Problem("validation_failed", f"评论须为 1–{MAX_COMMENT} 个字 / a comment must be "
                      f"1-{MAX_COMMENT} characters", errors=[{"field": "body",
                                                              "message": "length"}])
    if from_staff:
        text, _ = check_post_text(text)
        return text, "shown", []
    result = check_text(text, category="general", context="chat")
    if result.diverts_buyers:
        return text, "held", [f.to_dict() for f in result.findings if f.family == "diversion"]
    return text, "shown", []


async def _linked(conn: AsyncConnection, shop_id: int, *, coupon_id: int | None,
                  session_id: int | None) -> None:
    from livepledge.coupons.models import coupons
    from livepledge.live.models import live_sessions

    for field, table, value in (("coupon_id", coupons, coupon_id),
                                ("session_id", live_sessions, session_id)):
        if value is None:
            continue
        owner = (await conn.execute(select(table.c.shop_id).where(table.c.id == value))).scalar()
        if owner != shop_id:
            raise Problem("validation_failed", f"{field} 不属于本店 / {field} {value} is not this "
                          "shop's", errors=[{"field": field, "message": "not this shop's"}])


async def create_post(db: Database, principal: Principal, shop_id: int, *, kind: str, body: str,
                      coupon_id: int | None, session_id: int | None,
                      now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    if kind not in POST_KINDS:
        raise Problem("validation_failed", f"kind 须为 {'/'.join(POST_KINDS)} / unknown kind")
    text, warnings = check_post_text(body)
    async with db.write() as uow:
        await _linked(uow.conn, shop_id, coupon_id=coupon_id, session_id=session_id)
        post_id = (await uow.conn.execute(insert(fan_posts).values(
            shop_id=shop_id, author_id=principal.user_id, kind=kind, body=text,
            coupon_id=coupon_id, session_id=session_id, warnings=warnings, created_at=now)
            .returning(fan_posts.c.id))).scalar_one()
        await record_event(uow, "FanPostPublished", now, shop_id=shop_id,
                           payload={"post_id": post_id, "kind": kind, "by": principal.user_id})
    return (await _posts(db, principal, shop_id, ids=[post_id]))[0]


async def _access_post(conn: AsyncConnection, post_id: int) -> Any:
    row = (await conn.execute(select(fan_posts).where(fan_posts.c.id == post_id))).first()
    if row is None or row.deleted_at is not None:
        raise Problem("not_found", f"动态不存在 / no such post: {post_id}")
    return row


async def _check_reader(conn: AsyncConnection, principal: Principal | None,
                        shop_id: int) -> None:
    """The feed is the fan club's: its members and the shop's staff read it."""
    if principal is not None and principal.can_manage(shop_id):
        return
    if principal is None:
        raise Problem("unauthenticated", "请先登录 / log in first")
    member = (await conn.execute(select(fan_members.c.left_at).where(
        fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id))).first()
    if member is None or member.left_at is not None:
        raise Problem("not_a_fan", "请先加入粉丝团 / join the fan club first")


async def delete_post(db: Database, principal: Principal, post_id: int, now: datetime) -> None:
    async with db.write() as uow:
        row = await _access_post(uow.conn, post_id)
        if not principal.can_manage(row.shop_id):
            raise Problem("not_found", f"动态不存在 / no such post: {post_id}")
        await uow.conn.execute(update(fan_posts).where(fan_posts.c.id == post_id)
                               .values(deleted_at=now))
        await record_event(uow, "FanPostDeleted", now, shop_id=row.shop_id,
                           payload={"post_id": post_id, "by": principal.user_id})


async def react(db: Database, principal: Principal, post_id: int, kind: str, *, on: bool,
                now: datetime) -> dict[str, Any]:
    """Add (idempotent) or take back a reaction; members only."""
    if kind not in REACTIONS:
        raise Problem("validation_failed", f"表情须为 {'/'.join(REACTIONS)} / unknown reaction")
    async with db.write() as uow:
        row = await _access_post(uow.conn, post_id)
        await _check_member(uow.conn, principal, row.shop_id)
        key = (fan_post_reactions.c.post_id == post_id,
               fan_post_reactions.c.user_id == principal.user_id,
               fan_post_reactions.c.kind == kind)
        have = (await uow.conn.execute(select(fan_post_reactions.c.kind).where(*key))).first()
        if on and have is None:
            await uow.conn.execute(insert(fan_post_reactions).values(
                post_id=post_id, user_id=principal.user_id, kind=kind, created_at=now))
        elif not on and have is not None:
            await uow.conn.execute(delete(fan_post_reactions).where(*key))
    return (await _posts(db, principal, row.shop_id, ids=[post_id]))[0]


async def _check_member(conn: AsyncConnection, principal: Principal, shop_id: int) -> None:
    member = (await conn.execute(select(fan_members.c.left_at).where(
        fan_members.c.shop_id == shop_id, fan_members.c.user_id == principal.user_id))).first()
    if member is None or member.left_at is not None:
        raise Problem("not_a_fan", "请先加入粉丝团 / join the fan club first")


async def comment(db: Database, principal: Principal, post_id: int, body: str, *,
                  now: datetime, limiter: RateLimiter | None = None,
                  min_interval: float = 0.0) -> dict[str, Any]:
    """A member's comment (or the shop's reply). Held when it leads off the platform: stored,
    shown to its author only, with the findings. A fan comments at most once per
    `min_interval` seconds in a shop's feed (429 with Retry-After); the staff are not limited."""
    async with db.read() as conn:
        row = await _access_post(conn, post_id)
        staff = principal.can_manage(row.shop_id)
        if not staff:
            await _check_member(conn, principal, row.shop_id)
    text, status, findings = check_comment_text(body, from_staff=staff)
    if limiter is not None and not staff:
        wait = await limiter.allow(f"comment:{row.shop_id}:{principal.user_id}", min_interval)
        if wait > 0:
            raise Problem("rate_limited", f"评论太快，请 {wait:.1f} 秒后再试 / too fast; retry in "
                          f"{wait:.1f}s", retry_after=round(wait, 2))
    async with db.write() as uow:
        await _access_post(uow.conn, post_id)
        comment_id = (await uow.conn.execute(insert(fan_post_comments).values(
            post_id=post_id, shop_id=row.shop_id, user_id=principal.user_id, body=text,
            status=status, findings=findings, from_shop=staff, created_at=now)
            .returning(fan_post_comments.c.id))).scalar_one()
        if status == "held":
            await record_event(uow, "FanCommentHeld", now, shop_id=row.shop_id,
                               payload={"post_id": post_id, "comment_id": comment_id,
                                        "user_id": principal.user_id})
    return {"id": comment_id, "post_id": post_id, "user_id": principal.user_id,
            "display_name": principal.display_name, "body": text, "status": status,
            "findings": findings, "from_shop": staff, "created_at": _iso(now)}


async def delete_comment(db: Database, principal: Principal, comment_id: int) -> None:
    """Its author, or the shop's staff (moderation), deletes a comment."""
    async with db.write() as uow:
        row = (await uow.conn.execute(select(fan_post_comments).where(
            fan_post_comments.c.id == comment_id))).first()
        if row is None or (row.user_id != principal.user_id
                           and not principal.can_manage(row.shop_id)):
            raise Problem("not_found", f"评论不存在 / no such comment: {comment_id}")
        await uow.conn.execute(delete(fan_post_comments).where(
            fan_post_comments.c.id == comment_id))


async def feed(db: Database, principal: Principal | None, shop_id: int, *,
               before: int | None, limit: int = PAGE) -> dict[str, Any]:
    """The feed, newest first, `limit` posts before the post id `before`."""
    async with db.read() as conn:
        await _access_shop_row(conn, shop_id)
        await _check_reader(conn, principal, shop_id)
    assert principal is not None
    items = await _posts(db, principal, shop_id, before=before, limit=limit)
    return {"shop_id": shop_id, "posts": items,
            "next_before": items[-1]["id"] if len(items) == limit else None}


async def _posts(db: Database, principal: Principal, shop_id: int, *,
                 ids: list[int] | None = None, before: int | None = None,
                 limit: int = PAGE) -> list[dict[str, Any]]:
    query = select(fan_posts).where(fan_posts.c.shop_id == shop_id,
                                    fan_posts.c.deleted_at.is_(None))
    if ids is not None:
        query = query.where(fan_posts.c.id.in_(ids))
    if before is not None:
        query = query.where(fan_posts.c.id < before)
    async with db.read() as conn:
        rows = (await conn.execute(query.order_by(fan_posts.c.id.desc()).limit(limit))).all()
        post_ids = [r.id for r in rows]
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        mine: dict[int, list[str]] = defaultdict(list)
        comments: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if post_ids:
            for r in await conn.execute(
                    select(fan_post_reactions.c.post_id, fan_post_reactions.c.kind,
                           func.count().label("n")).where(
                        fan_post_reactions.c.post_id.in_(post_ids))
                    .group_by(fan_post_reactions.c.post_id, fan_post_reactions.c.kind)):
                counts[r.post_id][r.kind] = int(r.n)
            for r in await conn.execute(select(fan_post_reactions).where(
                    fan_post_reactions.c.post_id.in_(post_ids),
                    fan_post_reactions.c.user_id == principal.user_id)):
                mine[r.post_id].append(r.kind)
            # shown comments, and my own held ones (visible to their author only)
            visible = (fan_post_comments.c.status == "shown") | (
                fan_post_comments.c.user_id == principal.user_id)
            for r in await conn.execute(
                    select(fan_post_comments, users.c.display_name)
                    .join(users, users.c.id == fan_post_comments.c.user_id)
                    .where(fan_post_comments.c.post_id.in_(post_ids), visible)
                    .order_by(fan_post_comments.c.id)):
                if len(comments[r.post_id]) >= COMMENTS_PER_POST:
                    continue
                comments[r.post_id].append({
                    "id": r.id, "post_id": r.post_id, "user_id": r.user_id,
                    "display_name": r.display_name, "body": r.body, "status": r.status,
                    "findings": r.findings if r.user_id == principal.user_id else [],
                    "from_shop": bool(r.from_shop), "created_at": _iso(r.created_at)})
    staff = principal.can_manage(shop_id)
    return [{"id": r.id, "shop_id": r.shop_id, "kind": r.kind, "body": r.body,
             "coupon_id": r.coupon_id, "session_id": r.session_id,
             "warnings": r.warnings if staff else [],  # the engine's notes, for the shop
             "created_at": _iso(r.created_at),
             "reactions": {k: counts[r.id].get(k, 0) for k in REACTIONS},
             "my_reactions": sorted(mine[r.id]), "comments": comments[r.id]} for r in rows]

