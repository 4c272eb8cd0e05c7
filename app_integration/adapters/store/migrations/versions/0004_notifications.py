"""Channel subscriptions, one thread root per issue and channel, personal toggles, and the outbox.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(26), nullable=False, index=True),
        sa.Column("owner_id", sa.String(26), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("project_name", sa.String(255), nullable=False),
        sa.Column("events", sa.String(255), nullable=False),
        sa.Column("with_subprojects", sa.Boolean(), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=True),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("open_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "issue_threads",
        sa.Column("channel_id", sa.String(26), primary_key=True),
        sa.Column("issue_id", sa.Integer(), primary_key=True),
        sa.Column("root_post_id", sa.String(26), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("event_key", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(255), nullable=True),
    )
    op.create_index("outbox_due", "outbox", ["state", "next_at"])
    op.create_table(
        "notification_prefs",
        sa.Column("chat_user_id", sa.String(26), primary_key=True),
        sa.Column("off", sa.String(255), nullable=False),
        sa.Column("reminder_time", sa.String(5), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_prefs")
    op.drop_index("outbox_due", "outbox")
    op.drop_table("outbox")
    op.drop_table("issue_threads")
    op.drop_table("subscriptions")
