"""Redmine accounts the feed had to skip (locked or missing): shown in `subscriptions` and `check`.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skipped_accounts",
        sa.Column("login", sa.String(255), primary_key=True),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("skipped_accounts")
