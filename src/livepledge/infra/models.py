"""The outbox: every domain event is written here in the same transaction as its change."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

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
    Index("ix_events_session", "session_id", "id"),
    Index("ix_events_shop", "shop_id", "id"),
)
