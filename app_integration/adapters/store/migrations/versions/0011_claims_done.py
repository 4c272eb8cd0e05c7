"""A claim's lifecycle: claimed, then done. A claim not done after a short while (its process died between the
claim and the effect, or the effect failed for now) is taken again by a retry, a backfill or the next leader.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("handled_posts", sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    # What the earlier versions claimed, they acted on at once: done.
    op.execute("UPDATE handled_posts SET done_at = handled_at")


def downgrade() -> None:
    with op.batch_alter_table("handled_posts") as batch:
        batch.drop_column("done_at")
