from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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

# The ledger (docs/money.md). Transactions and postings are append-only (a trigger refuses
# UPDATE and DELETE); `ledger_accounts.balance` is their running sum, kept in the same
# transaction, and `ledger_orders` the per-order state the posting rules read.
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(80), nullable=False, unique=True),  # shop:7:escrow, provider:x:clearing
    Column("shop_id", BigId, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("balance", BigInteger, nullable=False),  # debit positive
    # Payouts requested and not yet posted (fen, ≥ 0): they count against `available`.
    Column("reserved", BigInteger, nullable=False),
    Index("ix_ledger_accounts_shop", "shop_id"),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", BigId, nullable=False, unique=True),  # one transaction per event, ever
    Column("kind", String(40), nullable=False),
    Column("shop_id", BigId, nullable=True),
    Column("order_id", BigId, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Column("reverses_id", BigId, ForeignKey("ledger_transactions.id"), nullable=True),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("transaction_id", BigId, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("event_id", BigId, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("account_id", BigId, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),  # debit positive, credit negative
    Column("shop_id", BigId, nullable=True),
    Column("order_id", BigId, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    UniqueConstraint("event_id", "seq"),
    Index("ix_ledger_postings_account", "account_id", "occurred_at"),
    Index("ix_ledger_postings_shop", "shop_id", "occurred_at"),
)

ledger_orders = Table(
    "ledger_orders",
    metadata,
    Column("order_id", BigId, primary_key=True),
    Column("shop_id", BigId, nullable=False),
    Column("provider", String(32), nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("released", Boolean, nullable=False),
    Column("released_base", BigInteger, nullable=False),
    Column("commission", BigInteger, nullable=False),
    Column("refunded_after", BigInteger, nullable=False),
    Column("commission_reversed", BigInteger, nullable=False),
    # [[party user id, accrued, reversed], ...]: anchors' and agencies' commissions
    Column("parties", JSON, nullable=True),
)


def _money_movement(name: str, owner: str) -> Table:
    """Money moved through the payment provider on someone's word, once per Idempotency-Key:
    a shop's payouts, deposit top-ups and withdrawals (`owner` shop_id, with who asked), an
    anchor's or agency's payouts (`owner` party_id)."""
    by_shop = owner == "shop_id"
    return Table(
        name,
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column(owner, BigId, ForeignKey("shops.id" if by_shop else "users.id"), nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("provider", String(32), nullable=False),
        Column("provider_ref", String(128), nullable=False),
        Column("idempotency_key", String(128), nullable=False),
        *([Column("requested_by", BigId, ForeignKey("users.id"), nullable=False)]
          if by_shop else []),
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint(owner, "idempotency_key"),
    )


payouts = _money_movement("payouts", "shop_id")
deposit_top_ups = _money_movement("deposit_top_ups", "shop_id")

# An anchor's or an MCN agency's agreement with a shop (docs/money.md, "Anchors and agencies"):
# a commission on net sales and a slot fee (坑位费), for one live session or for the sessions one
# anchor hosts in a period. Never edited: ending one sets `ended_at`; a change is a new one.
agreements = Table(
    "agreements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("party_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("party_kind", String(16), nullable=False),  # anchor | agency
    Column("session_id", BigId, nullable=True),
    Column("anchor_id", BigId, nullable=True),  # with a period: this anchor's sessions
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("commission_bp", Integer, nullable=False),
    Column("slot_fee", BigInteger, nullable=False),
    Column("provider", String(32), nullable=True),
    Column("provider_ref", String(128), nullable=True),
    Column("idempotency_key", String(128), nullable=False),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    UniqueConstraint("shop_id", "idempotency_key"),
    Index("ix_agreements_shop_session", "shop_id", "session_id"),
    Index("ix_agreements_party", "party_id"),
)

# MCN contracts with an ROI guarantee (对赌): the fee waits in escrow until every order of the
# period has passed its return window; the platform then computes ROI on net sales and pays the
# fee to the agency, or part of it and the rest back to the shop (`outcome`: the computation).
mcn_contracts = Table(
    "mcn_contracts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", BigId, ForeignKey("shops.id"), nullable=False),
    Column("agency_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("anchor_id", BigId, nullable=True),  # only this anchor's sessions; None: all
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("guaranteed_roi_bp", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # funded | settled
    Column("provider", String(32), nullable=False),
    Column("provider_ref", String(128), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("created_by", BigId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime, nullable=True),
    Column("outcome", JSON, nullable=True),
    UniqueConstraint("shop_id", "idempotency_key"),
    Index("ix_mcn_contracts_agency", "agency_id"),
)

# An anchor's or MCN agency's payout of what the platform owes them (`party:{user}:payable`),
# through the payment provider; reserved on their account like a shop's payout.
party_payouts = _money_movement("party_payouts", "party_id")

# A shop taking part or all of its deposit (保证金) back (docs/money.md, "Deposits").
deposit_withdrawals = _money_movement("deposit_withdrawals", "shop_id")
