"""Engine benchmark: messages/s through the whole engine (dedup, user, flow, matcher, SQLite).

1,000 simulated users each send a few questions and commands, many at once (as PTB's
concurrent update processing would), against a fresh SQLite database in WAL mode.

Run: python bench/engine.py [--users 1000] [--messages 5] [--concurrency 64] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from intents.flood import FloodLimiter  # noqa: E402
from intents.messages import Incoming  # noqa: E402

MESSAGES = [
    "como saco el carnet chileno",
    "hola",
    "/menu",
    "mi hijo puede ir al colegio sin rut?",
    "que es el sello migrante",
    "cuanto cuesta la prorroga de turismo",
    "me atienden en el consultorio sin papeles",
    "receta de empanadas",
    "gracias",
    "/ayuda",
]


async def run(users: int, per_user: int, concurrency: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        app = await build_app(Settings(database_url=db_url))
        app.engine.flood = FloodLimiter(capacity=per_user + 1)
        rng = random.Random(1)
        work = [
            Incoming(
                "bench",
                str(u),
                str(u),
                text=rng.choice(MESSAGES),
                update_id=f"{u}-{k}",
                language_hint="es",
            )
            for k in range(per_user)
            for u in range(users)
        ]
        queue: asyncio.Queue[Incoming] = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)
        latencies: list[float] = []

        async def worker() -> None:
            while not queue.empty():
                item = queue.get_nowait()
                t0 = time.perf_counter()
                replies = await app.engine.handle(item)
                latencies.append(time.perf_counter() - t0)
                assert replies, item

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        total = time.perf_counter() - start
        await app.close()
    latencies.sort()
    print(
        f"engine on {db_url.split(':')[0]}: {len(work)} messages from {users} users, "
        f"concurrency {concurrency}"
    )
    print(
        f"  {len(work) / total:.0f} messages/s; latency p50 "
        f"{1000 * statistics.median(latencies):.1f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99) - 1]:.1f} ms"
    )
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    asyncio.run(run(args.users, args.messages, args.concurrency, args.url))


if __name__ == "__main__":
    main()
