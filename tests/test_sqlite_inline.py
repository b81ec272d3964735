"""The inline SQLite driver (storage/sqlite_inline.py): no thread hop, and a write lock held by
another process is waited out without blocking the event loop, up to the budget."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import text

from storage.db import create_engine


@pytest.fixture
async def engine(tmp_path):
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/inline.db")
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield eng, tmp_path / "inline.db"
    await eng.dispose()


async def test_statements_run_on_the_loops_thread(engine):
    eng, _ = engine
    async with eng.begin() as conn:
        raw = await conn.get_raw_connection()
        assert type(raw.driver_connection).__module__ == "storage.sqlite_inline"
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    async with eng.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_another_process_lock_is_waited_out_without_blocking_the_loop(engine):
    eng, path = engine
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def heartbeat():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write():
        async with eng.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))

    beat = asyncio.create_task(heartbeat())
    writer = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writer.done()  # still waiting for the lock…
    assert ticks >= 10  # …while the loop kept running
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, 5)
    beat.cancel()
    async with eng.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_the_wait_ends_at_the_budget(engine):
    eng, path = engine
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with eng.connect() as conn:
            await conn.exec_driver_sql("PRAGMA busy_timeout=200")
            started = time.monotonic()
            with pytest.raises(Exception, match="locked"):
                await conn.execute(text("INSERT INTO t VALUES (3)"))
            assert 0.15 <= time.monotonic() - started < 2
            await conn.rollback()
            await conn.exec_driver_sql("PRAGMA busy_timeout=30000")
    finally:
        other.execute("ROLLBACK")
        other.close()
