"""The async engine and session factory, with SQLite tuned for a concurrent bot.

The names the rest of the code uses for them: outside `storage/` nothing imports SQLAlchemy
(an import-linter contract), yet a unit of work's session passes through the engine, the
flows and the console. `Session`, `Sessions` and `Database` are those types, named here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InvalidRequestError, MissingGreenlet
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from storage import sqlite_inline

log = logging.getLogger(__name__)

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
    # For `unit`: how many units at a time, and how long one waits for its turn (the pool's
    # own checkout timeout).
    _CAPACITY[engine] = (
        kwargs["pool_size"] + kwargs["max_overflow"],
        kwargs.get("pool_timeout", 30),
    )
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

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # The pool does not roll back on return (pool_reset_on_return=None: every unit ends in
        # COMMIT or ROLLBACK). A backstop for the prepared statements, which reach sqlite3
        # directly: a connection never goes back to the pool inside a transaction. If that
        # rollback fails, the connection is dropped: an error raised here would leave it
        # checked out for good (SQLAlchemy skips its return), and SQLite has only this one.
        driver = getattr(dbapi_connection, "driver_connection", None)
        if isinstance(driver, sqlite_inline.Connection) and driver.in_transaction:
            try:
                driver.rollback_now()
            except Exception as exc:
                log.warning("check-in: a connection left in a transaction was dropped: %s", exc)
                record.invalidate(exc)


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
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_UnitSession)


def dialect_name(session: AsyncSession) -> str:
    """The session's database ("sqlite", "postgresql"), without taking a connection."""
    bind = session.bind
    return str((bind if bind is not None else session.get_bind()).dialect.name)


class _Own:
    """A unit of work's own pooled connection on SQLite inline (`unit`): taken from the pool
    directly, without a SQLAlchemy `Connection` and the ORM's transaction around it; the
    prepared statements (`_run_prepared`) run on its sqlite3 connection. The ORM gets a
    `Connection` over the same pooled connection, hence the same transaction, only when it
    needs one (`_UnitSession.get_bind`: a query, a flush)."""

    __slots__ = ("pooled", "driver", "connection", "ending", "released")

    def __init__(self, pooled: Any, driver: sqlite_inline.Connection) -> None:
        self.pooled = pooled
        self.driver = driver
        self.connection: Connection | None = None
        self.ending = False  # the unit's own commit or rollback is under way
        self.released = False

    def usable(self) -> _Own:
        """Itself, unless the unit has ended: a session kept past its unit must not write on
        a connection that is back in the pool (another unit's transaction)."""
        if self.released:
            raise InvalidRequestError("this session's unit of work has ended")
        return self

    def bound(self, engine: Any) -> Connection:
        if self.connection is None:
            self.connection = Connection(engine, connection=self.usable().pooled)
        return self.connection

    def release(self) -> None:
        """Back to the pool (the check-in backstop rolls back a transaction left open)."""
        self.released = True
        if self.connection is not None:
            self.connection.close()  # closes the pooled connection it was made over
        else:
            self.pooled.close()


_OWN = "storage.db.own"


