"""fan clubs, affinity, check-ins, points and segments (docs/fans.md)

Revision ID: 0014_fans
Revises: 0013_coupons
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0014_fans"
down_revision = "0013_coupons"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"],
                                   name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "fan_club_settings",
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", BIG_ID, nullable=False),
        _fk("fan_club_settings", "shop_id", "shops"),
        _fk("fan_club_settings", "updated_by", "users"),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_fan_club_settings")),
    )
    op.create_table(
        "fan_members",
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("affinity", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("last_checkin", sa.Date(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("campaigns_opt_out", sa.Boolean(), nullable=False),
        _fk("fan_members", "shop_id", "shops"),
        _fk("fan_members", "user_id", "users"),
        sa.PrimaryKeyConstraint("shop_id", "user_id", name=op.f("pk_fan_members")),
    )
    op.create_index("ix_fan_members_user", "fan_members", ["user_id", "shop_id"])
    op.create_table(
        "affinity_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("affinity_entries", "shop_id", "shops"),
        _fk("affinity_entries", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affinity_entries")),
        sa.UniqueConstraint("shop_id", "user_id", "ref",
                            name=op.f("uq_affinity_entries_shop_id_user_id_ref")),
    )
    op.create_index("ix_affinity_entries_day", "affinity_entries",
                    ["shop_id", "user_id", "day", "source"])
    op.create_table(
        "point_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("point_entries", "shop_id", "shops"),
        _fk("point_entries", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_entries")),
        sa.UniqueConstraint("shop_id", "user_id", "ref",
                            name=op.f("uq_point_entries_shop_id_user_id_ref")),
    )
    op.create_index("ix_point_entries_fan", "point_entries", ["shop_id", "user_id", "id"])
    op.create_table(
        "fan_watch",
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("credited", sa.Integer(), nullable=False),
        sa.Column("last_minute", sa.BigInteger(), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        _fk("fan_watch", "session_id", "live_sessions"),
        _fk("fan_watch", "user_id", "users"),
        _fk("fan_watch", "shop_id", "shops"),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_fan_watch")),
    )
    op.create_index("ix_fan_watch_user", "fan_watch", ["user_id", "session_id"])
    op.create_table(
        "fan_orders",
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("affinity_granted", sa.Integer(), nullable=False),
        sa.Column("affinity_taken", sa.Integer(), nullable=False),
        sa.Column("points_granted", sa.BigInteger(), nullable=False),
        sa.Column("points_taken", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        _fk("fan_orders", "order_id", "orders"),
        _fk("fan_orders", "shop_id", "shops"),
        _fk("fan_orders", "user_id", "users"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_fan_orders")),
    )
    op.create_index("ix_fan_orders_fan", "fan_orders", ["shop_id", "user_id"])
    op.create_table(
        "fan_segments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("fan_segments", "shop_id", "shops"),
        _fk("fan_segments", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_segments")),
    )
    op.create_index("ix_fan_segments_shop", "fan_segments", ["shop_id", "id"])


def downgrade() -> None:
    for table in ("fan_segments", "fan_orders", "fan_watch", "point_entries", "affinity_entries", "fan_members",
                  "fan_club_settings"):
        op.drop_table(table)
