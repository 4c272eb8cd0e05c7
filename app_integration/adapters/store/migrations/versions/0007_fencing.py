"""The lead's fencing epoch, and the posts the listener has handled.

Each takeover raises a lead's epoch; a side effect is recorded only while its epoch is
still the lead's, so neither a frozen old leader nor a takeover's backfill acts twice.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_terms",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "handled_posts",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, index=True),
        # A post's create_at (ms): the newest one handled is where a new connection's backfill starts.
        sa.Column("post_at", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("handled_posts")
    op.drop_table("lead_terms")
