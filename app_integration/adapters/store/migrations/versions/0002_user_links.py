"""User links keyed by the Mattermost user id, and who used the bridge without one.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_links",
        sa.Column("chat_user_id", sa.String(26), primary_key=True),
        sa.Column("redmine_user_id", sa.Integer(), nullable=False, index=True),
        sa.Column("redmine_login", sa.String(255), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("map_username", sa.String(64), nullable=True, unique=True),
        sa.Column("sealed_key", sa.Text(), nullable=True),
    )
    op.create_table(
        "unlinked_users",
        sa.Column("chat_user_id", sa.String(26), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unlinked_users")
    op.drop_table("user_links")
