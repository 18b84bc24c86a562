from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

products = Table(
    "products",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("title", String(120), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # active | archived (never deleted)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_products_shop", "shop_id"),
)

skus = Table(
    "skus",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("product_id", BigId, ForeignKey("products.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("price", BigInteger, nullable=False),  # fen
    # Units on hand not allocated to a live sale. Allocation moves units out atomically.
    Column("stock", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("price > 0", name="price_positive"),
    CheckConstraint("stock >= 0", name="stock_nonnegative"),
    Index("ix_skus_product", "product_id"),
)

price_history = Table(
    "price_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku_id", BigId, ForeignKey("skus.id"), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("changed_by", BigId, ForeignKey("users.id"), nullable=True),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("context", String(32), nullable=False),  # list | live
    Index("ix_price_history_sku", "sku_id", "changed_at"),
)


# A product's pictures, in display order (the first is the cover). Files are stored by content
# hash (infra/media.py); a removed picture is archived, never deleted, since orders show it.
product_images = Table(
    "product_images",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("product_id", BigId, ForeignKey("products.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("large_key", String(80), nullable=False),
    Column("thumb_key", String(80), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),
    Index("ix_product_images_product", "product_id", "position"),
)
