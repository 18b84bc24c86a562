"""coupons, claims and red packets (docs/fans.md)

Revision ID: 0013_coupons
Revises: 0012_ledger
"""

import sqlalchemy as sa
from alembic import op  # noqa: F401

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0013_coupons"
down_revision = "0012_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
