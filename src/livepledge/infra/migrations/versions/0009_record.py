"""The session record: an append-only Merkle log per live session, its signed checkpoints and
the self-audit's alerts (docs/record.md)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _session_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                   name=op.f(f"fk_{table}_session_id_live_sessions"))


def upgrade() -> None:
    op.create_table(
        "record_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _session_fk("record_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_entries")),
        sa.UniqueConstraint("session_id", "idx", name=op.f("uq_record_entries_session_id_idx")),
        sa.UniqueConstraint("session_id", "event_id", name=op.f("uq_record_entries_session_id_event_id")),
    )
    op.create_index("ix_record_entries_order", "record_entries", ["order_id"])
    op.create_index("ix_record_entries_session_type", "record_entries",
                    ["session_id", "type", "idx"])
    op.create_table(
        "record_nodes",
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        _session_fk("record_nodes"),
        sa.PrimaryKeyConstraint("session_id", "level", "idx", name=op.f("pk_record_nodes")),
    )
    op.create_table(
        "record_heads",
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("checkpointed_size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _session_fk("record_heads"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_record_heads")),
    )
    op.create_table(
        "record_checkpoints",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _session_fk("record_checkpoints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_checkpoints")),
        sa.UniqueConstraint("session_id", "size", name=op.f("uq_record_checkpoints_session_id_size")),
    )
    op.create_table(
        "record_alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        _session_fk("record_alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_alerts")),
    )


def downgrade() -> None:
    op.drop_table("record_alerts")
    op.drop_table("record_checkpoints")
    op.drop_table("record_heads")
    op.drop_table("record_nodes")
    op.drop_index("ix_record_entries_session_type", table_name="record_entries")
    op.drop_index("ix_record_entries_order", table_name="record_entries")
    op.drop_table("record_entries")
