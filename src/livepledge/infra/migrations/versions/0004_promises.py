"""the promise ledger

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promises",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("scope_type", sa.String(length=16), nullable=False),
        sa.Column("scope_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", BIG_ID, nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declared_by", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["declared_by"], ["users.id"],
                                name=op.f("fk_promises_declared_by_users")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_promises_shop_id_shops")),
        sa.ForeignKeyConstraint(["supersedes_id"], ["promises.id"],
                                name=op.f("fk_promises_supersedes_id_promises")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
    )
    op.create_index("ix_promises_scope", "promises", ["scope_type", "scope_id"])
    op.create_index("ix_promises_shop", "promises", ["shop_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_promises_shop", table_name="promises")
    op.drop_index("ix_promises_scope", table_name="promises")
    op.drop_table("promises")
