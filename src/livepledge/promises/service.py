"""The promise ledger: declare, withdraw, revise (a new version), and what is in force for an
item at a time. Rows are never deleted and their terms never change (docs/promises.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops
from livepledge.accounts.service import Principal
from livepledge.catalog.models import products, skus
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.models import events
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.live.models import lineup_items, live_sessions
from livepledge.orders.models import orders
from livepledge.promises import rules
from livepledge.promises.models import promises


def _terms_or_problem(kind: str, terms: Any) -> dict[str, Any]:
    try:
        return rules.normalize_terms(kind, terms)
    except rules.TermsError as exc:
        raise Problem("validation_failed", str(exc)) from exc


async def _scope_owner(conn: AsyncConnection, scope_type: str,
                       scope_id: int) -> tuple[int, int | None]:
    """(shop id, anchor id of the session for a lineup item) of what a promise applies to."""
    if scope_type == "shop":
        found = (await conn.execute(select(shops.c.id).where(shops.c.id == scope_id))).first()
        if found is None:
            raise Problem("not_found", f"店铺不存在 / no such shop: {scope_id}")
        return scope_id, None
    if scope_type == "product":
        shop = (await conn.execute(select(products.c.shop_id).where(
            products.c.id == scope_id))).scalar_one_or_none()
    elif scope_type == "sku":
        shop = (await conn.execute(select(skus.c.shop_id).where(
            skus.c.id == scope_id))).scalar_one_or_none()
    elif scope_type == "lineup_item":
        row = (await conn.execute(
            select(live_sessions.c.shop_id, live_sessions.c.anchor_id)
            .join(lineup_items, lineup_items.c.session_id == live_sessions.c.id)
            .where(lineup_items.c.id == scope_id))).first()
        if row is None:
            raise Problem("not_found", f"直播商品不存在 / no such lineup item: {scope_id}")
        return int(row.shop_id), int(row.anchor_id)
    else:
        raise Problem("validation_failed", f"未知适用范围 / unknown scope: {scope_type}",
                      allowed=list(rules.SCOPES))
    if shop is None:
        raise Problem("not_found", f"{scope_type} {scope_id} 不存在 / no such {scope_type}")
    return int(shop), None


def _may_declare(principal: Principal, shop_id: int, anchor_id: int | None) -> None:
    """Shop staff may declare on anything of the shop; a session's anchor on that session's
    lineup items (what they say on air)."""
    if principal.can_manage(shop_id):
        return
    if anchor_id is not None and principal.user_id == anchor_id:
        return
    raise Problem("forbidden", f"你不能为店铺 {shop_id} 作出承诺 / you cannot declare promises "
                               f"for shop {shop_id}")


async def _check_gift(conn: AsyncConnection, shop_id: int, terms: dict[str, Any]) -> None:
    sku_id = terms.get("sku_id")
    if sku_id is None:
        return
    owner = (await conn.execute(select(skus.c.shop_id).where(
        skus.c.id == sku_id))).scalar_one_or_none()
    if owner != shop_id:
        raise Problem("validation_failed",
                      f"赠品 SKU {sku_id} 不属于本店 / gift SKU {sku_id} is not this shop's")


async def open_sessions(db: Database, promise_id: int) -> list[int]:
    """The shop's sessions not ended whose lineup a promise reaches (their rooms show it)."""
    async with db.read() as conn:
        row = (await conn.execute(select(promises).where(promises.c.id == promise_id))).first()
        if row is None:
            return []
        items = await _affected_items(conn, row.shop_id, row.scope_type, row.scope_id)
        if not items:
            return []
        found = await conn.execute(select(lineup_items.c.session_id).where(
            lineup_items.c.id.in_(items)).distinct())
        return sorted(int(r.session_id) for r in found)


async def open_sessions_of_promise(conn: AsyncConnection, promise_id: int,
                                   at: datetime) -> list[int]:
    """The shop's sessions not ended, created by `at`, whose lineup the promise reaches (the
    session record logs the promise's declaration, revision or withdrawal in each)."""
    row = (await conn.execute(select(promises.c.shop_id, promises.c.scope_type,
                                     promises.c.scope_id).where(
        promises.c.id == promise_id))).first()
    if row is None:
        return []
    items = await _affected_items(conn, row.shop_id, row.scope_type, row.scope_id)
    if not items:
        return []
    found = await conn.execute(select(lineup_items.c.session_id).join(
        live_sessions, live_sessions.c.id == lineup_items.c.session_id).where(
        lineup_items.c.id.in_(items), live_sessions.c.created_at <= at).distinct())
    return sorted(int(r.session_id) for r in found)


