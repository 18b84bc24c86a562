"""预约: a buyer's reservation of a scheduled session (told in the notice inbox when it goes live)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_reservations",
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_session_reservations_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_session_reservations_user_id_users")),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_reservations")),
    )
    op.create_index("ix_session_reservations_user", "session_reservations",
                    ["user_id", "session_id"])


def downgrade() -> None:
    op.drop_index("ix_session_reservations_user", table_name="session_reservations")
    op.drop_table("session_reservations")
