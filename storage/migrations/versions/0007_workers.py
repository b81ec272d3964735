"""workers: a heartbeat the health check writes, and the flood limit's shared token buckets

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
        "heartbeats",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    op.create_table(
        "flood_buckets",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_flood_buckets")),
    )
    op.create_index(op.f("ix_flood_buckets_stamp"), "flood_buckets", ["stamp"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_flood_buckets_stamp"), table_name="flood_buckets")
    op.drop_table("flood_buckets")
    op.drop_table("heartbeats")
