"""Initial schema: directory, users, officers, handled updates, unanswered questions.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import csv
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
CSV = Path(__file__).resolve().parents[2] / "data" / "comunas.csv"


def upgrade() -> None:
    regions = op.create_table(
        "regions",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_regions"),
    )
    comunas = op.create_table(
        "comunas",
        sa.Column("cut", sa.String(5), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("adhered_since", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("cut", name="pk_comunas"),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name="fk_comunas_region_code_regions"
        ),
    )
    op.create_index("ix_comunas_region_code", "comunas", ["region_code"])
    op.create_table(
        "users",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("client_language", sa.String(2), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("comuna_cut", sa.String(5), nullable=True),
        sa.Column("region_code", sa.String(2), nullable=True),
        sa.Column("flow", sa.String(32), nullable=True),
        sa.Column("flow_step", sa.String(32), nullable=True),
        sa.Column("flow_data", sa.JSON(), nullable=True),
        sa.Column("flow_updated_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("channel", "external_id", name="uq_users_channel"),
        sa.ForeignKeyConstraint(
            ["comuna_cut"], ["comunas.cut"], name="fk_users_comuna_cut_comunas"
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name="fk_users_region_code_regions"
        ),
    )
    op.create_table(
        "officers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("region_code", sa.String(2), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("telegram_id", sa.String(32), nullable=True),
        sa.Column("whatsapp", sa.String(32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
        sa.UniqueConstraint("telegram_id", name="uq_officers_telegram_id"),
        sa.UniqueConstraint("whatsapp", name="uq_officers_whatsapp"),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name="fk_officers_region_code_regions"
        ),
    )
    op.create_index("ix_officers_region_code", "officers", ["region_code"])
    op.create_table(
        "handled_updates",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_key", sa.String(128), nullable=False),
        sa.Column("handled_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_key", name="pk_handled_updates"),
    )
    op.create_index("ix_handled_updates_handled_at", "handled_updates", ["handled_at"])
    op.create_table(
        "unanswered_questions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("best_topic", sa.String(64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("asked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unanswered_questions"),
    )
    op.create_index("ix_unanswered_questions_asked_at", "unanswered_questions", ["asked_at"])
    _seed_directory(regions, comunas)


def _seed_directory(regions: sa.Table, comunas: sa.Table) -> None:
    with CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(row["region_code"], row["region_name"])
    op.bulk_insert(regions, [{"code": c, "name": n} for c, n in sorted(seen.items())])
    op.bulk_insert(
        comunas,
        [{"cut": r["cut"], "name": r["comuna"], "region_code": r["region_code"]} for r in rows],
    )


def downgrade() -> None:
    for table in (
        "unanswered_questions",
        "handled_updates",
        "officers",
        "users",
        "comunas",
        "regions",
    ):
        op.drop_table(table)
