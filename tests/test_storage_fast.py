"""The hot path's statements (storage/db.py `write`/`read`) and units of work (`unit`).

On SQLite they run prepared statements on the sqlite3 connection itself, beside SQLAlchemy's
execution layer: what they write and read must be exactly what SQLAlchemy writes and reads
(on both databases). Units of work on SQLite take turns in arrival order."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage import db, updates, users
from storage.db import create_engine, session_factory
from storage.errors import AlreadyHandled, unavailable
from storage.migrate import upgrade
from storage.models import HandledUpdate, User

NOW = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)


def _columns(user: User) -> dict[str, object]:
    return {c.key: getattr(user, c.key) for c in User.__table__.columns}


async def test_a_user_read_and_written_by_the_hot_path_is_what_the_orm_reads(sessions):
    # Every column type the users table has: text, None, JSON, timezone-aware datetimes.
    async with db.unit(sessions) as s:
        created = await users.get_or_create(s, "telegram", "9001", "9001", NOW)
        assert created.id is not None and created.created_at == NOW
        created.detected_language = "ht"
        created.flow_data = {"question": "kouman pou m jwenn papye", "n": [1, 2], "ok": True}
        created.flow_updated_at = NOW + timedelta(seconds=1)
        created.last_answer = {"topic": "reg.cedula", "question": None}
        await users.save(s, created)
    async with sessions() as s:
        orm = (await s.scalars(select(User).where(User.external_id == "9001"))).one()
        expected = _columns(orm)
    async with db.unit(sessions) as s:
        hot = await users.get(s, "telegram", "9001")
        assert hot is not None
        assert _columns(hot) == expected
        assert hot.flow_updated_at is not None and hot.flow_updated_at.tzinfo is not None
        assert hot.flow_data == {"question": "kouman pou m jwenn papye", "n": [1, 2], "ok": True}
        # What the hot path read is the session's own object, as an ORM query's would be.
        assert await s.get(User, hot.id) is hot
        assert (await s.scalars(select(User).where(User.id == hot.id))).one() is hot


async def test_the_hot_path_runs_on_sqlite_without_sqlalchemys_execution_layer(
    sessions, database_url
):
    async with db.unit(sessions) as s:
        await updates.claim(s, "telegram", "u-1", NOW)
        inline = await db._inline(s)
    assert (inline is not None) == database_url.startswith("sqlite")
    async with db.unit(sessions) as s:
        with pytest.raises(AlreadyHandled):
            await updates.claim(s, "telegram", "u-1", NOW)
    async with sessions() as s:
        row = await s.get(HandledUpdate, ("telegram", "u-1"))
        assert row is not None and row.handled_at == NOW


async def test_pending_orm_changes_are_flushed_before_a_hot_read(sessions):
    async with db.unit(sessions) as s:
        s.add(
            User(
                channel="telegram",
                external_id="42",
                chat_id="42",
                role="migrant",
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
        # Not flushed yet: the read must see it (as an ORM query would, by autoflush).
        found = await users.get(s, "telegram", "42")
        assert found is not None and found.chat_id == "42"


async def test_a_failed_unit_writes_nothing(sessions):
    with pytest.raises(RuntimeError):
        async with db.unit(sessions) as s:
            await updates.claim(s, "telegram", "u-2", NOW)
            await users.get_or_create(s, "telegram", "77", "77", NOW)
            raise RuntimeError("the flow failed")
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("telegram", "u-2")) is None
        assert await users.get(s, "telegram", "77") is None


async def test_units_take_turns_in_arrival_order(database_url):
    """A unit that arrives while another waits for its turn does not go first, even when a
    connection is free at the moment it arrives (SQLite: one connection and statements
    inline; PostgreSQL: here a pool of one)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    await upgrade(engine)
    sessions = session_factory(engine)
    order: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "a", NOW)
            order.append("a")
            holding.set()
            await release.wait()
        # The same task goes on at once to another message, without yielding first.
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "c", NOW)
            order.append("c")

    async def second() -> None:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "b", NOW)
            order.append("b")

    a = asyncio.create_task(first())
    await holding.wait()
    b = asyncio.create_task(second())
    await asyncio.sleep(0.01)  # b is waiting for its turn
    release.set()
    await asyncio.wait_for(asyncio.gather(a, b), 5)
    assert order == ["a", "b", "c"]
    await engine.dispose()


