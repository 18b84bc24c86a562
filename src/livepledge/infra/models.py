"""The outbox: every domain event is written here in the same transaction as its change."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from livepledge.infra.db import metadata
from livepledge.infra.types import UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("shop_id", BigId, nullable=True),
    Column("session_id", BigId, nullable=True),
    Column("order_id", BigId, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    # PostgreSQL: the id of the writing transaction (pg_current_xact_id), so that consumers read
    # events in an order no later commit can precede (infra/consumers.py). SQLite: NULL (one
    # writer at a time: ids are already in commit order).
    Column("tx", BigInteger, nullable=True),
    Index("ix_events_session", "session_id", "id"),
    Index("ix_events_shop", "shop_id", "id"),
    Index("ix_events_tx", "tx", "id"),
)

# Where each named consumer of the outbox has got to: (tx, id) of the last event it handled,
# advanced in the same transaction as the handler's effects.
consumer_checkpoints = Table(
    "consumer_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_tx", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("handled", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Durable deadlines: fired once in effect (the handler's effects and fired_at in one
# transaction), also after a restart that missed them (infra/deadlines.py).
deadlines = Table(
    "deadlines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(48), nullable=False),
    Column("ref_id", BigInteger, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("outcome", String(200), nullable=True),
    UniqueConstraint("kind", "ref_id"),
    Index("ix_deadlines_due", "fired_at", "cancelled_at", "due_at"),
)
