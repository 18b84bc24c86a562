from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=True),
    Column("lineup_item_id", BigId, ForeignKey("lineup_items.id"), nullable=True),
    Column("sku_id", BigId, ForeignKey("skus.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    # pending_payment | paid | shipped | received | cancelled | expired
    Column("status", String(20), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    # What was bought, as shown at order time: product title, SKU name, prices, seller.
    Column("snapshot", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("shipped_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("cancel_reason", String(300), nullable=True),
    Column("cancelled_by", String(16), nullable=True),  # merchant | buyer | system
    Column("cancel_code", String(24), nullable=True),  # the shop's reason (orders/rules.py)
    # The buyer's cooling-off period (冷静期): not released for shipping before this time, and
    # until then the buyer may cancel the paid order with one tap for a full refund.
    Column("cooling_off_until", UTCDateTime, nullable=True),
    # Units the buyer returned through after-sales (price protection covers the rest).
    Column("returned_quantity", Integer, nullable=False, server_default="0"),
    Column("carrier", String(64), nullable=True),
    Column("tracking_number", String(64), nullable=True),
    # The shop declared at shipping that the frozen gift went in the parcel (None: not said).
    # A missing-gift claim on an order without it cannot be refused (aftersales/rules.py).
    Column("gift_shipped", Boolean, nullable=True),
    # The buyer's address as it was when chosen (at payment, or changed before shipping):
    # recipient, phone, province, city, district, detail. Editing the address book never
    # changes it.
    Column("shipping_address", JSON, nullable=True),
    Column("address_set_at", UTCDateTime, nullable=True),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("amount = unit_price * quantity", name="amount_consistent"),
    UniqueConstraint("buyer_id", "idempotency_key"),
    Index("ix_orders_shop", "shop_id", "id"),
    Index("ix_orders_item", "lineup_item_id"),
    Index("ix_orders_expiry", "status", "expires_at"),
    Index("ix_orders_sku", "sku_id", "status"),
)

# Per-buyer quantity bought of one lineup item: the database-level guard of the per-buyer limit.
buyer_item_counts = Table(
    "buyer_item_counts",
    metadata,
    Column("lineup_item_id", BigId, ForeignKey("lineup_items.id"), primary_key=True),
    Column("buyer_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("provider_ref", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # succeeded | failed
    Column("created_at", UTCDateTime, nullable=False),
    # Refunds (negative amounts): why (order_cancelled | price_protection | ...), and what
    # caused it (the price offer, the case...).
    Column("reason", String(32), nullable=True),
    Column("related", JSON, nullable=True),
    UniqueConstraint("provider", "provider_ref"),
    Index("ix_payments_order", "order_id"),
)
