"""fan-group feed: posts, reactions and comments; points spent on coupons (docs/fans.md)

Revision ID: 0018_feed
Revises: 0017_campaigns
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0018_feed"
down_revision = "0017_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
