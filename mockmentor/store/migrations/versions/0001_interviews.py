"""Sessions, turns and ratings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("candidate_digest", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("difficulty", sa.String(16), nullable=False),
        sa.Column("job_description", sa.Text),
        sa.Column("question_ids", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("question_id", sa.String(128)),
        sa.Column("question", sa.Text),
        sa.Column("answer_source", sa.String(8)),
        sa.Column("transcript", sa.Text),
        sa.Column("analytics", sa.JSON),
        sa.Column("score", sa.Float),
        sa.Column("score_low", sa.Float),
        sa.Column("score_high", sa.Float),
        sa.Column("covered", sa.JSON),
        sa.Column("missed", sa.JSON),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("reply_source", sa.String(16), nullable=False),
        sa.Column("next_question_id", sa.String(128)),
        sa.Column("next_question", sa.Text),
        sa.Column("prompt", sa.JSON, nullable=False),
        sa.Column("model_versions", sa.JSON, nullable=False),
        sa.Column("timings_ms", sa.JSON, nullable=False),
        sa.Column("audio_path", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("session_id", "position"),
    )
    op.create_table(
        "ratings",
        sa.Column("turn_id", sa.String(32), sa.ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("candidate_score", sa.Float),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("turns")
    op.drop_table("sessions")
