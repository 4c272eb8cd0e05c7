"""The morning digest: what each person's last one was made from, and whether they want it on weekends.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification_prefs", sa.Column("weekends", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "digest_state",
        sa.Column("chat_user_id", sa.String(26), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned", sa.Text(), nullable=False),
        sa.Column("due", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_state")
    with op.batch_alter_table("notification_prefs") as batch:
        batch.drop_column("weekends")
