"""Fixtures: databases (SQLite always, PostgreSQL when reachable), the app, a chat, a bot."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

# The trained matcher is cached between processes (the CLI and `sello-bot run` subprocesses the
# tests start train it once, then load it); kept outside the user's own cache directory.
os.environ.setdefault("SELLO_CACHE_DIR", str(Path(tempfile.gettempdir()) / "sello-bot-test-cache"))

import pytest  # noqa: E402
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.channels.console import Console
from bot.settings import Secret, Settings
from storage.db import Sessions, create_engine, session_factory
from storage.migrate import upgrade
from tests.fakes.telegram_api import FakeTelegram

PG_ADMIN_URL = os.environ.get(
    "SELLO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("SELLO_REQUIRE_POSTGRES") == "1"
T = TypeVar("T")
SHARED = Path(__file__).resolve().parents[2] / "shared"


async def _pg_reachable() -> bool:
    engine = create_async_engine(PG_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


class PostgresDatabases:
    """Creates a migrated template once, then one fresh database per test from it."""

    def __init__(self) -> None:
        self.prefix = f"sello_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_tpl"
        self.created: list[str] = []
        self.ready = False

    def url(self, name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def _admin(self, sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def new(self) -> str:
        if not self.ready:
            await self._admin(f'CREATE DATABASE "{self.template}"')
            engine = create_engine(self.url(self.template))
            await upgrade(engine)
            await engine.dispose()
            self.ready = True
        name = f"{self.prefix}_{len(self.created)}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url(name)

    async def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def cleanup(self) -> None:
        if self.ready:
            await self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


_pg: PostgresDatabases | None = None


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own loop, even from inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="session")
def pg_available() -> Iterator[bool]:
    global _pg
    reachable = _in_thread(_pg_reachable)
    if not reachable and REQUIRE_PG:
        pytest.fail("SELLO_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable at " + PG_ADMIN_URL)
    _pg = PostgresDatabases() if reachable else None
    yield reachable
    if _pg is not None:
        _in_thread(_pg.cleanup)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sello.db'}"
        return
    if not request.getfixturevalue("pg_available"):
        pytest.skip("PostgreSQL unreachable (CI sets SELLO_REQUIRE_POSTGRES=1)")
    assert _pg is not None
    url = await _pg.new()
    yield url
    await _pg.drop(url)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """Units of work on a fresh, migrated database (SQLite and PostgreSQL), for the storage
    tests that need no app."""
    engine = create_engine(database_url)
    await upgrade(engine)
    yield session_factory(engine)
    await engine.dispose()


def shipped() -> dict[str, Any]:
    """The test session's one knowledge base and matcher (tests/shipped.py, loaded on first
    use), as `build_app`'s keyword arguments: an app built without them loads its own."""
    from tests.shipped import KB, MATCHER

    return {"kb": KB, "matcher": MATCHER}


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    built = await build_app(Settings(database_url=database_url), **shipped())
    yield built
    await built.close()


class Chat:
    """Talks to the engine like a user on the console: `await chat.say("hola")`."""

    def __init__(self, app: App, user: str = "1", lang: str | None = "es") -> None:
        self.app = app
        self.console = Console(app.engine, user=user, lang=lang)
        self.last = ""

    async def say(self, line: str) -> str:
        self.last = await self.console.say(line)
        return self.last

    async def press(self, payload: str) -> str:
        from intents.messages import Incoming

        replies = await self.app.engine.handle(
            Incoming(
                "console",
                self.console.user,
                self.console.user,
                payload=payload,
                language_hint=self.console.lang,
            )
        )
        from bot.channels.console import render

        self.last, self.console._buttons = render(replies)  # as if pressed in the terminal
        return self.last


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


def bot_settings(database_url: str, fake: FakeTelegram, **extra: object) -> Settings:
    return replace(
        Settings(database_url=database_url),
        telegram_token=Secret(fake.token),
        telegram_api_url=fake.api_url,
        http_host="127.0.0.1",
        http_port=0,
        **extra,  # type: ignore[arg-type]
    )


class RunningBot:
    """`sello-bot run` in-process, against the fake Bot API; stop() is what SIGTERM does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.app: App | None = None

    async def start(self) -> RunningBot:
        from bot.runner import serve

        self.app = await build_app(self.settings, **shipped())
        self.task = asyncio.create_task(serve(self.app, self.stop_event, signals=False))
        return self

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 20)


@pytest.fixture
async def run_bot(database_url: str) -> AsyncIterator[object]:
    # Depends on the database so bots stop before their database is dropped.
    bots: list[RunningBot] = []

    async def _run(settings: Settings) -> RunningBot:
        bot = await RunningBot(settings).start()
        bots.append(bot)
        return bot

    yield _run
    for bot in bots:
        if bot.task is not None and not bot.task.done():
            await bot.stop()
