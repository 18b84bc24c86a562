from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

# The promise ledger: append-only. A row is never updated except to end it (withdrawn_at and
# ends_at, once); a changed promise is a new row, the next version, naming the one it replaces.
promises = Table(
    "promises",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    # price_protection | gift | shipping_deadline | counterfeit_compensation | warranty |
    # no_reason_return | commitment (promises/rules.py)
    Column("kind", String(32), nullable=False),
    Column("terms", JSON, nullable=False),
    Column("scope_type", String(16), nullable=False),  # shop | product | sku | lineup_item
    Column("scope_id", BigId, nullable=False),
    Column("version", Integer, nullable=False),
    Column("supersedes_id", BigId, ForeignKey("promises.id"), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    Column("declared_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_promises_scope", "scope_type", "scope_id"),
    Index("ix_promises_shop", "shop_id", "id"),
)
