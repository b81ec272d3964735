"""/healthz proves the database accepts a write: a read-only or locked database is a 503."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.http import health as health_routes
from bot.http import make_server
from storage.db import create_engine, is_sqlite
from storage.migrate import upgrade
from storage.models import Heartbeat


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[str]:
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    yield database_url


async def health(engine: AsyncEngine) -> tuple[int, dict[str, Any]]:
    async with TestClient(TestServer(make_server([health_routes(engine)]))) as client:
        response = await client.get("/healthz")
        return response.status, await response.json()


async def test_a_writable_database_is_healthy_and_the_check_really_wrote(migrated: str):
    engine = create_engine(migrated)
    try:
        assert await health(engine) == (200, {"status": "ok", "database": "ok"})
        async with engine.connect() as conn:
            first = (await conn.execute(select(Heartbeat.at))).scalar_one()
        assert (await health(engine))[0] == 200
        async with engine.connect() as conn:
            assert (await conn.execute(select(Heartbeat.at))).scalar_one() >= first
    finally:
        await engine.dispose()


async def test_a_read_only_database_is_a_503(migrated: str):
    if is_sqlite(migrated):
        path = migrated.split(":///", 1)[1]
        # Read-only as a full disk or a read-only mount would be (root ignores file modes).
        engine = create_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    else:
        name = migrated.rsplit("/", 1)[1]
        admin = create_engine(migrated)
        async with admin.connect() as conn:
            await conn.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
            await conn.commit()
        await admin.dispose()
        engine = create_engine(migrated)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # reads still work
        status, report = await health(engine)
        assert (status, report["database"]) == (503, "not writable")
    finally:
        await engine.dispose()


async def test_a_database_locked_by_another_process_is_a_503(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'sello.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    other = sqlite3.connect(tmp_path / "sello.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another worker holding the write lock
        status, report = await health(engine)
        assert (status, report["database"]) == (503, "not writable")
        other.execute("ROLLBACK")
        assert (await health(engine))[0] == 200  # and the connection is usable again
    finally:
        other.close()
        await engine.dispose()
