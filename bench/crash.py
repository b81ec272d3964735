"""Crash figures: kill -9 of a `sello-bot run` worker in the middle of a burst of messages,
then a restart; for WhatsApp and Telegram (webhooks), on SQLite and PostgreSQL.

Prints, for each: messages acknowledged (HTTP 200), answered, lost (acknowledged but never
answered: must be 0), and duplicates (must stay within the messages in flight at the kill).

Run: python bench/crash.py [--messages 300] [--channels whatsapp,telegram]
     [--databases sqlite,postgresql] [--admin-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SELLO_CACHE_DIR", str(Path(tempfile.gettempdir()) / "sello-bot-test-cache"))

from bench.load import fresh_database  # noqa: E402
from tests.crash import crash_run  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    print(f"kill -9 after {args.kill_at:.0%} of {args.messages} messages were acknowledged")
    with tempfile.TemporaryDirectory() as tmp:
        for channel in args.channels.split(","):
            for database in args.databases.split(","):
                if database == "sqlite":
                    url = f"sqlite+aiosqlite:///{tmp}/crash-{channel}.db"
                else:
                    url = await fresh_database(args.admin_url, f"sello_crash_{channel}")
                started = time.perf_counter()
                figures = await crash_run(
                    channel, url, messages=args.messages, kill_at=args.kill_at
                )
                print(f"  {figures.line(database)}; {time.perf_counter() - started:.1f} s")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak RSS: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
        f"largest worker {children:.0f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--channels", default="whatsapp,telegram")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
