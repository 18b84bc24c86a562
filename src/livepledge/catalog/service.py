"""Catalog use cases: products with SKUs, archive (never delete), append-only price history."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal, access_shop
from livepledge.catalog import rules
from livepledge.catalog.models import price_history, product_images, products, skus
from livepledge.compliance.service import check_text
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.events import record_event
from livepledge.infra.media import ImageRefused, LocalMediaStore, process_image
from livepledge.infra.problems import Problem


def listing_text(title: str, description: str) -> str:
    return f"{title}\n{description}" if description.strip() else title


def check_listing(title: str, description: str, category: str) -> dict[str, Any]:
    """The compliance check of a listing; spans point into `listing_text(title, description)`."""
    result = check_text(listing_text(title, description), category=category, context="listing")
    return {"text": listing_text(title, description), **result.to_dict()}


@dataclass(frozen=True)
class NewSku:
    name: str
    price: int
    stock: int


def check_product_fields(title: str | None, category: str | None) -> None:
    if title is not None and not 1 <= len(title.strip()) <= 120:
        raise Problem("validation_failed", "标题须为 1–120 个字符 / title must be 1-120 chars")
    if category is not None and category not in rules.CATEGORIES:
        raise Problem("validation_failed", f"未知类目 / unknown category: {category}",
                      allowed=list(rules.CATEGORIES))


def check_sku(sku: NewSku) -> None:
    if not 1 <= len(sku.name.strip()) <= 80:
        raise Problem("validation_failed", "SKU 名称须为 1–80 个字符 / SKU name must be 1-80 chars")
    for error in (rules.price_error(sku.price), rules.stock_error(sku.stock)):
        if error:
            raise Problem("validation_failed", error)


async def create_product(
    db: Database, principal: Principal, shop_id: int, *, title: str, description: str,
    category: str, new_skus: list[NewSku], now: datetime,
) -> int:
    access_shop(principal, shop_id)
    check_product_fields(title, category)
    if not 1 <= len(new_skus) <= 50:
        raise Problem("validation_failed", "商品须有 1–50 个 SKU / a product needs 1-50 SKUs")
    for sku in new_skus:
        check_sku(sku)
    # A listing with a violation is kept as a draft: it cannot be sold until it is fixed.
    status = "draft" if check_listing(title.strip(), description, category)["violation"] \
        else "active"
    async with db.write() as uow:
        product_id = int((await uow.conn.execute(insert(products).values(
            shop_id=shop_id, title=title.strip(), description=description, category=category,
            status=status, created_at=now, updated_at=now).returning(products.c.id)
        )).scalar_one())
        for sku in new_skus:
            await do_add_sku(uow, shop_id, product_id, sku, principal.user_id, now)
        await record_event(uow, "ProductCreated", now, shop_id=shop_id,
                           payload={"product_id": product_id, "title": title.strip()})
    return product_id


async def do_add_sku(
    uow: UnitOfWork, shop_id: int, product_id: int, sku: NewSku, user_id: int, now: datetime
) -> int:
    sku_id = int((await uow.conn.execute(insert(skus).values(
        product_id=product_id, shop_id=shop_id, name=sku.name.strip(), price=sku.price,
        stock=sku.stock, status="active", created_at=now).returning(skus.c.id))).scalar_one())
    await uow.conn.execute(insert(price_history).values(
        sku_id=sku_id, price=sku.price, changed_by=user_id, changed_at=now, context="list"))
    return sku_id


async def access_product(conn: AsyncConnection, product_id: int) -> Any:
    row = (await conn.execute(select(products).where(products.c.id == product_id))).first()
    if row is None:
        raise Problem("not_found", f"商品不存在 / no such product: {product_id}")
    return row


async def product_view(conn: AsyncConnection, product_id: int) -> dict[str, Any]:
    row = await access_product(conn, product_id)
    sku_rows = await conn.execute(select(skus).where(skus.c.product_id == product_id)
                                  .order_by(skus.c.id))
    view = row_dict(row)
    view["skus"] = [row_dict(s) for s in sku_rows]
    view["images"] = await images_of(conn, product_id)
    view["compliance"] = check_listing(row.title, row.description, row.category)
    return view


async def list_products(
    db: Database, principal: Principal, shop_id: int, *, include_archived: bool
) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        query = select(products.c.id).where(products.c.shop_id == shop_id).order_by(products.c.id)
        if not include_archived:
            query = query.where(products.c.status != "archived")
        ids = [r.id for r in await conn.execute(query)]
        return [await product_view(conn, pid) for pid in ids]


async def update_product(
    db: Database, principal: Principal, product_id: int, *, changes: dict[str, Any],
    now: datetime,
) -> None:
    check_product_fields(changes.get("title"), changes.get("category"))
    async with db.write() as uow:
        row = await access_product(uow.conn, product_id)
        access_shop(principal, row.shop_id)
        if row.status == "archived":
            raise Problem("archived", "已归档的商品不能修改 / archived products cannot be edited")
        if "title" in changes:
            changes["title"] = changes["title"].strip()
        merged = {"title": row.title, "description": row.description, "category": row.category,
                  **changes}
        if check_listing(merged["title"], merged["description"], merged["category"])["violation"]:
            changes["status"] = "draft"  # unpublished until fixed
        await uow.conn.execute(update(products).where(products.c.id == product_id)
                               .values(**changes, updated_at=now))


async def publish_product(
    db: Database, principal: Principal, product_id: int, *, now: datetime
) -> None:
    """Publish a draft listing once it passes the compliance check."""
    async with db.write() as uow:
        row = await access_product(uow.conn, product_id)
        access_shop(principal, row.shop_id)
        if row.status == "archived":
            raise Problem("archived",
                          "已归档的商品不能发布 / archived products cannot be published")
        result = check_listing(row.title, row.description, row.category)
        if result["violation"]:
            raise Problem("compliance_blocked",
                          "商品描述有违规内容，修改后才能发布 / the listing has violations; fix "
                          "them before publishing", findings=result["findings"])
        await uow.conn.execute(update(products).where(products.c.id == product_id)
                               .values(status="active", updated_at=now))
        await record_event(uow, "ProductPublished", now, shop_id=row.shop_id,
                           payload={"product_id": product_id})


async def archive_product(
    db: Database, principal: Principal, product_id: int, *, now: datetime
) -> None:
    async with db.write() as uow:
        row = await access_product(uow.conn, product_id)
        access_shop(principal, row.shop_id)
        await uow.conn.execute(update(products).where(products.c.id == product_id)
                               .values(status="archived", updated_at=now))
        await record_event(uow, "ProductArchived", now, shop_id=row.shop_id,
                           payload={"product_id": product_id})


async def access_sku(conn: AsyncConnection, sku_id: int) -> Any:
    row = (await conn.execute(select(skus).where(skus.c.id == sku_id))).first()
    if row is None:
        raise Problem("not_found", f"SKU 不存在 / no such SKU: {sku_id}")
    return row


async def update_sku(
    db: Database, principal: Principal, sku_id: int, *, price: int | None,
    stock_delta: int | None, now: datetime,
) -> None:
    """Change a SKU's list price (appended to the price history; existing orders keep theirs)
    and/or add or remove stock on hand (never below zero)."""
    if price is not None and (error := rules.price_error(price)):
        raise Problem("validation_failed", error)
    if stock_delta is not None and abs(stock_delta) > rules.MAX_STOCK:
        raise Problem("validation_failed", "库存变化过大 / stock change too large")
    async with db.write() as uow:
        row = await access_sku(uow.conn, sku_id)
        access_shop(principal, row.shop_id)
        if price is not None and price != row.price:
            await uow.conn.execute(update(skus).where(skus.c.id == sku_id).values(price=price))
            await uow.conn.execute(insert(price_history).values(
                sku_id=sku_id, price=price, changed_by=principal.user_id, changed_at=now,
                context="list"))
            await record_event(uow, "PriceChanged", now, shop_id=row.shop_id,
                               payload={"sku_id": sku_id, "price": price, "previous": row.price})
        if stock_delta:
            result = await uow.conn.execute(
                update(skus).where(skus.c.id == sku_id, skus.c.stock + stock_delta >= 0)
                .values(stock=skus.c.stock + stock_delta)
            )
            if result.rowcount != 1:
                raise Problem("insufficient_stock",
                              f"库存不足，当前 {row.stock} / not enough stock on hand: {row.stock}")


async def price_history_of(db: Database, sku_id: int) -> list[dict[str, Any]]:
    async with db.read() as conn:
        await access_sku(conn, sku_id)
        rows = await conn.execute(select(price_history).where(price_history.c.sku_id == sku_id)
                                  .order_by(price_history.c.id))
        return [row_dict(r) for r in rows]



# --- product images ---------------------------------------------------------------------------

MAX_IMAGES = 9


def image_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "url": f"/media/{row.large_key}", "thumb_url": f"/media/{row.thumb_key}",
            "width": row.width, "height": row.height, "position": row.position}


async def images_of(conn: AsyncConnection, product_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(product_images).where(
        product_images.c.product_id == product_id, product_images.c.removed_at.is_(None))
        .order_by(product_images.c.position, product_images.c.id))
    return [image_view(r) for r in rows]


async def _editable_product(conn: AsyncConnection, principal: Principal, product_id: int) -> Any:
    row = await access_product(conn, product_id)
    access_shop(principal, row.shop_id)
    if row.status == "archived":
        raise Problem("archived", "已归档的商品不能修改 / archived products cannot be edited")
    return row


async def add_product_image(db: Database, media: LocalMediaStore, principal: Principal,
                            product_id: int, data: bytes, *, now: datetime) -> dict[str, Any]:
    """Check, clean (EXIF stripped, upright, resized) and store a picture; the product shows it
    last. At most MAX_IMAGES pictures per product."""
    async with db.read() as conn:
        await _editable_product(conn, principal, product_id)
    try:
        image = await asyncio.to_thread(process_image, data)  # CPU: off the event loop
    except ImageRefused as exc:
        raise Problem("unsupported_media_type", str(exc)) from exc
    await asyncio.to_thread(media.put, image.large_key, image.large)
    await asyncio.to_thread(media.put, image.thumb_key, image.thumb)
    async with db.write() as uow:
        await _editable_product(uow.conn, principal, product_id)
        count, last = (await uow.conn.execute(
            select(func.count(), func.coalesce(func.max(product_images.c.position), 0)).where(
                product_images.c.product_id == product_id,
                product_images.c.removed_at.is_(None)))).one()
        if count >= MAX_IMAGES:
            raise Problem("validation_failed", f"每个商品最多 {MAX_IMAGES} 张图片 / at most "
                          f"{MAX_IMAGES} pictures per product")
        result = await uow.conn.execute(insert(product_images).values(
            product_id=product_id, position=int(last) + 1, large_key=image.large_key,
            thumb_key=image.thumb_key, width=image.width, height=image.height, created_at=now)
            .returning(product_images))
        return image_view(result.one())


async def remove_product_image(db: Database, principal: Principal, product_id: int,
                               image_id: int, *, now: datetime) -> None:
    """The product stops showing the picture; the file stays (orders placed with it show it)."""
    async with db.write() as uow:
        await _editable_product(uow.conn, principal, product_id)
        result = await uow.conn.execute(update(product_images).where(
            product_images.c.id == image_id, product_images.c.product_id == product_id,
            product_images.c.removed_at.is_(None)).values(removed_at=now))
        if result.rowcount != 1:
            raise Problem("not_found", f"图片不存在 / no such picture: {image_id}")


async def order_product_images(db: Database, principal: Principal, product_id: int,
                               image_ids: list[int]) -> list[dict[str, Any]]:
    """Show the product's pictures in this order (every current picture, each once)."""
    async with db.write() as uow:
        await _editable_product(uow.conn, principal, product_id)
        current = {r.id for r in await uow.conn.execute(select(product_images.c.id).where(
            product_images.c.product_id == product_id, product_images.c.removed_at.is_(None)))}
        if sorted(image_ids) != sorted(current):
            raise Problem("validation_failed", "须列出该商品的每张图片各一次 / list every current "
                          "picture of the product exactly once", current=sorted(current))
        for position, image_id in enumerate(image_ids, start=1):
            await uow.conn.execute(update(product_images).where(product_images.c.id == image_id)
                                   .values(position=position))
        return await images_of(uow.conn, product_id)