class _UnitSession(SyncSession):
    """The ORM's session, bound to its unit of work's own connection when it has one. Inside
    such a unit, the unit commits when its block ends and rolls back when it fails: the
    session's own commit, rollback or savepoint would miss the prepared statements' writes, so
    they are refused (nothing calls them; a unit is one transaction)."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Any:
        own = self.info.get(_OWN) if kw.get("bind") is None else None
        if own is not None:
            return own.bound(self.bind)
        return super().get_bind(mapper, **kw)

    def commit(self) -> None:
        self._refuse_inside_unit("commit")
        super().commit()

    def rollback(self) -> None:
        self._refuse_inside_unit("rollback")
        super().rollback()

    def begin_nested(self) -> Any:
        self._refuse_inside_unit("begin_nested")
        return super().begin_nested()

    def _refuse_inside_unit(self, what: str) -> None:
        own = self.info.get(_OWN)
        if own is not None and not own.ending:
            raise InvalidRequestError(
                f"session.{what}() inside storage.db.unit: the unit commits when its block "
                "ends and rolls back when it fails"
            )


@asynccontextmanager
async def unit(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: a session in a transaction, committed when the block ends (rolled back
    on an error), then closed. `async with sessions() as s, s.begin()` does the same with
    four greenlet hops (begin, commit, close and the connection) instead of two, and its
    close always runs in a task of its own, shielded from cancellation, which costs two more
    turns of the event loop on every message; the shield matters only while the session
    still holds a connection (the block or the commit failed), and is used then.

    On SQLite (inline) the unit takes its pooled connection itself (`_Own`): a message's
    usual unit — prepared statements only, nothing for the ORM to flush — ends in sqlite3's
    COMMIT and the pool's check-in, without SQLAlchemy's `Connection`, the ORM's transaction
    or a greenlet hop at the end (about 0.1 ms a message); the ORM's own queries and flushes
    run on the same connection and transaction when there are any.

    Units take turns in arrival order, as many at a time as the pool has connections
    (`_turns`): without it a unit that just arrived can take a connection given back before
    the unit woken for it runs, again and again (asyncio's queue, which the pool waits on,
    lets a newcomer take a freed item first), and a waiting unit starves — on SQLite, where
    statements run inline and a unit never yields, at once; on PostgreSQL, once more units
    are in flight than connections (bench/engine.py's 64 senders on 20 connections: a unit
    waited over 30 s for a connection, once the close no longer yielded)."""
    gate = _turns(sessions)
    turns = gate[0] if gate is not None else None
    if gate is not None:
        await _take_turn(*gate)
    try:
        session = sessions()
        own = await _take_own(session)
        done = False
        try:
            yield session  # the transaction begins with the first statement (autobegin)
            if own is not None:
                await _commit_own(session, own)
            else:
                await session.run_sync(_commit_and_close)  # one greenlet hop for both
            done = True
        finally:
            if not done:  # the block or the commit failed: roll back, give the connection back
                if own is not None:
                    await _shielded(session.run_sync(_abandon_own, own))
                elif session.sync_session.get_transaction() is None:
                    await session.close()  # nothing held: no I/O, nothing to cancel
                else:
                    await _close_shielded(session)
    finally:
        if turns is not None:
            turns.release()


async def _take_own(session: AsyncSession) -> _Own | None:
    """On SQLite inline, the unit's own connection from the pool (its turn guarantees one is
    free, unless a session outside `unit` holds it: then this waits for it); else None."""
    bind = session.bind
    if bind is None or not sqlite_inline.is_inline(bind.dialect):
        return None
    if not isinstance(session.sync_session, _UnitSession):  # not from `session_factory`:
        return None  # its ORM would wait for a second connection
    engine = bind.sync_engine  # type: ignore[union-attr]
    try:
        pooled = _idle(engine)
        if pooled is None:
            # In a greenlet: opening (or reopening) a connection, or waiting for one that a
            # session outside `unit` holds, runs through the adapter's awaits.
            pooled = await greenlet_spawn(engine.raw_connection)
    except engine.dialect.loaded_dbapi.Error as exc:
        Connection._handle_dbapi_exception_noconnection(exc, engine.dialect, engine)
        raise
    driver = pooled.driver_connection
    if not isinstance(driver, sqlite_inline.Connection):  # pragma: no cover - is_inline said
        await greenlet_spawn(pooled.close)
        return None
    own = _Own(pooled, driver)
    session.sync_session.info[_OWN] = own
    return own


def _idle(engine: Any) -> Any | None:
    """The pool's idle connection, taken at once: no greenlet hop (about 12 µs), as nothing
    needs to be awaited. None when the pool has none idle, or when the one it has must be
    reopened first (SQLAlchemy gives it back to the pool on the adapter's refusal)."""
    idle = getattr(engine.pool, "checkedin", None)
    if idle is None or idle() == 0:
        return None
    try:
        return engine.raw_connection()
    except MissingGreenlet:
        return None


async def _commit_own(session: AsyncSession, own: _Own) -> None:
    """Commit a unit that had its own connection, and give the connection back. When the ORM
    took no part (the hot path: prepared statements only, nothing left for a flush), that is
    sqlite3's COMMIT and the pool's check-in, with no greenlet hop; else the ORM's flush and
    commit first, on the same connection."""
    sync = session.sync_session
    own.ending = True
    if own.connection is not None or not sync._is_clean():
        await session.run_sync(_commit_and_close)
    if own.driver.in_transaction:
        try:
            await own.driver.commit()
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it (storage.errors knows it)
            raise DBAPIError.instance(
                "COMMIT", [], exc, sqlite3.Error, dialect=session.bind.dialect
            ) from exc
    sync.close()  # no I/O: the ORM holds no connection of its own
    own.release()


def _abandon_own(sync: Any, own: _Own) -> None:
    own.ending = True
    try:
        sync.close()  # rolls back the ORM's transaction on the connection, if it had one
    finally:
        own.release()  # the check-in backstop rolls back the prepared statements' writes


