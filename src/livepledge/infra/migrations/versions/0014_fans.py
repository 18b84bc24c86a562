"""fan clubs, affinity, check-ins, points and segments (docs/fans.md)

Revision ID: 0014_fans
Revises: 0013_coupons
"""

import sqlalchemy as sa
from alembic import op  # noqa: F401

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0014_fans"
down_revision = "0013_coupons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
