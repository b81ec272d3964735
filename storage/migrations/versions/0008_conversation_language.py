"""conversation language and answer feedback

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detected_language", sa.String(2), nullable=True))
        batch_op.add_column(sa.Column("last_answer", sa.JSON(), nullable=True))
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("looking_for", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_answer_feedback_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_feedback")),
    )
    op.create_index("ix_answer_feedback_topic_at", "answer_feedback", ["topic", "at"])
    op.create_index(op.f("ix_answer_feedback_user_id"), "answer_feedback", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_answer_feedback_user_id"), table_name="answer_feedback")
    op.drop_index("ix_answer_feedback_topic_at", table_name="answer_feedback")
    op.drop_table("answer_feedback")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_answer")
        batch_op.drop_column("detected_language")
