"""payouts to anchors and agencies, deposit withdrawals (docs/money.md)

Revision ID: 0019_payouts
Revises: 0018_feed
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0019_payouts"
down_revision = "0018_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
