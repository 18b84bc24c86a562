"""fan-group feed: posts, reactions and comments; points spent on coupons (docs/fans.md)

Revision ID: 0018_feed
Revises: 0017_campaigns
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

revision = "0018_feed"
down_revision = "0017_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coupons") as batch:
        batch.add_column(sa.Column("points_price", sa.Integer(), nullable=True))
    op.create_table(
        "fan_posts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("author_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("coupon_id", BIG_ID, nullable=True),
        sa.Column("session_id", BIG_ID, nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_fan_posts_shop_id_shops")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_fan_posts_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_posts")),
    )
    op.create_index("ix_fan_posts_shop", "fan_posts", ["shop_id", "id"])
    op.create_table(
        "fan_post_reactions",
        sa.Column("post_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["fan_posts.id"],
                                name=op.f("fk_fan_post_reactions_post_id_fan_posts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_fan_post_reactions_user_id_users")),
        sa.PrimaryKeyConstraint("post_id", "user_id", "kind",
                                name=op.f("pk_fan_post_reactions")),
    )
    op.create_table(
        "fan_post_comments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("post_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("body", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("from_shop", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["fan_posts.id"],
                                name=op.f("fk_fan_post_comments_post_id_fan_posts")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"],
                                name=op.f("fk_fan_post_comments_shop_id_shops")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_fan_post_comments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_post_comments")),
    )
    op.create_index("ix_fan_post_comments_post", "fan_post_comments", ["post_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_fan_post_comments_post", table_name="fan_post_comments")
    op.drop_table("fan_post_comments")
    op.drop_table("fan_post_reactions")
    op.drop_index("ix_fan_posts_shop", table_name="fan_posts")
    op.drop_table("fan_posts")
    with op.batch_alter_table("coupons") as batch:
        batch.drop_column("points_price")
