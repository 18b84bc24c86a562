"""shipping addresses; an order's frozen copy of its address; product images; one live room
per anchor

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    both_live = op.get_bind().execute(sa.text(
        "SELECT anchor_id, COUNT(*) FROM live_sessions WHERE status = 'live' "
        "GROUP BY anchor_id HAVING COUNT(*) > 1")).fetchall()
    if both_live:
        anchors = ", ".join(str(row[0]) for row in both_live)
        raise RuntimeError(
            f"anchors {anchors} are live in more than one session; end the extra sessions "
            "(livepledge's API: POST /api/v1/sessions/{id}/end), then migrate again")
    op.create_index("ux_live_sessions_anchor_live", "live_sessions", ["anchor_id"], unique=True,
                    sqlite_where=sa.text("status = 'live'"),
                    postgresql_where=sa.text("status = 'live'"))
    op.create_table(
        "addresses",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("province", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_addresses_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    op.create_index("ix_addresses_user", "addresses", ["user_id", "id"])
    op.create_index("ux_addresses_one_default", "addresses", ["user_id"], unique=True,
                    sqlite_where=sa.text("is_default AND archived_at IS NULL"),
                    postgresql_where=sa.text("is_default AND archived_at IS NULL"))
    op.create_table(
        "product_images",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("product_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("large_key", sa.String(length=80), nullable=False),
        sa.Column("thumb_key", sa.String(length=80), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_product_images_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
    )
    op.create_index("ix_product_images_product", "product_images", ["product_id", "position"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipping_address", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("address_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_index("ux_live_sessions_anchor_live", table_name="live_sessions")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("address_set_at")
        batch.drop_column("shipping_address")
    op.drop_index("ix_product_images_product", table_name="product_images")
    op.drop_table("product_images")
    op.drop_index("ux_addresses_one_default", table_name="addresses")
    op.drop_index("ix_addresses_user", table_name="addresses")
    op.drop_table("addresses")
