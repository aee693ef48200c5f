"""A turn whose answer did not address the question is marked, so nothing trains on it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:  # SQLite needs the batch form to add a column
        batch.add_column(sa.Column("off_topic", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("off_topic")
