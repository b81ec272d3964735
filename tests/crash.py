"""A `kill -9` in the middle of a burst of messages to a real `python -m bot run` process
(WhatsApp or Telegram webhooks, fake platform APIs on loopback), then a restart.

The sender behaves like the platform: it posts each message until it gets a 200 (a refused
connection, a 5xx or a timeout is delivered again). Used by tests/test_crash.py (which
asserts) and bench/crash.py (which prints the figures).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraph, text_call
from tests.fakes.telegram_api import FakeTelegram
from tests.test_scale import Worker

APP_SECRET = "crash-app-secret"
TELEGRAM_SECRET = "crash-secret"
FIRST = 56_900_000_001  # fictitious numbers, +56 9 0000 0001 onwards
TEXT = "/ayuda"  # one reply of one message on both platforms


@dataclass(frozen=True)
class Figures:
    channel: str
    messages: int
    acknowledged: int  # got a 200 (in the end, every message)
    acknowledged_before_kill: int
    answered_before_kill: int
    answered: int  # acknowledged messages whose sender got the reply
    duplicates: int  # replies beyond one per message
    in_flight: int  # acknowledged but unanswered at the kill, plus requests open then

    @property
    def lost(self) -> int:
        return self.acknowledged - self.answered

    def line(self, database: str) -> str:
        return (
            f"{self.channel:8} {database:10} messages {self.messages}, acknowledged "
            f"{self.acknowledged} ({self.acknowledged_before_kill} before the kill), answered "
            f"{self.answered}, lost {self.lost}, duplicates {self.duplicates} "
            f"(in flight at the kill: {self.in_flight})"
        )


def _whatsapp_call(n: int) -> dict:
    return text_call(f"wamid.CRASH{n}", str(FIRST + n), TEXT)


def _telegram_update(n: int) -> dict:
    chat = FIRST + n
    return {
        "update_id": 700_000 + n,
        "message": {
            "message_id": 700_000 + n,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ana", "language_code": "es"},
            "text": TEXT,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(TEXT)}],
        },
    }


async def crash_run(
    channel: str,
    database_url: str,
    *,
    messages: int = 300,
    concurrency: int = 30,
    kill_at: float = 0.4,
    timeout: float = 90.0,
) -> Figures:
    """Send `messages` messages (one per sender); kill -9 the worker once `kill_at` of them
    were acknowledged; start another; wait until every acknowledged one is answered."""
    graph = FakeGraph()
    telegram = FakeTelegram()
    await graph.start()
    await telegram.start()
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": database_url,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_OUTBOX_STALE_SECONDS": "2",
        "SELLO_LOG_LEVEL": "WARNING",
    }
    if channel == "whatsapp":
        env.update(
            SELLO_WHATSAPP_TOKEN=TOKEN,
            SELLO_WHATSAPP_PHONE_ID=PHONE_ID,
            SELLO_WHATSAPP_APP_SECRET=APP_SECRET,
            SELLO_WHATSAPP_VERIFY_TOKEN="crash-verify",
            SELLO_WHATSAPP_API_URL=graph.api_url,
        )

        def replies() -> Counter[int]:
            return Counter(int(p.get("to", 0)) for p in graph.sent)

        def request(n: int) -> tuple[str, bytes, dict[str, str]]:
            raw = json.dumps(_whatsapp_call(n)).encode()
            mac = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={mac}"}
            return "/webhooks/whatsapp", raw, headers
    else:
        env.update(
            SELLO_TELEGRAM_TOKEN=telegram.token,
            SELLO_TELEGRAM_API_URL=telegram.api_url,
            SELLO_TELEGRAM_WEBHOOK_URL="https://bot.example.org/webhooks/telegram",
            SELLO_TELEGRAM_SECRET=TELEGRAM_SECRET,
        )

        def replies() -> Counter[int]:
            return Counter(s.chat_id for s in telegram.sent)

        def request(n: int) -> tuple[str, bytes, dict[str, str]]:
            raw = json.dumps(_telegram_update(n)).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            }
            return "/webhooks/telegram", raw, headers

    worker = await Worker(env).start()
    second: Worker | None = None
    acknowledged: set[int] = set()
    try:
        figures = await _burst(
            worker, env, request, replies, acknowledged, messages, concurrency, kill_at, timeout
        )
        second = figures[1]
        acked_at_kill, answered_at_kill, open_at_kill = figures[0]
        await asyncio.sleep(1.0)  # anything sent twice arrives now
        counts = replies()
        senders = {FIRST + n for n in acknowledged}
        answered = len(senders & set(counts))
        duplicates = sum(counts[s] - 1 for s in senders if counts[s] > 1)
        return Figures(
            channel=channel,
            messages=messages,
            acknowledged=len(acknowledged),
            acknowledged_before_kill=acked_at_kill,
            answered_before_kill=answered_at_kill,
            answered=answered,
            duplicates=duplicates,
            in_flight=acked_at_kill - answered_at_kill + open_at_kill,
        )
    finally:
        await worker.stop()
        if second is not None:
            await second.stop()
        await graph.stop()
        await telegram.stop()


async def _burst(
    first: Worker,
    env: dict[str, str],
    request: Callable[[int], tuple[str, bytes, dict[str, str]]],
    replies: Callable[[], Counter[int]],
    acknowledged: set[int],
    messages: int,
    concurrency: int,
    kill_at: float,
    timeout: float,
) -> tuple[tuple[int, int, int], Worker]:
    current = first
    open_requests = 0
    gate = asyncio.Semaphore(concurrency)

    async def deliver(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal open_requests
        path, raw, headers = request(n)
        async with gate:
            while True:  # the platform delivers again until it gets a 200
                open_requests += 1
                try:
                    url = f"http://127.0.0.1:{current.port}{path}"
                    async with http.post(url, data=raw, headers=headers) as r:
                        if r.status == 200:
                            acknowledged.add(n)
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                finally:
                    open_requests -= 1
                await asyncio.sleep(0.2)

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        burst = asyncio.gather(*(deliver(http, n) for n in range(messages)))
        while len(acknowledged) < kill_at * messages:
            if time.monotonic() > deadline:
                raise AssertionError("the burst did not progress")
            await asyncio.sleep(0.005)
        senders = {FIRST + n for n in acknowledged}
        at_kill = (len(acknowledged), len(senders & set(replies())), open_requests)
        await first.kill()
        current = await Worker(env).start()
        await burst
        while {FIRST + n for n in acknowledged} - set(replies()):
            if time.monotonic() > deadline:
                break  # the caller reports what was lost
            await asyncio.sleep(0.05)
    return at_kill, current
