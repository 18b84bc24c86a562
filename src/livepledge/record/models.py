"""The session record's tables: one append-only Merkle log per live session.

Nothing here is ever updated or deleted except `record_heads` (the sequencer's position) and the
alerts' acknowledgement; entries, nodes and checkpoints are kept for at least three years
(《直播电商监督管理办法》), in practice for ever."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

# One row per entry: `body` is the canonical JSON (RFC 8785) the leaf hash covers.
record_entries = Table(
    "record_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("event_id", BigId, nullable=False),  # the outbox event it records (at most one entry)
    Column("type", String(40), nullable=False),
    Column("order_id", BigId, nullable=True),
    Column("body", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "idx"),
    UniqueConstraint("session_id", "event_id"),
    Index("ix_record_entries_order", "order_id"),
    # an order's bundle reads the session's lineup, price and promise entries by type
    Index("ix_record_entries_session_type", "session_id", "type", "idx"),
)

# The hash of every complete subtree (level ≥ 0) so proofs read O(log² n) rows, never all leaves.
record_nodes = Table(
    "record_nodes",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# The sequencer's state per session: how many entries, and the tree's root at that size.
record_heads = Table(
    "record_heads",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("checkpointed_size", BigInteger, nullable=False),  # size of the latest checkpoint
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every signed checkpoint ever published (a C2SP signed note), one per (session, size).
record_checkpoints = Table(
    "record_checkpoints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "size"),
)

# What the periodic self-audit found wrong (a stored entry no longer matches what was signed).
record_alerts = Table(
    "record_alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigId, ForeignKey("live_sessions.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
)
