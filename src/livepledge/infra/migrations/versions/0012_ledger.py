"""the money ledger: accounts, append-only transactions and postings, per-order money, payouts,
deposit top-ups (docs/money.md)

Revision ID: 0012_ledger
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0012_ledger"
down_revision = "0011_aftersales_more"
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_transactions", "ledger_postings")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_index("ix_ledger_accounts_shop", "ledger_accounts", ["shop_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=True),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverses_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["reverses_id"], ["ledger_transactions.id"],
                                name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ledger_transactions_event_id")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("transaction_id", BIG_ID, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=True),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_ledger_postings_transaction_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_postings_account_id_ledger_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("event_id", "seq", name=op.f("uq_ledger_postings_event_id_seq")),
    )
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["account_id", "occurred_at"])
    op.create_index("ix_ledger_postings_shop", "ledger_postings", ["shop_id", "occurred_at"])
    op.create_table(
        "ledger_orders",
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("released_base", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("refunded_after", sa.BigInteger(), nullable=False),
        sa.Column("commission_reversed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_ledger_orders")),
    )
    for table in ("payouts", "deposit_top_ups"):
        op.create_table(
            table,
            sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
            sa.Column("shop_id", BIG_ID, nullable=False),
            sa.Column("amount", sa.BigInteger(), nullable=False),
            sa.Column("provider", sa.String(length=32), nullable=False),
            sa.Column("provider_ref", sa.String(length=128), nullable=False),
            sa.Column("idempotency_key", sa.String(length=128), nullable=False),
            sa.Column("requested_by", BIG_ID, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                    name=op.f(f"fk_{table}_shop_id_shops")),
            sa.ForeignKeyConstraint(["requested_by"], ["users.id"],
                                    name=op.f(f"fk_{table}_requested_by_users")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("shop_id", "idempotency_key",
                                name=op.f(f"uq_{table}_shop_id_idempotency_key")),
        )
    _append_only()


def _append_only() -> None:
    """Postings and transactions are never edited or deleted: corrections are new, reversing
    transactions (docs/money.md)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    else:
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    op.drop_table("deposit_top_ups")
    op.drop_table("payouts")
    op.drop_table("ledger_orders")
    op.drop_index("ix_ledger_postings_shop", table_name="ledger_postings")
    op.drop_index("ix_ledger_postings_account", table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_transactions")
    op.drop_index("ix_ledger_accounts_shop", table_name="ledger_accounts")
    op.drop_table("ledger_accounts")
