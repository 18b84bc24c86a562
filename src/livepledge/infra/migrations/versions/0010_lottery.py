"""福袋/抽奖: lotteries (commit–reveal), their entries and winners

Revision ID: 0010_lottery
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

revision = "0010_lottery"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lotteries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("prize_sku_id", BIG_ID, nullable=False),
        sa.Column("prize_quantity", sa.Integer(), nullable=False),
        sa.Column("winners_count", sa.Integer(), nullable=False),
        sa.Column("stock_reserved", sa.Integer(), nullable=False),
        sa.Column("opens_at", TIME, nullable=False),
        sa.Column("closes_at", TIME, nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("ship_within_hours", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("commitment", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("entry_root", sa.String(64), nullable=True),
        sa.Column("revealed_seed", sa.String(64), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("drawn_at", TIME, nullable=True),
        sa.Column("prizes_placed_at", TIME, nullable=True),
        sa.CheckConstraint("winners_count >= 1", name=op.f("ck_lotteries_winners_positive")),
        sa.CheckConstraint("prize_quantity >= 1",
                           name=op.f("ck_lotteries_prize_quantity_positive")),
        sa.CheckConstraint("closes_at > opens_at", name=op.f("ck_lotteries_window_ordered")),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_lotteries_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_lotteries_shop_id_shops")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_lotteries_created_by_users")),
        sa.ForeignKeyConstraint(["prize_sku_id"], ["skus.id"],
                                name=op.f("fk_lotteries_prize_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lotteries")),
    )
    op.create_index("ix_lotteries_session", "lotteries", ["session_id", "id"])
    op.create_table(
        "lottery_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("lottery_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("entrant_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["lottery_id"], ["lotteries.id"],
                                name=op.f("fk_lottery_entries_lottery_id_lotteries")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"],
                                name=op.f("fk_lottery_entries_buyer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_entries")),
        sa.UniqueConstraint("lottery_id", "buyer_id",
                            name=op.f("uq_lottery_entries_lottery_id_buyer_id")),
        sa.UniqueConstraint("lottery_id", "position",
                            name=op.f("uq_lottery_entries_lottery_id_position")),
    )
    op.create_table(
        "lottery_winners",
        sa.Column("lottery_id", BIG_ID, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("entrant_hash", sa.String(64), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["lottery_id"], ["lotteries.id"],
                                name=op.f("fk_lottery_winners_lottery_id_lotteries")),
        sa.ForeignKeyConstraint(["entry_id"], ["lottery_entries.id"],
                                name=op.f("fk_lottery_winners_entry_id_lottery_entries")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"],
                                name=op.f("fk_lottery_winners_buyer_id_users")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_lottery_winners_order_id_orders")),
        sa.PrimaryKeyConstraint("lottery_id", "rank", name=op.f("pk_lottery_winners")),
        sa.UniqueConstraint("lottery_id", "entry_id",
                            name=op.f("uq_lottery_winners_lottery_id_entry_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_lottery_winners_order_id")),
    )


def downgrade() -> None:
    op.drop_table("lottery_winners")
    op.drop_table("lottery_entries")
    op.drop_index("ix_lotteries_session", table_name="lotteries")
    op.drop_table("lotteries")