async def _affected_items(conn: AsyncConnection, shop_id: int, scope_type: str,
                          scope_id: int) -> list[int]:
    query = (select(lineup_items.c.id).join(live_sessions,
                                            live_sessions.c.id == lineup_items.c.session_id)
             .where(live_sessions.c.shop_id == shop_id, live_sessions.c.status != "ended"))
    if scope_type == "lineup_item":
        query = query.where(lineup_items.c.id == scope_id)
    elif scope_type == "sku":
        query = query.where(lineup_items.c.sku_id == scope_id)
    elif scope_type == "product":
        query = query.join(skus, skus.c.id == lineup_items.c.sku_id).where(
            skus.c.product_id == scope_id)
    return [int(r.id) for r in await conn.execute(query)]


async def _insert(uow: UnitOfWork, record: dict[str, Any]) -> int:
    record["content_hash"] = rules.content_hash(record)
    return int((await uow.conn.execute(
        insert(promises).values(**record).returning(promises.c.id))).scalar_one())


async def declare(
    db: Database, notifier: Notifier | None, principal: Principal, shop_id: int, *, kind: str,
    terms: Any, scope_type: str, scope_id: int | None, starts_at: datetime | None,
    ends_at: datetime | None, now: datetime,
) -> int:
    clean = _terms_or_problem(kind, terms)
    starts = (starts_at or now).replace(microsecond=0)
    if error := rules.window_error(starts, ends_at, now):
        raise Problem("validation_failed", error)
    scope_id = shop_id if scope_type == "shop" and scope_id is None else scope_id
    if scope_id is None:
        raise Problem("validation_failed", "须指明适用对象编号 / scope.id is required")
    async with db.write() as uow:
        owner, anchor = await _scope_owner(uow.conn, scope_type, scope_id)
        if owner != shop_id:
            raise Problem("not_found", f"{scope_type} {scope_id} 不属于店铺 {shop_id} / "
                                       f"not in shop {shop_id}")
        _may_declare(principal, shop_id, anchor)
        if kind == "gift":
            await _check_gift(uow.conn, shop_id, clean)
        promise_id = await _insert(uow, {
            "shop_id": shop_id, "kind": kind, "terms": clean, "scope_type": scope_type,
            "scope_id": scope_id, "version": 1, "supersedes_id": None, "starts_at": starts,
            "ends_at": ends_at, "withdrawn_at": None, "declared_by": principal.user_id,
            "created_at": now})
        await record_event(uow, "PromiseDeclared", now, shop_id=shop_id, payload={
            "promise_id": promise_id, "kind": kind, "terms": clean, "version": 1,
            "scope": {"type": scope_type, "id": scope_id}})
        items = await _affected_items(uow.conn, shop_id, scope_type, scope_id)
    if notifier is not None and items:
        await notifier.items_changed(items)
    return promise_id


async def _load_for_change(uow: UnitOfWork, principal: Principal, promise_id: int) -> Any:
    row = (await uow.conn.execute(select(promises).where(
        promises.c.id == promise_id))).first()
    if row is None:
        raise Problem("not_found", f"承诺不存在 / no such promise: {promise_id}")
    _, anchor = await _scope_owner(uow.conn, row.scope_type, row.scope_id)
    _may_declare(principal, row.shop_id, anchor)
    return row


def _ended(row: Any, now: datetime) -> bool:
    return row.withdrawn_at is not None or (row.ends_at is not None and row.ends_at <= now)


async def withdraw(db: Database, notifier: Notifier | None, principal: Principal,
                   promise_id: int, *, now: datetime) -> None:
    """End a promise from now on. Orders that already carry it keep it."""
    async with db.write() as uow:
        row = await _load_for_change(uow, principal, promise_id)
        if _ended(row, now):
            raise Problem("invalid_transition",
                          f"承诺 {promise_id} 已撤回或已结束 / already withdrawn or ended")
        ends = max(now, row.starts_at)
        changed = (await uow.conn.execute(update(promises).where(
            promises.c.id == promise_id, promises.c.withdrawn_at.is_(None))
            .values(withdrawn_at=now, ends_at=ends))).rowcount
        if changed != 1:  # withdrawn by someone else at this very moment
            raise Problem("invalid_transition", f"承诺 {promise_id} 已撤回 / already withdrawn")
        await record_event(uow, "PromiseWithdrawn", now, shop_id=row.shop_id,
                           payload={"promise_id": promise_id, "kind": row.kind})
        items = await _affected_items(uow.conn, row.shop_id, row.scope_type, row.scope_id)
    if notifier is not None and items:
        await notifier.items_changed(items)


