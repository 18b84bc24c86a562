"""售后 (more): the shop's declaration that the frozen gift shipped with the order

Revision ID: 0011_aftersales_more
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_aftersales_more"
down_revision = "0010_lottery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("gift_shipped", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("gift_shipped")
