from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, UniqueConstraint

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

# A user's notice inbox (站内通知). Written by event consumers, once per (user, dedupe): the
# words are rendered from `kind` and `params` when shown, in the reader's language.
notices = Table(
    "notices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("params", JSON, nullable=False),
    Column("order_id", BigId, nullable=True),
    Column("session_id", BigId, nullable=True),
    Column("event_id", BigId, nullable=False),
    Column("dedupe", String(64), nullable=False),  # one notice per (user, dedupe key)
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    UniqueConstraint("user_id", "dedupe"),
    Index("ix_notices_user", "user_id", "id"),
)