async def revise(db: Database, notifier: Notifier | None, principal: Principal,
                 promise_id: int, *, terms: Any, ends_at: datetime | None,
                 now: datetime) -> int:
    """A changed promise is a new version: the old one ends now, the new one starts now."""
    async with db.write() as uow:
        row = await _load_for_change(uow, principal, promise_id)
        clean = _terms_or_problem(row.kind, terms)
        if _ended(row, now):
            raise Problem("invalid_transition",
                          f"承诺 {promise_id} 已撤回或已结束 / already withdrawn or ended")
        starts = now.replace(microsecond=0)
        if error := rules.window_error(starts, ends_at, now):
            raise Problem("validation_failed", error)
        if row.kind == "gift":
            await _check_gift(uow.conn, row.shop_id, clean)
        changed = (await uow.conn.execute(update(promises).where(
            promises.c.id == promise_id, promises.c.withdrawn_at.is_(None))
            .values(withdrawn_at=now, ends_at=max(now, row.starts_at)))).rowcount
        if changed != 1:
            raise Problem("invalid_transition", f"承诺 {promise_id} 已撤回 / already withdrawn")
        new_id = await _insert(uow, {
            "shop_id": row.shop_id, "kind": row.kind, "terms": clean,
            "scope_type": row.scope_type, "scope_id": row.scope_id, "version": row.version + 1,
            "supersedes_id": row.id, "starts_at": starts, "ends_at": ends_at,
            "withdrawn_at": None, "declared_by": principal.user_id, "created_at": now})
        await record_event(uow, "PromiseRevised", now, shop_id=row.shop_id, payload={
            "promise_id": new_id, "supersedes_id": row.id, "kind": row.kind, "terms": clean,
            "version": row.version + 1})
        items = await _affected_items(uow.conn, row.shop_id, row.scope_type, row.scope_id)
    if notifier is not None and items:
        await notifier.items_changed(items)
    return new_id


def view(row: Any, *, at: datetime, gift_names: dict[int, str] | None = None) -> dict[str, Any]:
    terms = dict(row.terms)
    gift_name = (gift_names or {}).get(terms.get("sku_id", 0)) if row.kind == "gift" else None
    label_zh, label_en = rules.label(row.kind, terms)
    text_zh, text_en = rules.describe(row.kind, terms, gift_name)
    return {
        "id": row.id, "shop_id": row.shop_id, "kind": row.kind, "terms": terms,
        "scope": {"type": row.scope_type, "id": row.scope_id}, "version": row.version,
        "supersedes_id": row.supersedes_id, "hash": row.content_hash,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
        "in_force": rules.in_force(row.starts_at, row.ends_at, at),
        "enforced": row.kind in rules.ENFORCED,
        "label": {"zh-CN": label_zh, "en": label_en},
        "description": {"zh-CN": text_zh, "en": text_en},
    }


async def _gift_names(conn: AsyncConnection, rows: list[Any]) -> dict[int, str]:
    ids = {r.terms.get("sku_id") for r in rows if r.kind == "gift" and r.terms.get("sku_id")}
    if not ids:
        return {}
    found = await conn.execute(
        select(skus.c.id, products.c.title, skus.c.name)
        .join(products, products.c.id == skus.c.product_id).where(skus.c.id.in_(ids)))
    return {int(r.id): f"{r.title}（{r.name}）" for r in found}


async def views(conn: AsyncConnection, rows: list[Any], at: datetime) -> list[dict[str, Any]]:
    names = await _gift_names(conn, rows)
    return [view(r, at=at, gift_names=names) for r in rows]


async def get(conn: AsyncConnection, promise_id: int, at: datetime) -> dict[str, Any]:
    row = (await conn.execute(select(promises).where(promises.c.id == promise_id))).first()
    if row is None:
        raise Problem("not_found", f"承诺不存在 / no such promise: {promise_id}")
    return (await views(conn, [row], at))[0]


async def list_for_shop(db: Database, principal: Principal, shop_id: int, *, at: datetime,
                        in_force_only: bool) -> list[dict[str, Any]]:
    if not principal.is_member(shop_id):
        raise Problem("forbidden", f"你不是店铺 {shop_id} 的成员 / not staff of shop {shop_id}")
    async with db.read() as conn:
        query = select(promises).where(promises.c.shop_id == shop_id).order_by(promises.c.id)
        if in_force_only:
            query = query.where(promises.c.starts_at <= at, or_(
                promises.c.ends_at.is_(None), promises.c.ends_at > at))
        return await views(conn, list(await conn.execute(query)), at)


async def current_for_item(conn: AsyncConnection, item_id: int, *, shop_id: int, sku_id: int,
                           product_id: int, at: datetime) -> list[Any]:
    """Every promise of the item's shop, product, SKU or the lineup item itself that has not
    ended at `at` (including those that start later: the caller filters by the moment of
    purchase, so a cached list stays exact)."""
    scopes = or_(
        and_(promises.c.scope_type == "shop", promises.c.scope_id == shop_id),
        and_(promises.c.scope_type == "product", promises.c.scope_id == product_id),
        and_(promises.c.scope_type == "sku", promises.c.scope_id == sku_id),
        and_(promises.c.scope_type == "lineup_item", promises.c.scope_id == item_id))
    return list(await conn.execute(
        select(promises).where(promises.c.shop_id == shop_id, scopes,
                               or_(promises.c.ends_at.is_(None), promises.c.ends_at > at))
        .order_by(promises.c.kind, promises.c.id)))


