"""webhook endpoints and deliveries (docs/fans.md)

Revision ID: 0015_webhooks
Revises: 0014_fans
"""

import sqlalchemy as sa
from alembic import op  # noqa: F401

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0015_webhooks"
down_revision = "0014_fans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
