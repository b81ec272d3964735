"""Two workers on one PostgreSQL database, one killed with SIGKILL mid-broadcast and
mid-burst of questions: nobody is lost, duplicates stay within what was in flight."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections import Counter

import aiohttp
import pytest
from sqlalchemy import insert, select

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Subscription, User
from tests.test_telegram_webhook import free_port

SECRET = "scale-secret"
BASE = 30_000_000


@pytest.fixture
async def pg_url(request):
    if not request.getfixturevalue("pg_available"):
        pytest.skip("PostgreSQL unreachable (CI sets SELLO_REQUIRE_POSTGRES=1)")
    from tests import conftest

    url = await conftest._pg.new()
    yield url
    await conftest._pg.drop(url)


async def _seed(url: str, n: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    async with session_factory(engine)() as s, s.begin():
        await s.execute(
            insert(User),
            [
                {
                    "channel": "telegram",
                    "external_id": str(BASE + i),
                    "chat_id": str(BASE + i),
                    "role": "migrant",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for i in range(n)
            ],
        )
        ids = (await s.execute(select(User.id))).scalars().all()
        await s.execute(
            insert(Subscription),
            [{"user_id": i, "active": True, "created_at": now, "updated_at": now} for i in ids],
        )
    await engine.dispose()


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**env, "SELLO_HTTP_PORT": str(self.port)}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Worker:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        if r.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("worker did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)


async def _until(predicate, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def test_two_workers_one_killed_lose_nobody(telegram, pg_url, tmp_path):
    n = 5000
    await _seed(pg_url, n)
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": pg_url,
        "SELLO_TELEGRAM_TOKEN": telegram.token,
        "SELLO_TELEGRAM_API_URL": telegram.api_url,
        "SELLO_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
        "SELLO_TELEGRAM_SECRET": SECRET,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_SEND_RATE": "150",  # slow enough to kill a worker in the middle
        "SELLO_OUTBOX_STALE_SECONDS": "3",
    }
    text = tmp_path / "b.txt"
    text.write_text("Boletín: jornada de regularización el sábado.", encoding="utf-8")
    queued = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "bulletin",
        "send",
        "--text-file",
        str(text),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await queued.wait() == 0

    def received() -> Counter[int]:
        return Counter(s.chat_id for s in telegram.sent if BASE <= s.chat_id < BASE + n)

    first = await Worker(env).start()  # takes the dispatcher lock
    second = third = None
    try:
        await _until(lambda: sum(received().values()) >= 100, 60)
        second = await Worker(env).start()  # stands by
        await _until(lambda: sum(received().values()) >= 1500, 60)
        await first.kill()  # SIGKILL in the middle of the broadcast
        assert sum(received().values()) < n
        await _until(lambda: len(received()) == n, 180)  # the other worker takes over
        counts = received()
        assert set(counts) == {BASE + i for i in range(n)}  # every recipient reached
        assert sum(counts.values()) - n <= 50  # duplicates: at most one batch in flight

        # A burst of 2,000 questions across both workers; one is killed in the middle.
        third = await Worker(env).start()
        workers = [second, third]
        ids = itertools.count(1)
        answered = 0
        users = range(BASE + n, BASE + n + 2000)

        async def ask(http: aiohttp.ClientSession, chat: int) -> None:
            nonlocal answered
            update_id = next(ids) + 10_000
            body = {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "Carga"},
                    "text": "como saco el carnet chileno",
                },
            }
            for attempt in itertools.count():  # Telegram redelivers until it gets a 200
                worker = workers[(chat + attempt) % 2]
                try:
                    async with http.post(
                        f"http://127.0.0.1:{worker.port}/webhooks/telegram",
                        json=body,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    ) as r:
                        if r.status == 200:
                            answered += 1
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)

        gate = asyncio.Semaphore(100)

        async def limited(http: aiohttp.ClientSession, chat: int) -> None:
            async with gate:
                await ask(http, chat)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            burst = asyncio.gather(*(limited(http, chat) for chat in users))
            await _until(lambda: answered >= 600, 120)
            await third.kill()
            await burst
        replies = Counter(s.chat_id for s in telegram.sent if s.chat_id in users)
        assert set(replies) == set(users)  # every question answered
        assert sum(replies.values()) - len(users) <= 100  # duplicates <= requests in flight
    finally:
        for worker in (first, second, third):
            if worker is not None:
                await worker.stop()