async def _shielded(work: Any) -> None:
    """Run `work` to its end even if the unit's task is cancelled meanwhile (a connection
    must go back to the pool); the cancellation is raised afterwards."""
    task = asyncio.ensure_future(work)
    cancelled: BaseException | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    task.result()


def _commit_and_close(session: Any) -> None:
    session.commit()
    session.close()


_TURNS: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_CAPACITY: weakref.WeakKeyDictionary[Any, tuple[int, float]] = weakref.WeakKeyDictionary()


def _turns(sessions: async_sessionmaker[AsyncSession]) -> tuple[asyncio.Semaphore, float] | None:
    """The queue of units of work on one engine: as many at a time as its pool has
    connections (one on SQLite), the others in arrival order (asyncio's semaphore lets no
    newcomer in ahead of a waiter, while its pool's queue does). None for an engine not made
    by `create_engine`."""
    bind = sessions.kw.get("bind")
    if bind is None:
        return None
    gate = _CAPACITY.get(bind)
    if gate is None:
        return None
    turns = _TURNS.get(bind)
    if turns is None:
        turns = _TURNS[bind] = asyncio.Semaphore(gate[0])
    return turns, gate[1]


async def _take_turn(turns: asyncio.Semaphore, wait: float) -> None:
    """Wait for a turn, up to the pool's checkout timeout: then the pool's own error, which
    `storage.errors.unavailable` knows (the database cannot take the work now)."""
    if not turns.locked():
        await turns.acquire()  # free: no wait, no timer
        return
    try:
        async with asyncio.timeout(wait):
            await turns.acquire()
    except TimeoutError:
        raise PoolTimeout(
            f"no turn for a unit of work within {wait:g} s (every connection in use)"
        ) from None


async def _close_shielded(session: AsyncSession) -> None:
    await _shielded(session.close())


# The hot path's plain statements (the update's dedupe claim, the user's row and its changed
# columns, the question log), run on the unit of work's own connection and transaction.
# `AsyncSession.execute` would also run the ORM's execution layer and autoflush, which cost
# more than the statement itself. Nothing pending is flushed by them: the ORM's changes still
# go at the next ORM query or at commit, in the same transaction.
#
# On SQLite (storage.sqlite_inline: sqlite3 on the loop's own thread) each statement is
# compiled once by SQLAlchemy (`_Prepared`: its SQL, its parameters' order and type
# processing, its result columns' processing) and run directly on the sqlite3 connection:
# no greenlet hop, no execution context, no result object, the same SQL and the same values
# as SQLAlchemy would send (tests/test_storage_fast.py compares both). Elsewhere, and when
# the session has changes to flush first, one greenlet hop through SQLAlchemy's Connection.


class _Prepared:
    """A statement compiled once for a dialect and a set of parameter names."""

    __slots__ = ("sql", "binds", "results")

    def __init__(self, statement: Executable, keys: tuple[str, ...], dialect: Any) -> None:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
        if (
            compiled.insert_prefetch  # a column default computed in Python at execution
            or compiled.update_prefetch
            or compiled.post_compile_params  # an expanding IN, rendered at execution
            or compiled.literal_execute_params
        ):
            raise _Unpreparable("values computed at execution")
        processors = compiled._bind_processors
        self.sql: str = compiled.string
        # (parameter name, processor or None, constant value or _GIVEN) in the SQL's order.
        binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds.get(name)
            if name in keys:
                binds.append((name, processors.get(name), _GIVEN))
            elif bind is not None and bind.callable is None and not bind.required:
                value = bind.value
                processor = processors.get(name)
                binds.append((name, None, processor(value) if processor else value))
            else:
                raise _Unpreparable(name)
        self.binds: tuple[tuple[str, Any, Any], ...] = tuple(binds)
        # (column key, result processor or None) for a SELECT or RETURNING.
        self.results: tuple[tuple[str, Any], ...] = tuple(
            (column.keyname, column.type._cached_result_processor(dialect, None))
            for column in compiled._result_columns
        )

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            (processor(params[name]) if processor else params[name])
            if constant is _GIVEN
            else constant
            for name, processor, constant in self.binds
        ]

    def rows(self, raw: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        results = self.results
        return [
            {
                key: (processor(value) if processor is not None else value)
                for (key, processor), value in zip(results, row, strict=True)
            }
            for row in raw
        ]


class _Unpreparable(Exception):
    """A statement whose parameters are not all given by name (left to SQLAlchemy)."""


_GIVEN = object()
# (statement, its preparation or None) by the statement's id and parameter names. The entry
# keeps the statement alive, so its id is never reused while the entry exists. The hot
# statements are built once (at import, or once per set of columns): a statement built on
# every call would fill this, so past the limit new ones simply go through SQLAlchemy.
_PREPARED: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Prepared | None]] = {}
_PREPARED_LIMIT = 256


