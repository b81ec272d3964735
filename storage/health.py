"""The health check's proof that the database accepts writes, not only reads."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Heartbeat

# On SQLite a write waits for the file lock up to the connection's busy_timeout (30 s): the
# health check waits less, so a database locked by another process is reported, not waited on.
SQLITE_WAIT_MS = 2000
SQLITE_BUSY_MS = 30000  # what storage.db sets on every connection


async def prove_writable(engine: AsyncEngine, name: str = "healthz") -> None:
    """Upsert the heartbeat row and commit; raises when the database cannot take a write.

    A committed write, not a rolled-back one: on SQLite in WAL mode a rolled-back change
    never reaches the disk, so a full disk would go unnoticed.
    """
    dialect = engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    statement = (
        insert(Heartbeat)
        .values(name=name, at=now)
        .on_conflict_do_update(index_elements=[Heartbeat.name], set_={"at": now})
    )
    async with engine.connect() as conn:
        if dialect == "sqlite":
            await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
        try:
            await conn.execute(statement)
            await conn.commit()
        finally:
            if dialect == "sqlite":
                await conn.rollback()
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