async def test_a_unit_that_waits_too_long_for_its_turn_fails_as_a_full_pool(database_url):
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    await upgrade(engine)
    db._CAPACITY[engine] = (1, 0.2)  # one at a time, a fifth of a second to wait
    sessions = session_factory(engine)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "held", NOW)
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(PoolTimeout) as raised:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "late", NOW)
    assert unavailable(raised.value)  # the engine's callers treat it as "try again later"
    release.set()
    await holder
    async with db.unit(sessions) as s:  # the turn given back: the next one goes
        await updates.claim(s, "t", "late", NOW)
    await engine.dispose()


async def test_a_cancelled_unit_gives_its_connection_back(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/cancel.db")
    await upgrade(engine)
    sessions = session_factory(engine)
    inside = asyncio.Event()

    async def stuck() -> None:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "x", NOW)
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The connection and the turn are free again; the cancelled unit wrote nothing.
    async with db.unit(sessions) as s:
        await asyncio.wait_for(updates.claim(s, "t", "x", NOW), 2)
    await engine.dispose()


async def test_driver_errors_on_the_hot_path_are_sqlalchemys_as_before(tmp_path):
    """The prepared statements raise what SQLAlchemy would have raised (storage.errors and the
    failure policy know those): a write lock held by another process past the wait budget is
    an OperationalError the engine's callers treat as "try again later", not a bug."""
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    sessions = session_factory(engine)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(OperationalError) as raised:
            async with db.unit(sessions) as s:
                inline = await db._inline(s)
                assert inline is not None
                inline.wait = 0.1  # a tenth of a second of budget instead of 30 s
                await updates.claim(s, "t", "locked", NOW)
        assert isinstance(raised.value.orig, sqlite3.OperationalError)
        assert unavailable(raised.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # A constraint the database enforces: SQLAlchemy's IntegrityError, never a bare sqlite3 one.
    async with db.unit(sessions) as s:
        user = await users.get_or_create(s, "telegram", "5", "5", NOW)
    with pytest.raises(IntegrityError):
        async with db.unit(sessions) as s:
            user = await users.get(s, "telegram", "5")
            assert user is not None
            user.comuna_cut = "99999"  # no such comuna: the foreign key refuses it
            await users.save(s, user)
    await engine.dispose()


async def test_after_a_failed_flush_the_hot_path_refuses_and_nothing_of_the_unit_is_committed(
    database_url,
):
    """A unit that caught a failed flush and wrote on: SQLAlchemy rolled the transaction back,
    so the prepared path must refuse as SQLAlchemy does (not open a new transaction on the
    connection that a later unit would commit)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with db.unit(sessions) as s:
        await users.get_or_create(s, "telegram", "8", "8", NOW)
    with pytest.raises(PendingRollbackError):
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "failed", NOW)
            s.add(
                User(
                    channel="telegram",
                    external_id="8",
                    chat_id="8",
                    role="migrant",
                    created_at=NOW,
                    last_seen_at=NOW,
                )
            )  # the same identity: refused
            with pytest.raises(IntegrityError):
                await s.flush()
            await updates.claim(s, "t", "after", NOW)
    async with db.unit(sessions) as s:
        await updates.claim(s, "t", "next", NOW)
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("t", "failed")) is None
        assert await s.get(HandledUpdate, ("t", "after")) is None
        assert await s.get(HandledUpdate, ("t", "next")) is not None
    await engine.dispose()


def test_statements_with_values_computed_at_execution_are_left_to_sqlalchemy(tmp_path):
    """A column default computed in Python, an expanding IN: not prepared (they would be sent
    wrong), so they go through SQLAlchemy's own execution."""
    dialect = create_engine(f"sqlite+aiosqlite:///{tmp_path}/prepared.db").dialect
    table = User.__table__
    no_role = {
        "channel": "t",
        "external_id": "1",
        "chat_id": "1",
        "created_at": NOW,
        "last_seen_at": NOW,
    }
    assert db._prepared(insert(table), no_role, dialect) is None  # role's default: "migrant"
    ids = select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)))
    assert db._prepared(ids, {"ids": [1, 2]}, dialect) is None
    by_id = select(table.c.id).where(table.c.id == bindparam("id"))
    assert db._prepared(by_id, {"id": 1}, dialect) is not None


