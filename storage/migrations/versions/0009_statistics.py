"""communal statistics (editions of the official figures) and the Sello directory's sources

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Loads the shipped edition (storage/data/estadisticas) and the comunas whose Sello status a
public source confirms (storage/data/sello_comunas.csv), as 0001 loads the comunas.
"""

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from storage.editions import SHIPPED, read_edition

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
SELLO_CSV = Path(__file__).resolve().parents[2] / "data" / "sello_comunas.csv"


def _edition_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["edition_id"],
        ["stat_editions.id"],
        name=f"fk_{table}_edition_id_stat_editions",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    editions = op.create_table(
        "stat_editions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("reference", sa.Date(), nullable=False),
        sa.Column("published", sa.String(40), nullable=True),
        sa.Column("estimate_source", sa.String(300), nullable=False),
        sa.Column("estimate_url", sa.String(300), nullable=False),
        sa.Column("permits_source", sa.String(300), nullable=False),
        sa.Column("permits_url", sa.String(300), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stat_editions"),
        sa.UniqueConstraint("name", name="uq_stat_editions_name"),
    )
    estimates = op.create_table(
        "stat_estimates",
        sa.Column("edition_id", BigId, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("census", sa.Integer(), nullable=True),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("men", sa.Integer(), nullable=True),
        sa.Column("women", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("edition_id", "kind", "code", "year", name="pk_stat_estimates"),
        _edition_fk("stat_estimates"),
    )
    nationalities = op.create_table(
        "stat_nationalities",
        sa.Column("edition_id", BigId, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("country", sa.String(60), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "edition_id", "kind", "code", "year", "country", name="pk_stat_nationalities"
        ),
        _edition_fk("stat_nationalities"),
    )
    permits = op.create_table(
        "stat_permits",
        sa.Column("edition_id", BigId, nullable=False),
        sa.Column("cut", sa.String(5), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("permit", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("country", sa.String(60), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "edition_id", "cut", "year", "permit", "state", "country", name="pk_stat_permits"
        ),
        _edition_fk("stat_permits"),
    )
    with op.batch_alter_table("comunas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sello_status", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("sello_source", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("sello_evidence", sa.Text(), nullable=True))

    conn = op.get_bind()
    comunas = sa.table(
        "comunas",
        sa.column("cut", sa.String),
        sa.column("region_code", sa.String),
        sa.column("adhered_since", sa.Date),
        sa.column("sello_status", sa.String),
        sa.column("sello_source", sa.String),
        sa.column("sello_evidence", sa.Text),
    )
    known = conn.execute(sa.select(comunas.c.cut, comunas.c.region_code)).all()
    _load_sello(conn, comunas, {cut for cut, _ in known})
    edition = read_edition(SHIPPED, {cut for cut, _ in known}, {region for _, region in known})
    edition_id = conn.execute(
        editions.insert().returning(editions.c.id),
        {
            "name": edition.name,
            "reference": edition.reference,
            "published": edition.published,
            **edition.sources,
            "digest": edition.digest,
            "imported_at": datetime.now(UTC),
        },
    ).scalar_one()
    for table, rows in (
        (estimates, edition.estimates),
        (nationalities, edition.nationalities),
        (permits, edition.permits),
    ):
        conn.execute(table.insert(), [{"edition_id": edition_id, **row} for row in rows])


def _load_sello(conn: sa.Connection, comunas: sa.TableClause, known: set[str]) -> None:
    """The comunas whose Sello status a public source confirms, with that source; a date
    only when the source gives a whole one (a bare year is kept in the evidence)."""
    with SELLO_CSV.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cut = row["cut"].strip().zfill(5)
            if cut not in known:
                continue
            try:
                since: date | None = date.fromisoformat(row["date"].strip())
            except ValueError:
                since = None
            conn.execute(
                comunas.update()
                .where(comunas.c.cut == cut)
                .values(
                    adhered_since=since,
                    sello_status=row["status"].strip(),
                    sello_source=row["source_url"].strip(),
                    sello_evidence=row["evidence"].strip(),
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("comunas", schema=None) as batch_op:
        batch_op.drop_column("sello_evidence")
        batch_op.drop_column("sello_source")
        batch_op.drop_column("sello_status")
    op.drop_table("stat_permits")
    op.drop_table("stat_nationalities")
    op.drop_table("stat_estimates")
    op.drop_table("stat_editions")
