"""Thread replies written as notes are recorded before Redmine has them, so the feed never posts them back
however slow Redmine is; an outbox row says whether its channel must not be public when it is delivered.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_echoes",
        sa.Column("channel_id", sa.String(26), primary_key=True),
        sa.Column("issue_id", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.String(26), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sensitive")
    op.drop_table("thread_echoes")
