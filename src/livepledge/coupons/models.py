"""Coupons, the claims buyers hold, and the per-buyer claim counts that guard the limit in the
database (as `buyer_item_counts` does for the flash sale)."""

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
    # Targeting by fan level and segment (fans/targeting.py, docs/fans.md).
    Column("min_fan_level", Integer, nullable=True),
    Column("segment_id", BigId, nullable=True),
    # 积分兑换: offered for this many points, redeemed (never claimed free) with them.
    Column("points_price", Integer, nullable=True),
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

# Red packets (红包) in a live room: cash the shop funded through the payment provider, split
# into `shares` parts at creation (rules.split_red_packet), grabbed by the first fans.
red_packets = Table(
    "red_packets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # cash | coupon
    Column("coupon_id", BigId, ForeignKey("coupons.id"), nullable=True),  # kind coupon
    Column("total_amount", BigInteger, nullable=False),  # fen (0 for a coupon red packet)
    Column("shares", Integer, nullable=False),
    Column("split", String(8), nullable=False),  # even | random
    Column("seed", String(64), nullable=False),  # the random split's seed (shown once closed)
    Column("amounts", JSON, nullable=False),  # the shares, in grab order
    Column("grabbed", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # open | finished | returned
    Column("idempotency_key", String(128), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("funding_ref", String(128), nullable=False),
    Column("returned_amount", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    CheckConstraint("grabbed >= 0 AND grabbed <= shares", name="grabbed_in_shares"),
    UniqueConstraint("shop_id", "idempotency_key"),
    Index("ix_red_packets_session", "session_id", "id"),
)

red_packet_grabs = Table(
    "red_packet_grabs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("red_packet_id", BigId, ForeignKey("red_packets.id"), nullable=False),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),  # fen (0: a coupon)
    Column("claim_id", BigId, ForeignKey("coupon_claims.id"), nullable=True),  # kind coupon
    Column("grabbed_at", UTCDateTime, nullable=False),
    # The transfer to the buyer (the `red_packet_payouts` consumer, idempotency key per grab).
    Column("payout_ref", String(128), nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
    UniqueConstraint("red_packet_id", "buyer_id"),
    UniqueConstraint("red_packet_id", "position"),
)
