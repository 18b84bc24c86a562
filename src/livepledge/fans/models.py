"""Fan clubs (粉丝团): members, the merchant's level table, affinity and points with their
append-only histories, verified watch minutes, and each order's share of both."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
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

# The shop's level table (names and affinity thresholds); no row: the default levels.
fan_club_settings = Table(
    "fan_club_settings",
    metadata,
    Column("shop_id", BigId, ForeignKey("shops.id"), primary_key=True),
    Column("levels", JSON, nullable=False),  # [{"name", "threshold"}], thresholds from 0 up
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", BigId, ForeignKey("users.id"), nullable=False),
)

# One row per fan and shop. `affinity` and `points` are the running totals of the two
# histories below (a test recomputes them); `left_at` set: not a member now.
fan_members = Table(
    "fan_members",
    metadata,
    Column("shop_id", BigId, ForeignKey("shops.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("left_at", UTCDateTime, nullable=True),
    Column("affinity", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("streak", Integer, nullable=False),
    Column("last_checkin", Date, nullable=True),  # Asia/Shanghai calendar day
    Column("tags", JSON, nullable=False),  # the merchant's tags for this fan
    Column("campaigns_opt_out", Boolean, nullable=False),
    Index("ix_fan_members_user", "user_id", "shop_id"),
)

# Append-only: one row per credited action (or take-back), `ref` naming its source (a chat
# id, an order, a minute of a session), unique per fan and shop so a replay adds nothing.
affinity_entries = Table(
    "affinity_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("source", String(16), nullable=False),  # rules.SOURCES
    Column("points", Integer, nullable=False),  # negative for a refund's take-back
    Column("ref", String(64), nullable=False),
    Column("day", Date, nullable=False),  # Asia/Shanghai, for the daily caps
    Column("session_id", BigId, nullable=True),
    Column("order_id", BigId, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "user_id", "ref"),
    Index("ix_affinity_entries_day", "shop_id", "user_id", "day", "source"),
)

# 积分: not money, never in the ledger. Append-only, like affinity.
point_entries = Table(
    "point_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),  # after this entry
    Column("reason", String(32), nullable=False),  # checkin | purchase | refund | spend:<why>
    Column("ref", String(64), nullable=False),
    Column("order_id", BigId, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "user_id", "ref"),
    Index("ix_point_entries_fan", "shop_id", "user_id", "id"),
)

# Verified watch minutes per viewer and session: one minute per wall-clock minute in which the
# viewer's socket sent a heartbeat (`last_minute` makes a second tab or worker add nothing).
# `engaged`: chatted, liked or paid in the session (the bought-viewer rule, rules.py).
fan_watch = Table(
    "fan_watch",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("credited", Integer, nullable=False),
    Column("last_minute", BigInteger, nullable=False),  # minutes since the epoch
    Column("engaged", Boolean, nullable=False),
    Index("ix_fan_watch_user", "user_id", "session_id"),
)

# What each paid order gave (affinity at payment; points when its escrow is released) and what
# refunds took back, so a refund takes back its share exactly once.
fan_orders = Table(
    "fan_orders",
    metadata,
    Column("order_id", BigId, ForeignKey("orders.id"), primary_key=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("session_id", BigId, nullable=True),
    Column("paid", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("affinity_granted", Integer, nullable=False),
    Column("affinity_taken", Integer, nullable=False),
    Column("points_granted", BigInteger, nullable=False),
    Column("points_taken", BigInteger, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Index("ix_fan_orders_fan", "shop_id", "user_id"),
)

# A merchant's saved segments: a validated filter (schemas.SegmentFilterIn); counts are live.
fan_segments = Table(
    "fan_segments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("name", String(40), nullable=False),
    Column("filter", JSON, nullable=False),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fan_segments_shop", "shop_id", "id"),
)

# Campaigns (docs/fans.md, "Campaigns"): a message, optionally with a coupon, to a saved
# segment, now, at a time, or when a live session starts; sent once by the `campaign_send`
# deadline into the buyers' notice inboxes. One message row per recipient: delivery, opening
# and the 7-day attribution of orders are counted from them.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    # the segment it was made for, and a copy of its filter: deleting the segment later leaves
    # the campaign (sent or still to send) as it was
    Column("segment_id", BigId, nullable=False),
    Column("segment_filter", JSON, nullable=False),
    Column("title", String(40), nullable=False),
    Column("body", String(500), nullable=False),
    Column("coupon_id", BigId, nullable=True),
    Column("send_at", UTCDateTime, nullable=True),  # None: when `on_session_id` goes live
    Column("on_session_id", BigId, nullable=True),
    Column("status", String(16), nullable=False),  # scheduled | sent | cancelled
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("audience", Integer, nullable=True),  # in the segment when sent
    Column("delivered", Integer, nullable=True),
    Column("skipped_opted_out", Integer, nullable=True),
    Column("skipped_capped", Integer, nullable=True),
    Index("ix_campaigns_shop", "shop_id", "id"),
    Index("ix_campaigns_session", "on_session_id"),
)

campaign_messages = Table(
    "campaign_messages",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("shop_id", BigId, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Index("ix_campaign_messages_fan", "shop_id", "user_id", "delivered_at"),
)

# The fan-group feed (粉丝群动态, docs/fans.md "Fan-group feed"): the shop's posts to its fan
# club, checked by the compliance engine like a script (violations refused, warnings kept and
# shown); fans' reactions; fans' comments, checked like chat (a diversion attempt is held:
# visible to its author only).
fan_posts = Table(
    "fan_posts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("author_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # news | arrival | schedule | coupon
    Column("body", String(1000), nullable=False),
    Column("coupon_id", BigId, nullable=True),
    Column("session_id", BigId, nullable=True),
    Column("warnings", JSON, nullable=False),  # the compliance engine's warnings, shown
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Index("ix_fan_posts_shop", "shop_id", "id"),
)

fan_post_reactions = Table(
    "fan_post_reactions",
    metadata,
    Column("post_id", BigId, ForeignKey("fan_posts.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # rules.REACTIONS
    Column("created_at", UTCDateTime, nullable=False),
)

fan_post_comments = Table(
    "fan_post_comments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("post_id", BigId, ForeignKey("fan_posts.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("body", String(300), nullable=False),
    Column("status", String(8), nullable=False),  # shown | held
    Column("findings", JSON, nullable=False),  # why it was held
    Column("from_shop", Boolean, nullable=False),  # the shop's own reply
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fan_post_comments_post", "post_id", "id"),
)
