"""WhatsApp webhook acknowledgement latency: how fast a `sello-bot run` worker answers 200
to signed calls arriving at a steady rate (each call is stored in the inbox before its 200),
while the same worker processes and answers them. SQLite and PostgreSQL.

Open loop: call i is posted at start + i / rate whatever the previous calls' fate, as Meta
does. Prints the latency of the 200 (p50, p99, max), calls not answered 200, how long the
worker took to answer every message, and peak RSS.

Run: python bench/webhook_ack.py [--rate 100] [--seconds 20] [--users 500]
     [--databases sqlite,postgresql] [--admin-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SELLO_CACHE_DIR", str(Path(tempfile.gettempdir()) / "sello-bot-test-cache"))

from bench.load import QUESTIONS, fresh_database  # noqa: E402
from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraph, text_call  # noqa: E402
from tests.test_scale import Worker  # noqa: E402

SECRET = "bench-app-secret"
FIRST = 56_900_000_001  # fictitious numbers


def call(n: int, users: int) -> bytes:
    body = text_call(f"wamid.BENCH{n}", str(FIRST + n % users), QUESTIONS[n % len(QUESTIONS)])
    return json.dumps(body).encode()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(url: str, database: str, args: argparse.Namespace) -> None:
    graph = FakeGraph()
    await graph.start()
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": url,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_LOG_LEVEL": "WARNING",
        "SELLO_WHATSAPP_TOKEN": TOKEN,
        "SELLO_WHATSAPP_PHONE_ID": PHONE_ID,
        "SELLO_WHATSAPP_APP_SECRET": SECRET,
        "SELLO_WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "SELLO_WHATSAPP_API_URL": graph.api_url,
    }
    worker = await Worker(env).start()
    total = int(args.rate * args.seconds)
    bodies = [call(n, args.users) for n in range(total)]
    latencies: list[float] = []
    refused = 0
    target = f"http://127.0.0.1:{worker.port}/webhooks/whatsapp"
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
        ) as http:

            async def post(raw: bytes) -> None:
                nonlocal refused
                mac = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
                headers = {
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": f"sha256={mac}",
                }
                started = time.perf_counter()
                async with http.post(target, data=raw, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        refused += 1
                latencies.append(time.perf_counter() - started)

            begin = time.perf_counter()
            tasks = []
            for n, raw in enumerate(bodies):
                delay = begin + n / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(raw)))
            await asyncio.gather(*tasks)
            sent_for = time.perf_counter() - begin
            for _ in range(1200):  # at most two minutes for the backlog
                if len(graph.sent) >= total:
                    break
                await asyncio.sleep(0.1)
            drained = time.perf_counter() - begin
        rss = peak_rss_mb(worker.process.pid) if worker.process else float("nan")
    finally:
        await worker.stop()
        await graph.stop()
    latencies.sort()
    ms = [1000 * x for x in latencies]
    print(
        f"  {database:10} {total} calls at {total / sent_for:.0f}/s: 200 in p50 "
        f"{statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, "
        f"max {ms[-1]:.1f} ms; not 200: {refused}; replies {len(graph.sent)}/{total} "
        f"after {drained:.1f} s; worker peak RSS {rss:.0f} MB"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"WhatsApp webhook, one worker, {args.rate:.0f} calls/s for {args.seconds:.0f} s "
        f"from {args.users} users (KB questions)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for database in args.databases.split(","):
            if database == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp}/ack.db"
            else:
                url = await fresh_database(args.admin_url, "sello_ack")
            await measure(url, database, args)
    print(
        f"  bench process peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--admin-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
