"""payouts to anchors and agencies, deposit withdrawals (docs/money.md)

Revision ID: 0019_payouts
Revises: 0018_feed
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

revision = "0019_payouts"
down_revision = "0018_feed"
branch_labels = None
depends_on = None


def _money_columns() -> list[sa.Column]:
    return [sa.Column("amount", sa.BigInteger(), nullable=False),
            sa.Column("provider", sa.String(length=32), nullable=False),
            sa.Column("provider_ref", sa.String(length=128), nullable=False),
            sa.Column("idempotency_key", sa.String(length=128), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "party_payouts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("party_id", BIG_ID, nullable=False),
        *_money_columns(),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["users.id"],
                                name=op.f("fk_party_payouts_party_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_payouts")),
        sa.UniqueConstraint("party_id", "idempotency_key",
                            name=op.f("uq_party_payouts_party_id_idempotency_key")),
    )
    op.create_table(
        "deposit_withdrawals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        *_money_columns(),
        sa.Column("requested_by", BIG_ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_deposit_withdrawals_shop_id_shops")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"],
                                name=op.f("fk_deposit_withdrawals_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_withdrawals")),
        sa.UniqueConstraint("shop_id", "idempotency_key",
                            name=op.f("uq_deposit_withdrawals_shop_id_idempotency_key")),
    )


def downgrade() -> None:
    op.drop_table("deposit_withdrawals")
    op.drop_table("party_payouts")
