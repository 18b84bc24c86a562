"""refund reasons (price protection, compensation); the shop's cancellation reason code;
cooling-off (a buyer's setting, an order's end time); orders by SKU

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("related", sa.JSON(), nullable=True))
    op.execute("UPDATE payments SET reason = 'order_cancelled' WHERE amount < 0")
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("cancel_code", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("cooling_off_until", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("cooling_off_minutes", sa.Integer(), nullable=True))
    op.create_index("ix_orders_sku", "orders", ["sku_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_orders_sku", table_name="orders")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("cooling_off_minutes")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cooling_off_until")
        batch.drop_column("cancel_code")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("related")
        batch.drop_column("reason")
