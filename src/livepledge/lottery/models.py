from __future__ import annotations

from sqlalchemy import (
    JSON,
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

# A lottery (福袋/抽奖) in a live session, commit–reveal (docs/lottery.md). `seed` is the secret
# drawn at creation and never shown before the draw; `commitment` = SHA-256(seed) is public from
# the start. `entries` counts entries so far and hands out entry positions: an entry increments
# it with `... WHERE status = 'open'`, which also orders entries against the close (the close
# sets the status in the same row). The prize stock (`stock_reserved` units) is taken from the
# SKU's stock at creation; what no winner needs goes back after the draw.
lotteries = Table(
    "lotteries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("title", String(60), nullable=False),
    Column("prize_sku_id", BigId, ForeignKey("skus.id"), nullable=False),
    Column("prize_quantity", Integer, nullable=False),  # units per winner
    Column("winners_count", Integer, nullable=False),
    Column("stock_reserved", Integer, nullable=False),
    Column("opens_at", UTCDateTime, nullable=False),
    Column("closes_at", UTCDateTime, nullable=False),
    Column("conditions", JSON, nullable=False),  # lottery/rules.py CONDITIONS
    Column("ship_within_hours", Integer, nullable=False),  # prize shipping deadline
    Column("seed", String(64), nullable=False),  # hex, secret until drawn
    Column("commitment", String(64), nullable=False),  # hex SHA-256(seed)
    Column("status", String(16), nullable=False),  # open | drawn
    Column("entries", Integer, nullable=False, server_default="0"),
    Column("entry_root", String(64), nullable=True),
    Column("revealed_seed", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("drawn_at", UTCDateTime, nullable=True),
    Column("prizes_placed_at", UTCDateTime, nullable=True),
    CheckConstraint("winners_count >= 1", name="winners_positive"),
    CheckConstraint("prize_quantity >= 1", name="prize_quantity_positive"),
    CheckConstraint("closes_at > opens_at", name="window_ordered"),
    Index("ix_lotteries_session", "session_id", "id"),
)

# One entry per buyer and lottery, in entry order (`position`, 0-based). `nonce` makes the
# public entrant hash SHA-256(nonce || user id) unlinkable to the buyer by anyone else.
lottery_entries = Table(
    "lottery_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lottery_id", BigId, ForeignKey("lotteries.id"), nullable=False),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("nonce", String(32), nullable=False),
    Column("entrant_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("lottery_id", "buyer_id"),
    UniqueConstraint("lottery_id", "position"),
)

# The draw's winners, in drawn order (`rank`), and each one's prize order once placed. A winner
# has at most one prize order per lottery (also the orders' unique (buyer, idempotency key)).
lottery_winners = Table(
    "lottery_winners",
    metadata,
    Column("lottery_id", BigId, ForeignKey("lotteries.id"), primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("entry_id", BigId, ForeignKey("lottery_entries.id"), nullable=False),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("entrant_hash", String(64), nullable=False),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=True),
    UniqueConstraint("lottery_id", "entry_id"),
    UniqueConstraint("order_id"),
)
