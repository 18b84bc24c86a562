"""Coupons, the claims buyers hold, and the per-buyer claim counts that guard the limit in the
database (as `buyer_item_counts` does for the flash sale)."""

from __future__ import annotations

from sqlalchemy import (
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

coupons = Table(
    "coupons",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("title", String(60), nullable=False),
    # threshold (满减: amount off from a threshold) | percent (折扣) | no_threshold (无门槛)
    Column("kind", String(16), nullable=False),
    Column("threshold", BigInteger, nullable=False),  # fen; 0: none
    Column("amount_off", BigInteger, nullable=True),  # fen (threshold, no_threshold)
    Column("percent_off", Integer, nullable=True),  # 1..99 (percent)
    Column("cap", BigInteger, nullable=True),  # fen; the most a percent coupon takes off
    Column("budget", Integer, nullable=False),  # coupons that may ever be issued
    Column("remaining", Integer, nullable=False),  # budget not yet issued
    Column("per_buyer_limit", Integer, nullable=False),
    Column("claim_starts_at", UTCDateTime, nullable=False),
    Column("claim_ends_at", UTCDateTime, nullable=False),
    # Use validity: fixed dates, or `valid_days` from the moment of the claim.
    Column("valid_from", UTCDateTime, nullable=True),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("valid_days", Integer, nullable=True),
    # Targeting: claimable only while this session is live (from its room).
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=True),
    # Targeting by fan level and segment: stored, enforced once fans/ is wired (docs/fans.md).
    Column("min_fan_level", Integer, nullable=True),
    Column("segment_id", BigId, nullable=True),
    Column("stackable", Boolean, nullable=False),
    Column("status", String(12), nullable=False),  # active | paused | ended
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= budget", name="remaining_in_budget"),
    CheckConstraint("budget > 0", name="budget_positive"),
    Index("ix_coupons_shop", "shop_id", "id"),
    Index("ix_coupons_session", "session_id"),
)

coupon_claims = Table(
    "coupon_claims",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("coupon_id", BigId, ForeignKey("coupons.id"), nullable=False),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False),  # unused | used
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=True),
    Column("discount", BigInteger, nullable=True),  # fen taken off the order it was used on
    Column("used_at", UTCDateTime, nullable=True),
    UniqueConstraint("buyer_id", "idempotency_key"),
    Index("ix_coupon_claims_coupon", "coupon_id"),
    Index("ix_coupon_claims_buyer", "buyer_id", "shop_id", "status"),
    Index("ix_coupon_claims_order", "order_id"),
)

# Coupons each buyer holds of a coupon: the database-level guard of the per-buyer limit.
coupon_buyer_counts = Table(
    "coupon_buyer_counts",
    metadata,
    Column("coupon_id", BigId, ForeignKey("coupons.id"), primary_key=True),
    Column("buyer_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("claimed", Integer, nullable=False),
    CheckConstraint("claimed >= 0", name="claimed_nonnegative"),
)
