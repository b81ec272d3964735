"""Several workers on one database: they start together (migrations serialized), keep one
user's messages in order and share the flood limit."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import tests.conftest as conftest
from bot.app import App, build_app
from bot.settings import Settings
from intents.engine import Engine
from intents.flood import FloodLimiter
from intents.messages import Incoming
from storage import flood, users
from storage.db import create_engine
from tests.conftest import PG_ADMIN_URL, shipped
from tests.test_privacy import _flows

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


@pytest.fixture
async def pg_url(pg_available: bool) -> AsyncIterator[str]:
    """A migrated PostgreSQL database (several workers need one: SQLite is one process)."""
    if not pg_available:
        pytest.skip("PostgreSQL unreachable (CI sets SELLO_REQUIRE_POSTGRES=1)")
    databases = conftest._pg
    assert databases is not None
    url = await databases.new()
    yield url
    await databases.drop(url)


@pytest.fixture
async def two_workers(pg_url: str) -> AsyncIterator[tuple[App, App]]:
    """Two `sello-bot run` workers on one database: each its own pool, engine and memory."""
    first = await build_app(Settings(database_url=pg_url), **shipped())
    second = await build_app(Settings(database_url=pg_url), **shipped())
    yield first, second
    await first.close()
    await second.close()


def worker_engine(app: App, flood: FloodLimiter | None = None) -> Engine:
    """The worker's engine with the privacy flow, and its own in-memory flood limiter."""
    return Engine(app.sessions, app.engine.services, flows=_flows(), flood=flood)


async def test_the_flood_limit_holds_across_two_workers(two_workers: tuple[App, App]):
    # 5 messages at once, refilled so slowly that the test's own duration adds nothing.
    workers = [worker_engine(app, FloodLimiter(capacity=5, rate=0.001)) for app in two_workers]
    answers = []
    for i in range(12):  # one sender, alternately on each worker
        incoming = Incoming("telegram", "700000042", "700000042", text="/ayuda", update_id=str(i))
        answers.append(await workers[i % 2].handle(incoming))
    passed = [a for a in answers if a and "muchos mensajes" not in a[0].text]
    warned = [a for a in answers if a and "muchos mensajes" in a[0].text]
    assert (len(passed), len(warned)) == (5, 1)
    assert answers[6:] == [[]] * 6  # then dropped, silently, whichever worker gets them
    # Another sender has their own bucket.
    other = Incoming("telegram", "700000043", "700000043", text="/ayuda", update_id="x")
    assert "muchos mensajes" not in (await workers[1].handle(other))[0].text


async def test_one_users_messages_are_handled_one_at_a_time_across_workers(
    two_workers: tuple[App, App],
):
    first, second = two_workers
    engine = worker_engine(first)
    async with first.sessions() as s, s.begin():
        await users.get_or_create(s, "telegram", "700000044", "700000044", datetime.now(UTC))
    press = Incoming("telegram", "700000044", "700000044", payload="priv:erase:yes")
    # The other worker is in the middle of this user's "/borrar": it holds the user, has
    # asked for the confirmation, and has not committed yet.
    async with second.sessions() as s, s.begin():
        await flood.serialize_user(s, "telegram:700000044")
        user = await users.get(s, "telegram", "700000044")
        assert user is not None
        user.flow, user.flow_step, user.flow_updated_at = "privacy", "confirm", datetime.now(UTC)
        await s.flush()
        pressed = asyncio.create_task(engine.handle(press))
        await asyncio.sleep(0.5)
        assert not pressed.done()  # waits for the other worker's unit of work
    # Handled after it, so it sees the question and erases.
    replies = await asyncio.wait_for(pressed, 20)
    assert "borré tus datos" in replies[0].text
    async with first.sessions() as s:
        assert await users.get(s, "telegram", "700000044") is None
