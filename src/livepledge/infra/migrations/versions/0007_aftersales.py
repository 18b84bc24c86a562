"""after-sales cases and their record; returned units on orders

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("promise_id", BIG_ID, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("offered_amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("awarded", sa.BigInteger(), nullable=False),
        sa.Column("return_address", sa.JSON(), nullable=True),
        sa.Column("return_carrier", sa.String(length=64), nullable=True),
        sa.Column("return_tracking", sa.String(length=64), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_cases_buyer_id_users")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_cases_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_cases_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("ix_cases_shop", "cases", ["shop_id", "status", "deadline_at"])
    op.create_index("ix_cases_order", "cases", ["order_id"])
    op.create_index("ux_cases_one_open", "cases", ["order_id"], unique=True,
                    sqlite_where=sa.text("status != 'closed'"),
                    postgresql_where=sa.text("status != 'closed'"))
    op.create_table(
        "case_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("actor_id", BIG_ID, nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_entries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_entries")),
    )
    op.create_index("ix_case_entries_case", "case_entries", ["case_id", "id"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("returned_quantity", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("returned_quantity")
    op.drop_index("ix_case_entries_case", table_name="case_entries")
    op.drop_table("case_entries")
    op.drop_index("ux_cases_one_open", table_name="cases")
    op.drop_index("ix_cases_order", table_name="cases")
    op.drop_index("ix_cases_shop", table_name="cases")
    op.drop_table("cases")
