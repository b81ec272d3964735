"""Bulletin pacing benchmark: the real dispatcher and Telegram sender against the fake Bot API
in another process, limited to 30 sendMessage calls over any sliding second (429 beyond).

Prints the share of sends answered 429 and the achieved rate, for a dispatcher set to
`--rate` (default 28/s: aim < 0.1% 429s and >= 95% of the configured rate).

Run: python bench/pacing.py [--rate 28] [--messages 1680] [--limit 30]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.broadcast import TOKEN, seed, start_fake  # noqa: E402
from bot.channels.telegram import TelegramSender  # noqa: E402
from bot.dispatcher import Dispatcher  # noqa: E402
from intents.bulletin import create  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.subscriptions import Audience  # noqa: E402


async def broadcast(url: str, port: int, rate: float, total: int) -> tuple[Counter[str], float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        await create(s, "Boletín de prueba de ritmo.", Audience(), None, datetime.now(UTC))
    outcomes: Counter[str] = Counter()
    sender = TelegramSender(TOKEN, f"http://127.0.0.1:{port}/bot")
    dispatcher = Dispatcher(
        sessions,
        {"telegram": sender},
        lambda: datetime.now(UTC),
        rate=rate,
        batch=500,
        concurrency=64,
        on_outcome=lambda _channel, outcome: outcomes.update([outcome]),
    )
    start = time.perf_counter()
    # Rows answered 429 come back due after retry_after; run until every row is sent.
    while outcomes["sent"] < total:
        if not await dispatcher.run_once("telegram"):
            await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    await sender.close()
    await engine.dispose()
    return outcomes, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=28.0, help="the dispatcher's rate")
    parser.add_argument("--limit", type=float, default=30.0, help="the fake platform's limit")
    parser.add_argument("--messages", type=int, default=1680, help="recipients (60 s at 28/s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/pacing.db"
        asyncio.run(seed(url, args.messages))
        fake, port = start_fake(args.limit)
        try:
            outcomes, elapsed = asyncio.run(broadcast(url, port, args.rate, args.messages))
        finally:
            fake.terminate()
    attempts = sum(outcomes.values())
    refused = outcomes["retry_after"]
    achieved = outcomes["sent"] / elapsed
    print(
        f"dispatcher at {args.rate:g}/s, platform limit {args.limit:g}/s over a sliding second, "
        f"{args.messages} recipients"
    )
    print(
        f"  {attempts} sends, {refused} answered 429: {100 * refused / attempts:.2f}% (aim < 0.1%)"
    )
    print(
        f"  {outcomes['sent']} delivered in {elapsed:.1f} s: {achieved:.2f} messages/s, "
        f"{100 * achieved / args.rate:.1f}% of the configured rate (aim >= 95%)"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