def frozen(view_: dict[str, Any]) -> dict[str, Any]:
    """What an order keeps of a promise: a copy of its terms and words, its version and hash,
    and where it came from. Never rewritten afterwards."""
    return {"promise_id": view_["id"], "kind": view_["kind"], "terms": view_["terms"],
            "version": view_["version"], "hash": view_["hash"], "source": view_["scope"],
            "enforced": view_["enforced"], "label": view_["label"],
            "description": view_["description"]}


async def item_promises(conn: AsyncConnection, item_id: int, at: datetime) -> list[dict[str, Any]]:
    """The promises in force now for a lineup item (the live room's card), with words."""
    row = (await conn.execute(
        select(lineup_items.c.sku_id, skus.c.product_id, live_sessions.c.shop_id)
        .join(skus, skus.c.id == lineup_items.c.sku_id)
        .join(live_sessions, live_sessions.c.id == lineup_items.c.session_id)
        .where(lineup_items.c.id == item_id))).first()
    if row is None:
        raise Problem("not_found", f"直播商品不存在 / no such lineup item: {item_id}")
    rows = await current_for_item(conn, item_id, shop_id=row.shop_id, sku_id=row.sku_id,
                                  product_id=row.product_id, at=at)
    return [v for v in await views(conn, rows, at) if v["in_force"]]


async def trust_record(conn: AsyncConnection, shop_id: int) -> dict[str, Any]:
    """What a shop's promises cost it, counted from its events: paid orders, cancellations by
    the shop (by reason), compensation paid (by cause), price-protection refunds. Public: a
    buyer may look before buying."""
    if (await conn.execute(select(shops.c.id).where(shops.c.id == shop_id))).first() is None:
        raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
    rows = (await conn.execute(select(events.c.type, events.c.payload).where(
        events.c.shop_id == shop_id, events.c.type.in_(
            ["OrderPaid", "OrderCancelled", "OrderCompensated", "PriceProtectionRefunded"])))
    ).all()
    record: dict[str, Any] = {
        "shop_id": shop_id, "orders_paid": 0, "shop_cancellations": {},
        "compensations": {"count": 0, "amount": 0, "by_cause": {}},
        "price_protection_refunds": {"count": 0, "amount": 0}}
    for row in rows:
        p = row.payload or {}
        if row.type == "OrderPaid":
            record["orders_paid"] += 1
        elif row.type == "OrderCancelled" and p.get("by") == "merchant":
            code = p.get("code") or "unspecified"
            record["shop_cancellations"][code] = record["shop_cancellations"].get(code, 0) + 1
        elif row.type == "OrderCompensated":
            comp = record["compensations"]
            comp["count"] += 1
            comp["amount"] += int(p.get("amount", 0))
            cause = p.get("cause", "other")
            comp["by_cause"][cause] = comp["by_cause"].get(cause, 0) + 1
        elif row.type == "PriceProtectionRefunded":
            record["price_protection_refunds"]["count"] += 1
            record["price_protection_refunds"]["amount"] += int(p.get("amount", 0))
    return record


REFERENCE_DAYS = 7
REFERENCE_BASIS = {"zh-CN": "前7日最低成交价", "en": "Lowest paid price, previous 7 days"}


async def reference_prices(conn: AsyncConnection, sku_ids: list[int], at: datetime, *,
                           days: int = REFERENCE_DAYS) -> dict[int, dict[str, Any]]:
    """The honest reference price (划线价) of each SKU: the lowest unit price actually paid for
    it in its shop over the `days` before `at`, from stored orders only; a SKU with no paid
    order in the window has none (and nothing is shown). A merchant cannot type one."""
    if not sku_ids:
        return {}
    rows = await conn.execute(
        select(orders.c.sku_id, func.min(orders.c.unit_price).label("low"),
               func.count().label("orders"))
        .where(orders.c.sku_id.in_(sku_ids), orders.c.paid_at.is_not(None),
               orders.c.paid_at >= at - timedelta(days=days), orders.c.paid_at < at)
        .group_by(orders.c.sku_id))
    basis = REFERENCE_BASIS if days == REFERENCE_DAYS else {
        "zh-CN": f"前{days}日最低成交价", "en": f"Lowest paid price, previous {days} days"}
    return {int(r.sku_id): {"amount": int(r.low), "days": days, "orders": int(r.orders),
                            "basis": basis} for r in rows}
