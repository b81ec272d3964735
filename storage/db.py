"""The async engine and session factory, with SQLite tuned for a concurrent bot.

The names the rest of the code uses for them: outside `storage/` nothing imports SQLAlchemy
(an import-linter contract), yet a unit of work's session passes through the engine, the
flows and the console. `Session`, `Sessions` and `Database` are those types, named here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import Row, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable

from storage import sqlite_inline

Session: TypeAlias = AsyncSession  # one unit of work
Sessions: TypeAlias = async_sessionmaker[AsyncSession]  # opens units of work
Database: TypeAlias = AsyncEngine  # the pool of connections to one database

DEFAULT_URL = "sqlite+aiosqlite:///sello.db"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str = DEFAULT_URL, *, pool_size: int = 10, max_overflow: int = 10
) -> AsyncEngine:
    """Create the engine; on SQLite: WAL, the inline driver, and writes in BEGIN IMMEDIATE.

    BEGIN IMMEDIATE takes the write lock when a transaction starts writing, so two writers
    wait for each other (asynchronously, storage.sqlite_inline) instead of failing with "database is locked" when a
    read lock is upgraded half-way through a unit of work.
    """
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        # SQLite has one writer at a time: queue writers on one pooled connection in asyncio
        # (a cheap wait) rather than on the file lock (busy_timeout's sleep-and-retry).
        kwargs.update(
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            # Every unit of work ends in COMMIT or ROLLBACK: skip the pool's extra rollback
            # (one more thread round trip through aiosqlite) on each check-in.
            pool_reset_on_return=None,
            # sqlite3 on the loop's own thread, no aiosqlite thread hop per call
            # (storage/sqlite_inline.py says why that is safe).
            module=sqlite_inline.dbapi(),
        )
    else:
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver opens "BEGIN IMMEDIATE" itself before the first write of a transaction,
        # inside the same call (an explicit BEGIN would cost one more thread round trip per
        # message). A unit of work's first statement is its write of the update's
        # idempotency key, so the whole unit runs under the write lock. Savepoints are not
        # used with this driver mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The wait for another process's write lock is asynchronous (the `timeout` connect
        # argument, in storage.sqlite_inline); SQLite's own busy handler would block the loop.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        dbapi_connection.isolation_level = "IMMEDIATE"


def _set_wal(cursor: Any, attempts: int = 100) -> None:
    """Switch to WAL unless already there. Switching needs a moment of exclusive access and
    SQLite answers "database is locked" at once, without waiting for busy_timeout, when
    another process holds the new file (several workers starting together on a fresh
    database): retry briefly. Only a fresh database can get here more than once."""
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# The hot path's plain statements (the update's dedupe claim, the user's row and its changed
# columns, the question log), run on the unit of work's own connection and transaction, in one
# greenlet hop: `AsyncSession.execute` would also run the ORM's execution layer and autoflush,
# which cost more than the statement itself. Nothing pending is flushed by them: the ORM's
# changes still go at the next ORM query or at commit, in the same transaction.


async def write(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> int:
    """Run an INSERT/UPDATE/DELETE in the session's transaction; the number of rows hit."""

    def run(sync: Any) -> int:
        return int(sync.connection().execute(statement, params).rowcount)

    return await session.run_sync(run)


async def read(
    session: AsyncSession,
    statement: Executable,
    params: Mapping[str, Any],
    *,
    autoflush: bool = False,
) -> Sequence[Row[Any]]:
    """Run a SELECT (or a statement with RETURNING) in the session's transaction; its rows.
    `autoflush`: first flush what is pending, as an ORM query would (unless the session's
    autoflush is off), so the rows include the unit of work's own changes."""

    def run(sync: Any) -> Sequence[Row[Any]]:
        if autoflush and sync.autoflush:
            sync.flush()  # nothing to do (and cheap) when nothing is pending
        return sync.connection().execute(statement, params).all()

    return await session.run_sync(run)
