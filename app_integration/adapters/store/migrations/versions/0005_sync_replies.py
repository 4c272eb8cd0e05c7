"""A subscription may turn replies in its tickets' threads into Redmine notes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("sync_replies", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("issue_threads_root", "issue_threads", ["channel_id", "root_post_id"])


def downgrade() -> None:
    op.drop_index("issue_threads_root", "issue_threads")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("sync_replies")