async def test_a_statement_left_to_sqlalchemy_still_runs_in_the_unit(sessions):
    async with db.unit(sessions) as s:
        created = await users.get_or_create(s, "telegram", "31", "31", NOW)
        rows = await db.read(
            s,
            select(User.__table__.c.id).where(
                User.__table__.c.id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": [created.id, -1]},
        )
        assert [row["id"] for row in rows] == [created.id]


async def test_a_connection_whose_check_in_rollback_fails_is_dropped_not_leaked(
    tmp_path, monkeypatch, caplog
):
    """The pool's check-in backstop rolls back a connection still in a transaction. If that
    rollback fails, the connection must not stay checked out forever: SQLite has one, and every
    later unit of work would wait for it until the pool's timeout (an outage). It is dropped
    (invalidated) and the next unit opens a new one."""
    from storage import sqlite_inline

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/checkin.db")
    await upgrade(engine)
    sessions = session_factory(engine)

    def broken(self: sqlite_inline.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_inline.Connection, "rollback_now", broken)
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute_now("BEGIN IMMEDIATE", [])  # left open, as the backstop guards
    monkeypatch.undo()
    assert "check-in" in caplog.text
    async with db.unit(sessions) as s:
        await asyncio.wait_for(updates.claim(s, "t", "after", NOW), 5)
    await engine.dispose()


async def test_on_sqlite_the_hot_path_makes_no_sqlalchemy_connection(tmp_path):
    """A message's usual unit of work (the update's claim, the user read and written) runs
    its prepared statements on its own pooled connection: SQLAlchemy's `Connection` and the
    ORM's transaction around it (a tenth of a millisecond a message) are made only when the
    ORM needs them."""
    from sqlalchemy import event

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/own.db")
    await upgrade(engine)
    sessions = session_factory(engine)
    made: list[object] = []
    event.listen(engine.sync_engine, "engine_connect", made.append)
    async with db.unit(sessions) as s:
        await updates.claim(s, "telegram", "h-1", NOW)
        user = await users.get_or_create(s, "telegram", "61", "61", NOW)
        user.detected_language = "fr"
        await users.save(s, user)
    assert made == []
    async with db.unit(sessions) as s:  # an ORM query: a Connection, on the same connection
        await updates.claim(s, "telegram", "h-2", NOW)
        found = (await s.scalars(select(User).where(User.external_id == "61"))).one()
        assert found.detected_language == "fr"
    assert len(made) == 1
    assert engine.sync_engine.pool.checkedout() == 0
    await engine.dispose()


async def test_orm_and_prepared_writes_of_a_unit_commit_and_roll_back_together(sessions):
    def person(external_id: str) -> User:
        return User(
            channel="telegram",
            external_id=external_id,
            chat_id=external_id,
            role="migrant",
            created_at=NOW,
            last_seen_at=NOW,
        )

    with pytest.raises(RuntimeError):
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "both-failed", NOW)
            s.add(person("71"))
            await s.flush()  # the ORM's write, in the middle of the prepared ones
            await updates.claim(s, "t", "both-failed-2", NOW)
            raise RuntimeError("the flow failed")
    async with db.unit(sessions) as s:
        await updates.claim(s, "t", "both", NOW)
        s.add(person("72"))  # left to the commit's flush
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("t", "both-failed")) is None
        assert await s.get(HandledUpdate, ("t", "both-failed-2")) is None
        assert await users.get(s, "telegram", "71") is None
        assert await s.get(HandledUpdate, ("t", "both")) is not None
        assert await users.get(s, "telegram", "72") is not None
    assert sessions.kw["bind"].sync_engine.pool.checkedout() == 0


