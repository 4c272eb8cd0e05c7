"""Tickets a person muted (`mute #N`): no more DMs about them for that person.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "muted_tickets",
        sa.Column("chat_user_id", sa.String(26), primary_key=True),
        sa.Column("issue_id", sa.Integer, primary_key=True),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("muted_tickets")
