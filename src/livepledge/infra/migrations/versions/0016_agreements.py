"""anchors' and MCN agencies' agreements (commission, slot fee), MCN contracts with an ROI
guarantee, and the parties' commissions on each order in the ledger (docs/money.md)

Revision ID: 0016_agreements
Revises: 0015_webhooks
"""

import sqlalchemy as sa
from alembic import op


BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0016_agreements"
down_revision = "0015_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_orders") as batch:
        batch.add_column(sa.Column("parties", sa.JSON(), nullable=True))
    op.create_table(
        "agreements",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("party_id", BIG_ID, nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("anchor_id", BIG_ID, nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("slot_fee", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_agreements_shop_id_shops")),
        sa.ForeignKeyConstraint(["party_id"], ["users.id"],
                                name=op.f("fk_agreements_party_id_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_agreements_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("shop_id", "idempotency_key",
                            name=op.f("uq_agreements_shop_id_idempotency_key")),
    )
    op.create_index("ix_agreements_shop_session", "agreements", ["shop_id", "session_id"])
    op.create_index("ix_agreements_party", "agreements", ["party_id"])
    op.create_table(
        "mcn_contracts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("agency_id", BIG_ID, nullable=False),
        sa.Column("anchor_id", BIG_ID, nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("guaranteed_roi_bp", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_mcn_contracts_shop_id_shops")),
        sa.ForeignKeyConstraint(["agency_id"], ["users.id"],
                                name=op.f("fk_mcn_contracts_agency_id_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_mcn_contracts_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcn_contracts")),
        sa.UniqueConstraint("shop_id", "idempotency_key",
                            name=op.f("uq_mcn_contracts_shop_id_idempotency_key")),
    )
    op.create_index("ix_mcn_contracts_agency", "mcn_contracts", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_mcn_contracts_agency", table_name="mcn_contracts")
    op.drop_table("mcn_contracts")
    op.drop_index("ix_agreements_party", table_name="agreements")
    op.drop_index("ix_agreements_shop_session", table_name="agreements")
    op.drop_table("agreements")
    with op.batch_alter_table("ledger_orders") as batch:
        batch.drop_column("parties")
