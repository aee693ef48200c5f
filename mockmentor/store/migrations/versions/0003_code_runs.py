"""A coding-round turn keeps the candidate's code and what the sandbox made of it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:  # SQLite needs the batch form to add a column
        batch.add_column(sa.Column("code", sa.Text, nullable=True))
        batch.add_column(sa.Column("code_run", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("code_run")
        batch.drop_column("code")
