from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from livepledge.infra.db import metadata
from livepledge.infra.models import BigId
from livepledge.infra.types import UTCDateTime

# An after-sales case (售后) on an order. At most one open case per order; every open state has
# a deadline (`deadline_at`, fired by the durable `case_due` deadline).
cases = Table(
    "cases",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("buyer_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("session_id", BigId, nullable=True),
    Column("type", String(20), nullable=False),  # aftersales/rules.py TYPES
    Column("reason", String(20), nullable=False),
    Column("promise_id", BigId, nullable=True),  # the frozen promise a breach names
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),  # requested, fen
    Column("offered_amount", BigInteger, nullable=True),  # the shop's partial offer
    Column("status", String(20), nullable=False),
    Column("outcome", String(200), nullable=True),
    Column("refunded", BigInteger, nullable=False),
    Column("awarded", BigInteger, nullable=False),  # 假一赔N owed on top (the ledger pays it)
    Column("return_address", JSON, nullable=True),
    Column("return_carrier", String(64), nullable=True),
    Column("return_tracking", String(64), nullable=True),
    Column("deadline_at", UTCDateTime, nullable=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Index("ix_cases_shop", "shop_id", "status", "deadline_at"),
    Index("ix_cases_order", "order_id"),
    Index("ux_cases_one_open", "order_id", unique=True,
          sqlite_where=text("status != 'closed'"), postgresql_where=text("status != 'closed'")),
)

# The case's record: every message, decision, deadline and who acted. Append-only.
case_entries = Table(
    "case_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", BigId, ForeignKey("cases.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(16), nullable=False),  # buyer | merchant | platform | operator
    Column("actor_id", BigId, nullable=True),
    Column("kind", String(24), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_case_entries_case", "case_id", "id"),
)