def _prepared(statement: Executable, params: Mapping[str, Any], dialect: Any) -> _Prepared | None:
    key = (id(statement), tuple(params))
    found = _PREPARED.get(key)
    if found is not None:
        return found[1]
    if len(_PREPARED) >= _PREPARED_LIMIT:
        return None
    try:
        prepared: _Prepared | None = _Prepared(statement, tuple(params), dialect)
    except _Unpreparable:
        prepared = None
    _PREPARED[key] = (statement, prepared)
    return prepared


async def _inline(session: AsyncSession) -> sqlite_inline.Connection | None:
    """The unit of work's sqlite3 connection when it runs inline (storage.sqlite_inline),
    in the session's transaction (begun and connected here if not yet); else None."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    own = sync.info.get(_OWN)
    if own is not None:  # the unit's own connection (`unit`)
        if transaction is not None and not transaction.is_active:
            return None  # rolled back after a failed flush: SQLAlchemy must refuse
        return own.usable().driver  # type: ignore[no-any-return]
    held = session.info.get(_INLINE)
    if (
        held is not None
        and transaction is not None
        and held[0] is transaction
        and transaction.is_active  # rolled back after a failed flush: SQLAlchemy must refuse
    ):
        return held[1]  # type: ignore[no-any-return]
    bind = session.bind
    if bind is None or not sqlite_inline.is_inline(bind.dialect):
        return None
    connection = await session.connection()
    driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if not isinstance(driver, sqlite_inline.Connection):
        return None
    session.info[_INLINE] = (sync.get_transaction(), driver)
    return driver


_INLINE = "storage.db.inline"


class _Ran:
    """What a prepared statement gave: the rows it hit, and its rows (processed) if any."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rowcount: int, rows: list[dict[str, Any]]) -> None:
        self.rowcount = rowcount
        self.rows = rows


async def _run_prepared(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> _Ran | None:
    """Run the statement prepared on the unit of work's sqlite3 connection; None when it
    cannot be (not SQLite inline, or not preparable): then SQLAlchemy runs it. A driver error
    comes out as SQLAlchemy would raise it (its `IntegrityError`, `OperationalError`…
    wrapping the sqlite3 one), so callers and `storage.errors` see the same exceptions on
    both paths."""
    inline = await _inline(session)
    if inline is None:
        return None
    dialect = session.bind.dialect
    prepared = _prepared(statement, params, dialect)
    if prepared is None:
        return None
    values = prepared.values(params)
    try:
        cursor = await inline.execute_now(prepared.sql, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(
            prepared.sql, values, exc, sqlite3.Error, dialect=dialect
        ) from exc
    rows = prepared.rows(cursor.fetchall()) if prepared.results else []
    return _Ran(cursor.rowcount, rows)


def _pending(session: AsyncSession) -> bool:
    sync = session.sync_session
    return bool(sync.autoflush and (sync.new or sync.deleted or sync.dirty))


async def write(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> int:
    """Run an INSERT/UPDATE/DELETE in the session's transaction; the number of rows hit."""
    cursor = await _run_prepared(session, statement, params)
    if cursor is not None:
        return int(cursor.rowcount)

    def run(sync: Any) -> int:
        return int(sync.connection().execute(statement, params).rowcount)

    return await session.run_sync(run)


async def read(
    session: AsyncSession,
    statement: Executable,
    params: Mapping[str, Any],
    *,
    autoflush: bool = False,
) -> Sequence[Mapping[str, Any]]:
    """Run a SELECT (or a statement with RETURNING) in the session's transaction; its rows,
    each a mapping of column key to value. `autoflush`: first flush what is pending, as an
    ORM query would (unless the session's autoflush is off), so the rows include the unit of
    work's own changes."""
    if not (autoflush and _pending(session)):
        found = await _run_prepared(session, statement, params)
        if found is not None:
            return found.rows

    def run(sync: Any) -> Sequence[Mapping[str, Any]]:
        if autoflush and sync.autoflush:
            sync.flush()  # nothing to do (and cheap) when nothing is pending
        return [row._mapping for row in sync.connection().execute(statement, params).all()]

    return await session.run_sync(run)
