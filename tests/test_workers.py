"""Several workers on one database: they start together (migrations serialized), keep one
user's messages in order and share the flood limit."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import create_engine
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
# A worker's start: import everything, wait for the common start time, then migrate.
START = """
import asyncio, sys, time
from storage.db import create_engine
from storage.migrate import upgrade

async def main(url: str, at: float) -> None:
    engine = create_engine(url)
    time.sleep(max(0.0, at - time.time()))
    await upgrade(engine)
    await engine.dispose()

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all (not the fixtures' migrated template)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    if not request.getfixturevalue("pg_available"):
        pytest.skip("PostgreSQL unreachable (CI sets SELLO_REQUIRE_POSTGRES=1)")
    name = f"sello_fresh_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_workers_starting_together_on_a_fresh_database_all_start(empty_database: str):
    at = time.time() + 4.0
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            START,
            empty_database,
            str(at),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(WORKERS)
    ]
    errors = await asyncio.gather(*(p.communicate() for p in procs))
    failures = [
        err[-800:].decode() for p, (_, err) in zip(procs, errors, strict=True) if p.returncode
    ]
    assert failures == []
    engine = create_engine(empty_database)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert len(versions) == 1
            assert await conn.scalar(text("SELECT count(*) FROM heartbeats")) == 0
    finally:
        await engine.dispose()
