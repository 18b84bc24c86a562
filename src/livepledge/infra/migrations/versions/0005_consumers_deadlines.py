"""event consumers (the events' transaction id, checkpoints), durable deadlines, notices

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("tx", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Events written before this migration all come from ended transactions: they sort
        # first, in id order.
        op.execute("UPDATE events SET tx = 0")
    op.create_index("ix_events_tx", "events", ["tx", "id"])
    op.create_table(
        "consumer_checkpoints",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_tx", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("handled", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_consumer_checkpoints")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_deadlines_kind_ref_id")),
    )
    op.create_index("ix_deadlines_due", "deadlines", ["fired_at", "cancelled_at", "due_at"])
    op.create_table(
        "notices",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("dedupe", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("user_id", "dedupe", name=op.f("uq_notices_user_id_dedupe")),
    )
    op.create_index("ix_notices_user", "notices", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notices_user", table_name="notices")
    op.drop_table("notices")
    op.drop_index("ix_deadlines_due", table_name="deadlines")
    op.drop_table("deadlines")
    op.drop_table("consumer_checkpoints")
    op.drop_index("ix_events_tx", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("tx")
