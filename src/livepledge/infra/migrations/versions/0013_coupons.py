"""coupons, claims and red packets (docs/fans.md)

Revision ID: 0013_coupons
Revises: 0012_ledger
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0013_coupons"
down_revision = "0012_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("cap", sa.BigInteger(), nullable=True),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("per_buyer_limit", sa.Integer(), nullable=False),
        sa.Column("claim_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("min_fan_level", sa.Integer(), nullable=True),
        sa.Column("segment_id", BIG_ID, nullable=True),
        sa.Column("stackable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= budget",
                           name=op.f("ck_coupons_remaining_in_budget")),
        sa.CheckConstraint("budget > 0", name=op.f("ck_coupons_budget_positive")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_coupons_shop_id_shops")),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_coupons_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_coupons_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
    )
    op.create_index("ix_coupons_shop", "coupons", ["shop_id", "id"])
    op.create_index("ix_coupons_session", "coupons", ["session_id"])
    op.create_table(
        "coupon_claims",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("coupon_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=True),
        sa.Column("discount", sa.BigInteger(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"],
                                name=op.f("fk_coupon_claims_coupon_id_coupons")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"],
                                name=op.f("fk_coupon_claims_buyer_id_users")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_coupon_claims_shop_id_shops")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_coupon_claims_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_claims")),
        sa.UniqueConstraint("buyer_id", "idempotency_key",
                            name=op.f("uq_coupon_claims_buyer_id_idempotency_key")),
    )
    op.create_index("ix_coupon_claims_coupon", "coupon_claims", ["coupon_id"])
    op.create_index("ix_coupon_claims_buyer", "coupon_claims", ["buyer_id", "shop_id", "status"])
    op.create_index("ix_coupon_claims_order", "coupon_claims", ["order_id"])
    op.create_table(
        "coupon_buyer_counts",
        sa.Column("coupon_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.CheckConstraint("claimed >= 0", name=op.f("ck_coupon_buyer_counts_claimed_nonnegative")),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"],
                                name=op.f("fk_coupon_buyer_counts_coupon_id_coupons")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"],
                                name=op.f("fk_coupon_buyer_counts_buyer_id_users")),
        sa.PrimaryKeyConstraint("coupon_id", "buyer_id", name=op.f("pk_coupon_buyer_counts")),
    )

    op.create_table(
        "red_packets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("session_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("coupon_id", BIG_ID, nullable=True),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=8), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("amounts", sa.JSON(), nullable=False),
        sa.Column("grabbed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("funding_ref", sa.String(length=128), nullable=False),
        sa.Column("returned_amount", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.CheckConstraint("grabbed >= 0 AND grabbed <= shares",
                           name=op.f("ck_red_packets_grabbed_in_shares")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_red_packets_shop_id_shops")),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_red_packets_session_id_live_sessions")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_red_packets_created_by_users")),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"],
                                name=op.f("fk_red_packets_coupon_id_coupons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_packets")),
        sa.UniqueConstraint("shop_id", "idempotency_key",
                            name=op.f("uq_red_packets_shop_id_idempotency_key")),
    )
    op.create_index("ix_red_packets_session", "red_packets", ["session_id", "id"])
    op.create_table(
        "red_packet_grabs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("red_packet_id", BIG_ID, nullable=False),
        sa.Column("buyer_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", BIG_ID, nullable=True),
        sa.Column("grabbed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payout_ref", sa.String(length=128), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["red_packet_id"], ["red_packets.id"],
                                name=op.f("fk_red_packet_grabs_red_packet_id_red_packets")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"],
                                name=op.f("fk_red_packet_grabs_buyer_id_users")),
        sa.ForeignKeyConstraint(["claim_id"], ["coupon_claims.id"],
                                name=op.f("fk_red_packet_grabs_claim_id_coupon_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_packet_grabs")),
        sa.UniqueConstraint("red_packet_id", "buyer_id",
                            name=op.f("uq_red_packet_grabs_red_packet_id_buyer_id")),
        sa.UniqueConstraint("red_packet_id", "position",
                            name=op.f("uq_red_packet_grabs_red_packet_id_position")),
    )


def downgrade() -> None:
    op.drop_table("red_packet_grabs")
    op.drop_index("ix_red_packets_session", table_name="red_packets")
    op.drop_table("red_packets")
    op.drop_table("coupon_buyer_counts")
    op.drop_index("ix_coupon_claims_order", table_name="coupon_claims")
    op.drop_index("ix_coupon_claims_buyer", table_name="coupon_claims")
    op.drop_index("ix_coupon_claims_coupon", table_name="coupon_claims")
    op.drop_table("coupon_claims")
    op.drop_index("ix_coupons_session", table_name="coupons")
    op.drop_index("ix_coupons_shop", table_name="coupons")
    op.drop_table("coupons")
