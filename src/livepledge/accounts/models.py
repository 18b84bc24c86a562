from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    # buyer | merchant | anchor | operator
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A buyer's own cooling-off period after a live purchase (冷静期), minutes; NULL: none.
    Column("cooling_off_minutes", Integer, nullable=True),
)

shops = Table(
    "shops",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("legal_name", String(200), nullable=False),
    Column("license_no", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

shop_members = Table(
    "shop_members",
    metadata,
    Column("shop_id", BigId, ForeignKey("shops.id"), primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("role", String(16), nullable=False),  # owner | staff | anchor
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_shop_members_user", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # api | web
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    UniqueConstraint("digest"),
)


# A buyer's shipping addresses (收货地址). An order keeps its own copy, taken when it is paid, so
# editing or removing an address never changes an order. Removed addresses are archived, not
# deleted. At most one live default per buyer (a partial unique index on both databases).
addresses = Table(
    "addresses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("recipient", String(40), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("province", String(20), nullable=False),
    Column("city", String(40), nullable=False),
    Column("district", String(40), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime, nullable=True),
    Index("ix_addresses_user", "user_id", "id"),
    Index("ux_addresses_one_default", "user_id", unique=True,
          sqlite_where=text("is_default AND archived_at IS NULL"),
          postgresql_where=text("is_default AND archived_at IS NULL")),
)
