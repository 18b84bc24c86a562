"""pre-live script checks, transcript segments, on-air corrections

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_checks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("submitted_by", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("violation", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_script_checks_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"],
                                name=op.f("fk_script_checks_submitted_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_checks")),
    )
    op.create_index("ix_script_checks_session", "script_checks", ["session_id", "id"])
    op.create_table(
        "transcript_segments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", BIG_ID, nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("violation", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_transcript_segments_session_id_live_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_segments")),
    )
    op.create_index("ix_transcript_session", "transcript_segments", ["session_id", "id"])
    op.create_table(
        "corrections",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("segment_id", BIG_ID, nullable=True),
        sa.Column("recorded_by", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_corrections_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["segment_id"], ["transcript_segments.id"],
                                name=op.f("fk_corrections_segment_id_transcript_segments")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"],
                                name=op.f("fk_corrections_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index("ix_corrections_session", "corrections", ["session_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_corrections_session", table_name="corrections")
    op.drop_table("corrections")
    op.drop_index("ix_transcript_session", table_name="transcript_segments")
    op.drop_table("transcript_segments")
    op.drop_index("ix_script_checks_session", table_name="script_checks")
    op.drop_table("script_checks")
