"""What a channel's admins chose for it: the project its forms start with, and how its `#t` links are made.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_defaults",
        sa.Column("channel_id", sa.String(26), primary_key=True),
        sa.Column("project", sa.String(100), nullable=True),
        sa.Column("link_mode", sa.String(10), nullable=True),
        sa.Column("updated_by", sa.String(26), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_defaults")
