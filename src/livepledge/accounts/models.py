from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint

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
