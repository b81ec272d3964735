"""Apply Alembic migrations programmatically on our async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


# The key of the PostgreSQL advisory lock that serializes migrations (any constant that no
# other lock of the application uses: storage/leadership.py has its own).
MIGRATION_LOCK = 0x5E110_0001


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent; safe to call at every start).

    Serialized across processes, so N workers can start together on an old schema: the
    first one migrates inside the lock, the others wait for it, then find the schema at
    `revision` and do nothing. PostgreSQL: a transaction-level advisory lock (released at
    commit or when the connection dies). SQLite: the database's write lock, taken by BEGIN
    IMMEDIATE before Alembic reads the current revision.
    """
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.begin()
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        elif conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.begin()
        await conn.run_sync(_upgrade, revision)
        await conn.commit()
