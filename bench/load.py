"""Load benchmark: simulated users asking questions through the Telegram webhook path, on
PostgreSQL, served by two `sello-bot run` worker processes.

Each user sends its questions one after the other (the next when the previous is answered),
all users at once. Latency is from posting the update to a worker's webhook to the reply
reaching the (fake) Bot API; every update must be answered exactly once.

Run: python bench/load.py [--users 1000] [--questions 3] [--workers 2]
     [--admin-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

QUESTIONS = [
    "como saco el carnet chileno",
    "me atienden en el consultorio si no tengo papeles",
    "mi hijo puede ir al colegio sin rut",
    "que es el sello migrante",
    "cuanto cuesta la prorroga de turismo",
    "quiero pedir refugio",
    "Mwen bezwen fè papye rezidans mwen, kisa pou m fè?",
    "comment prolonger mon séjour de touriste au Chili",
    "how do I check the status of my residence application",
    "receta de empanadas de pino",
]
SECRET = "load-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fresh_database(admin_url: str, name: str) -> str:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def main(args: argparse.Namespace) -> None:
    url = await fresh_database(args.admin_url, "sello_load")
    fake = FakeTelegram(max_hold=0.2)
    await fake.start()
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": url,
        "SELLO_TELEGRAM_TOKEN": fake.token,
        "SELLO_TELEGRAM_API_URL": fake.api_url,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
        "SELLO_TELEGRAM_SECRET": SECRET,
        "SELLO_LOG_LEVEL": "WARNING",
    }
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    await upgrade.wait()
    ports = [free_port() for _ in range(args.workers)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env={**env, "SELLO_HTTP_PORT": str(port)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        async with aiohttp.ClientSession() as http:
            for port in ports:  # wait until every worker is up
                for _ in range(300):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            await run_load(http, fake, ports, args)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await worker.wait()
        await fake.stop()


async def run_load(
    http: aiohttp.ClientSession, fake: FakeTelegram, ports: list[int], args: argparse.Namespace
) -> None:
    update_ids = itertools.count(1)
    latencies: list[float] = []
    rng = random.Random(5)
    targets = itertools.cycle(ports)

    async def user(n: int) -> None:
        chat = 10_000_000 + n
        for _ in range(args.questions):
            before = len(fake.to(chat))
            update_id = next(update_ids)
            body = {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "from": {
                        "id": chat,
                        "is_bot": False,
                        "first_name": "Carga",
                        "language_code": "es",
                    },
                    "text": rng.choice(QUESTIONS),
                },
            }
            started = time.perf_counter()
            async with http.post(
                f"http://127.0.0.1:{next(targets)}/webhooks/telegram",
                json=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as r:
                assert r.status == 200, r.status
            await fake.wait_sent(chat, before + 1, timeout=120)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(args.users)))
    total = time.perf_counter() - started
    await asyncio.sleep(1)
    per_chat = Counter(s.chat_id for s in fake.sent)
    answered_once = all(count == args.questions for count in per_chat.values())
    latencies.sort()
    messages = args.users * args.questions
    print(
        f"{args.users} users x {args.questions} questions through the webhook, "
        f"{len(ports)} workers on PostgreSQL"
    )
    print(
        f"  {messages / total:.0f} messages/s; latency p50 "
        f"{1000 * statistics.median(latencies):.0f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99) - 1]:.0f} ms"
    )
    print(
        f"  every update answered exactly once: {answered_once} "
        f"({sum(per_chat.values())} replies for {messages} questions)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
