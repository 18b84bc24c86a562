"""session record storage (docs/record.md)

Revision ID: 0020_record_nodes
Revises: 0019_payouts
"""

revision = "0020_record_nodes"
down_revision = "0019_payouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