@pytest.mark.parametrize("orm", [False, True])
async def test_a_failed_commit_is_sqlalchemys_error_and_gives_the_connection_back(
    tmp_path, monkeypatch, orm
):
    """Disk full, an I/O error, a lock held past the budget at COMMIT: the same exception as
    SQLAlchemy's own commit raises, which `storage.errors` treats as "try again later" (the
    update is left for redelivery, not apologised for as a bug)."""
    from storage import sqlite_inline

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/full.db")
    await upgrade(engine)
    sessions = session_factory(engine)

    async def full(self: sqlite_inline.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_inline.Connection, "commit", full)
    with pytest.raises(OperationalError) as raised:
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", "full", NOW)
            if orm:
                await users.get_or_create(s, "telegram", "88", "88", NOW)
                s.add(HandledUpdate(channel="t", update_key="full-orm", handled_at=NOW))
    monkeypatch.undo()
    assert unavailable(raised.value)
    assert engine.sync_engine.pool.checkedout() == 0
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("t", "full")) is None
    await engine.dispose()


async def test_a_session_kept_past_its_unit_cannot_write_into_another(tmp_path):
    """A session used after its unit ended must not write on the connection, which is back in
    the pool (a later unit would commit that write as its own): it is refused."""
    from sqlalchemy.exc import InvalidRequestError

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/stale.db")
    await upgrade(engine)
    sessions = session_factory(engine)
    async with db.unit(sessions) as stale:
        await updates.claim(stale, "t", "a", NOW)
    with pytest.raises(InvalidRequestError):
        await updates.claim(stale, "t", "stale", NOW)
    with pytest.raises(InvalidRequestError):
        await stale.scalars(select(User))
    async with db.unit(sessions) as s:
        await updates.claim(s, "t", "b", NOW)
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("t", "stale")) is None
        assert await s.get(HandledUpdate, ("t", "b")) is not None
    assert engine.sync_engine.pool.checkedout() == 0
    await engine.dispose()


@pytest.mark.parametrize("call", ["commit", "rollback", "begin_nested"])
async def test_a_unit_is_one_transaction_its_session_cannot_commit_or_roll_back_part(
    tmp_path, call
):
    """On SQLite the prepared statements' writes are the unit's, not the ORM session's: a
    session.commit() or rollback() inside the unit would miss them, so it is refused; the unit
    fails and writes nothing. (On PostgreSQL a unit is the ORM session's own transaction.)"""
    from sqlalchemy.exc import InvalidRequestError

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/part.db")
    await upgrade(engine)
    sessions = session_factory(engine)
    with pytest.raises(InvalidRequestError):
        async with db.unit(sessions) as s:
            await updates.claim(s, "t", call, NOW)
            await getattr(s, call)()
    async with sessions() as s:
        assert await s.get(HandledUpdate, ("t", call)) is None
    assert engine.sync_engine.pool.checkedout() == 0
    await engine.dispose()


async def test_a_unit_of_sessions_not_made_by_the_factory_still_works(tmp_path):
    from sqlalchemy.ext.asyncio import async_sessionmaker

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/plain.db")
    await upgrade(engine)
    engine.sync_engine.pool._timeout = 2  # a deadlock would wait this long, then fail
    plain = async_sessionmaker(engine, expire_on_commit=False)
    async with db.unit(plain) as s:
        await updates.claim(s, "t", "plain", NOW)
        assert (await s.scalars(select(User))).all() == []
    async with plain() as s:
        assert await s.get(HandledUpdate, ("t", "plain")) is not None
    await engine.dispose()
