"""Broadcast benchmark: a bulletin to 100,000 subscribers through the real dispatcher and
Telegram sender, against the fake Bot API running in another process on loopback.

(a) unlimited: how fast the dispatcher itself goes on SQLite (aim: >= 2,000 messages/s);
(b) the fake server limited to 30 messages/s and the dispatcher at 30/s, for a sample
    window: the sustained rate should be >= 95% of the limit.
Peak RSS is reported (memory must stay flat: rows are claimed in batches).

Run: python bench/broadcast.py [--subscribers 100000] [--window 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bot.channels.base import Delivery  # noqa: E402
from bot.channels.telegram import TelegramSender  # noqa: E402
from bot.dispatcher import Dispatcher  # noqa: E402
from intents.bulletin import create  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Subscription, User  # noqa: E402
from storage.subscriptions import Audience  # noqa: E402

TOKEN = "123456:BENCH"


def serve_fake(port_queue: multiprocessing.Queue, rate_limit: float | None) -> None:
    from tests.fakes.telegram_api import FakeTelegram

    async def main() -> None:
        fake = FakeTelegram(token=TOKEN, rate_limit=rate_limit)
        await fake.start()
        port_queue.put(fake.port)
        while True:
            await asyncio.sleep(1)
            fake.sent.clear()  # keep the fake's memory flat too

    asyncio.run(main())


def start_fake(rate_limit: float | None) -> tuple[multiprocessing.Process, int]:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve_fake, args=(queue, rate_limit), daemon=True)
    process.start()
    return process, queue.get(timeout=30)


async def seed(url: str, n: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with session_factory(engine)() as s, s.begin():
        for start in range(0, n, 10_000):
            chunk = range(start, min(n, start + 10_000))
            await s.execute(
                insert(User),
                [
                    {
                        "id": i + 1,
                        "channel": "telegram",
                        "external_id": str(10**6 + i),
                        "chat_id": str(10**6 + i),
                        "role": "migrant",
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for i in chunk
                ],
            )
            await s.execute(
                insert(Subscription),
                [
                    {"user_id": i + 1, "active": True, "created_at": now, "updated_at": now}
                    for i in chunk
                ],
            )
    await engine.dispose()


async def run(url: str, port: int, rate: float, stop_after: float | None) -> tuple[int, float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    async with sessions() as s, s.begin():
        bulletin = await create(s, "Boletín de prueba de carga.", Audience(), None, now)
        total = bulletin.total
    print(f"  bulletin written with {total} outbox rows in {time.perf_counter() - t0:.1f} s")
    sender = TelegramSender(TOKEN, f"http://127.0.0.1:{port}/bot")
    dispatcher = Dispatcher(
        sessions,
        {"telegram": sender},
        lambda: datetime.now(UTC),
        rate=rate,
        batch=500,
        concurrency=64,
    )
    sent = 0
    start = time.perf_counter()
    deadline = start + stop_after if stop_after else None
    while True:
        handled = await dispatcher.run_once("telegram")
        sent += handled
        if handled == 0 or (deadline and time.perf_counter() > deadline):
            break
    elapsed = time.perf_counter() - start
    await sender.close()
    await engine.dispose()
    return sent, elapsed


async def interactive(url: str, port: int, during_broadcast: bool, n: int = 200) -> list[float]:
    """Latency of questions (engine + reply) while idle, or while a broadcast runs at 25/s."""
    from bot.app import build_app
    from bot.settings import Settings
    from intents.messages import Incoming

    app = await build_app(Settings(database_url=url))
    sender = TelegramSender(TOKEN, f"http://127.0.0.1:{port}/bot")
    stop = asyncio.Event()
    runner = None
    if during_broadcast:
        async with app.sessions() as s, s.begin():
            await create(s, "Boletín.", Audience(), None, datetime.now(UTC))
        dispatcher = Dispatcher(
            app.sessions, {"telegram": sender}, lambda: datetime.now(UTC), rate=25
        )
        runner = asyncio.create_task(dispatcher.run(stop))
        await asyncio.sleep(2)  # the broadcast is in full swing
    timings = []
    for i in range(n):
        started = time.perf_counter()
        incoming = Incoming(
            "telegram",
            str(9_000_000 + i),
            str(9_000_000 + i),
            text="como saco el carnet chileno",
            update_id=f"q{during_broadcast}{i}",
        )
        for reply in await app.engine.handle(incoming):
            await sender.send(Delivery(incoming.chat_id, reply))
        timings.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)  # people chatting, not a flood
    stop.set()
    if runner is not None:
        await runner
    await sender.close()
    await app.close()
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=20.0, help="seconds for the 30/s run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/broadcast.db"
        t0 = time.perf_counter()
        asyncio.run(seed(url, args.subscribers))
        print(f"seeded {args.subscribers} subscribers in {time.perf_counter() - t0:.1f} s")

        fake, port = start_fake(None)
        print("(a) unlimited fake server")
        sent, elapsed = asyncio.run(run(url, port, rate=1e9, stop_after=None))
        print(f"  {sent} messages in {elapsed:.1f} s: {sent / elapsed:.0f} messages/s")
        fake.terminate()

        url_b = f"sqlite+aiosqlite:///{tmp}/broadcast_b.db"
        asyncio.run(seed(url_b, min(args.subscribers, 5_000)))
        fake, port = start_fake(30)
        print(f"(b) fake server limited to 30/s, dispatcher at 30/s, {args.window:.0f} s window")
        sent, elapsed = asyncio.run(run(url_b, port, rate=30, stop_after=args.window))
        rate = sent / elapsed
        print(
            f"  {sent} messages in {elapsed:.1f} s: {rate:.1f} messages/s "
            f"({100 * rate / 30:.0f}% of the limit)"
        )
        fake.terminate()

        fake, port = start_fake(30)
        url_c = f"sqlite+aiosqlite:///{tmp}/broadcast_c.db"
        asyncio.run(seed(url_c, 3_000))
        idle = asyncio.run(interactive(url_c, port, during_broadcast=False))
        busy = asyncio.run(interactive(url_c, port, during_broadcast=True))
        fake.terminate()

        def p95(xs: list[float]) -> float:
            return 1000 * xs[int(len(xs) * 0.95) - 1]

        print(
            "(c) questions answered while idle vs during a broadcast at 25/s "
            "(fake server limited to 30/s)"
        )
        print(
            f"  p95 idle {p95(idle):.1f} ms, during broadcast {p95(busy):.1f} ms "
            f"({p95(busy) / p95(idle):.2f}x)"
        )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
