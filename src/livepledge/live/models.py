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
    Text,
    text,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

live_sessions = Table(
    "live_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("anchor_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("title", String(120), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("playback_url", String(500), nullable=True),
    Column("status", String(16), nullable=False),  # scheduled | live | ended
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("pinned_item_id", BigId, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_live_sessions_shop", "shop_id"),
    # One anchor is live in one room at a time (a partial unique index: a race cannot pass it).
    Index("ux_live_sessions_anchor_live", "anchor_id", unique=True,
          sqlite_where=text("status = 'live'"), postgresql_where=text("status = 'live'")),
)

lineup_items = Table(
    "lineup_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("sku_id", BigId, ForeignKey("skus.id"), nullable=False),
    Column("live_price", BigInteger, nullable=False),
    Column("stock_allocated", Integer, nullable=False),
    Column("stock_remaining", Integer, nullable=False),
    Column("per_buyer_limit", Integer, nullable=False),
    Column("sale_starts_at", UTCDateTime, nullable=False),
    Column("sale_ends_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("stock_remaining >= 0", name="remaining_nonnegative"),
    CheckConstraint("stock_remaining <= stock_allocated", name="remaining_le_allocated"),
    CheckConstraint("live_price > 0", name="live_price_positive"),
    CheckConstraint("per_buyer_limit >= 1", name="limit_positive"),
    Index("ix_lineup_items_session", "session_id"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),  # shown | held | removed
    Column("reason", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_chat_session", "session_id", "id"),
)

likes = Table(
    "likes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_likes_session", "session_id"),
)

viewer_visits = Table(
    "viewer_visits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("viewer_key", String(80), nullable=False),  # u:<user id> or a:<anonymous device id>
    Column("joined_at", UTCDateTime, nullable=False),
    Column("left_at", UTCDateTime, nullable=True),
    Index("ix_viewer_visits_session", "session_id"),
)

room_mutes = Table(
    "room_mutes",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("muted_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

room_settings = Table(
    "room_settings",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("slow_mode_seconds", Integer, nullable=False, default=0),
    Column("note", Text, nullable=True),
)


# Pre-live review and on-air oversight (F16): what the anchor planned to say, what was said,
# what the checker found, and every correction made on air. Append-only.
script_checks = Table(
    "script_checks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("submitted_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("violation", Boolean, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_script_checks_session", "session_id", "id"),
)

transcript_segments = Table(
    "transcript_segments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("spoken_at", UTCDateTime, nullable=False),
    Column("item_id", BigId, nullable=True),  # pinned item while it was said
    Column("category", String(32), nullable=False),
    Column("violation", Boolean, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("source", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_transcript_session", "session_id", "id"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("segment_id", BigId, ForeignKey("transcript_segments.id"), nullable=True),
    Column("recorded_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("corrected_at", UTCDateTime, nullable=False),
    Index("ix_corrections_session", "session_id", "id"),
)
