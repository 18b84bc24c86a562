"""ledger read paths (docs/money.md)

Revision ID: 0021_ledger_index
Revises: 0020_record_nodes
"""

revision = "0021_ledger_index"
down_revision = "0020_record_nodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
