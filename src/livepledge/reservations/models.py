"""预约: a buyer's reservation of a scheduled session."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Table

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

session_reservations = Table(
    "session_reservations",
    metadata,
    Column("session_id", BigId, ForeignKey("live_sessions.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_session_reservations_user", "user_id", "session_id"),
)
