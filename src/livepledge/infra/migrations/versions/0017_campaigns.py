"""campaigns to a fan segment and their messages (docs/fans.md, "Campaigns")

Revision ID: 0017_campaigns
Revises: 0016_agreements
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

revision = "0017_campaigns"
down_revision = "0016_agreements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("segment_id", BIG_ID, nullable=False),
        sa.Column("segment_filter", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("coupon_id", BIG_ID, nullable=True),
        sa.Column("send_at", TIME, nullable=True),
        sa.Column("on_session_id", BIG_ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("audience", sa.Integer(), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=True),
        sa.Column("skipped_opted_out", sa.Integer(), nullable=True),
        sa.Column("skipped_capped", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_campaigns_shop_id_shops")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_campaigns_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_shop", "campaigns", ["shop_id", "id"])
    op.create_index("ix_campaigns_session", "campaigns", ["on_session_id"])
    op.create_table(
        "campaign_messages",
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("delivered_at", TIME, nullable=False),
        sa.Column("opened_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_campaign_messages_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_campaign_messages_user_id_users")),
        sa.PrimaryKeyConstraint("campaign_id", "user_id", name=op.f("pk_campaign_messages")),
    )
    op.create_index("ix_campaign_messages_fan", "campaign_messages",
                    ["shop_id", "user_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_campaign_messages_fan", table_name="campaign_messages")
    op.drop_table("campaign_messages")
    op.drop_index("ix_campaigns_session", table_name="campaigns")
    op.drop_index("ix_campaigns_shop", table_name="campaigns")
    op.drop_table("campaigns")
