"""SQLite for the async engine without a thread hop per call.

SQLAlchemy's `sqlite+aiosqlite` dialect drives aiosqlite, which runs every call (open a
cursor, execute, fetch, close it, commit) on a worker thread and wakes the event loop when
it is done. A statement on a local SQLite file in WAL mode takes microseconds; the hop costs
far more: in `bench/engine.py` (cProfile) the loop spent most of a message waiting for the
thread, handing work to its queue and being woken, and the two threads fought for the GIL.

This module is a drop-in for the aiosqlite *module* that SQLAlchemy's dialect adapts (same
URL, same dialect, same SQL): its connection and cursor have aiosqlite's coroutine methods but
run the `sqlite3` call on the event loop's own thread, at once. That is safe here because:

- a statement never waits on the file lock inside SQLite: SQLite's own busy handler is off
  (busy_timeout 0), and "database is locked" (another *process* writing) is waited out
  asynchronously: the call is retried after an `asyncio.sleep` with backoff, up to the
  connection's budget (the `timeout` connect argument, 30 s in `storage.db`; a
  `PRAGMA busy_timeout=N` sets the budget to N ms instead of blocking the loop). A locked
  call has done nothing: the implicit BEGIN IMMEDIATE before a write fails before the write.
- in this process, `storage.db` gives SQLite one pooled connection, so units of work already
  queue in asyncio for it (the pool) and never contend for the file lock with each other.
- commits do not fsync in WAL mode with synchronous=NORMAL; only a checkpoint (every 1000
  pages of WAL) does, inline, for a few milliseconds.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

T = TypeVar("T")

_BUSY_TIMEOUT = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)
_LOCKED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _LOCKED
    return "locked" in str(exc) or "busy" in str(exc)


class _RunNow:
    """aiosqlite's work queue, which SQLAlchemy's adapter uses directly to set the isolation
    level: the function runs at once and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class _NoThread:
    """SQLAlchemy marks aiosqlite's worker thread as a daemon; there is none here."""

    daemon = True


class Cursor:
    """aiosqlite's Cursor, run inline."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        wanted = _BUSY_TIMEOUT.match(sql)
        if wanted is not None:
            # Waiting on the lock is done here, asynchronously; SQLite's own wait stays off.
            self._connection.wait = int(wanted.group(1)) / 1000
            return self
        await self._connection.run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)
        await self._connection.run(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """aiosqlite's Connection, run inline; `wait` is how long a locked call is retried."""

    def __init__(self, conn: sqlite3.Connection, wait: float) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _RunNow()
        self._thread = _NoThread()
        self.wait = wait

    def __await__(self) -> Any:
        return self._opened().__await__()

    async def _opened(self) -> Connection:
        return self

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Call `function` now; while the database is locked by another process, wait
        asynchronously and call again, up to `wait` seconds."""
        try:
            return function(*args)
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or self.wait <= 0:
                raise
        deadline = time.monotonic() + self.wait
        delay = 0.002
        while True:
            await asyncio.sleep(delay)
            try:
                return function(*args)
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or time.monotonic() >= deadline:
                    raise
            delay = min(delay * 2, 0.1)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def execute_now(self, sql: str, parameters: Any) -> sqlite3.Cursor:
        """Run one statement on the sqlite3 connection itself, for storage.db's prepared hot
        statements (SQL and parameters as SQLAlchemy would send them): its sqlite3 cursor."""
        return await self.run(self._conn.execute, sql, parameters)

    async def rollback(self) -> None:
        self._conn.rollback()

    def rollback_now(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connect(database: str, timeout: float = 5.0, **kwargs: Any) -> Connection:
    """Open `database` like aiosqlite.connect; `timeout` is the async wait for a lock."""
    kwargs["check_same_thread"] = False  # the pool may close it from the garbage collector
    return Connection(sqlite3.connect(database, timeout=0, **kwargs), wait=timeout)


class _Module:
    """The attributes SQLAlchemy's aiosqlite adapter reads off the aiosqlite module."""

    __version__ = "0.22.1"  # the aiosqlite API this module provides
    Connection = Connection
    Cursor = Cursor
    connect = staticmethod(connect)
    DatabaseError = sqlite3.DatabaseError
    Error = sqlite3.Error
    IntegrityError = sqlite3.IntegrityError
    NotSupportedError = sqlite3.NotSupportedError
    OperationalError = sqlite3.OperationalError
    ProgrammingError = sqlite3.ProgrammingError
    sqlite_version = sqlite3.sqlite_version
    sqlite_version_info = sqlite3.sqlite_version_info


def is_inline(dialect: Any) -> bool:
    """Whether an engine's dialect drives this module (see `dbapi`)."""
    return getattr(getattr(dialect, "dbapi", None), "aiosqlite", None) is _Module


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI to pass as `module=` to `create_async_engine` for a `sqlite+aiosqlite` URL."""
    return AsyncAdapt_aiosqlite_dbapi(_Module, sqlite3)  # type: ignore[arg-type]
