"""A platform outage longer than a reply's retries: the reply waits in the outbox and reaches
the user exactly once when the platform is back (it is never marked delivered unsent)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from storage.models import HandledUpdate, Outbox
from tests.conftest import bot_settings
from tests.fakes.graph_api import FakeGraph, text_of
from tests.test_telegram_webhook import free_port, update
from tests.test_whatsapp import PHONE, Hook, _rows, wa_settings

OUTAGE = 3.0  # seconds: longer than two tries of a direct reply (0.5 s apart)
USER = 5550101  # the user of tests.test_telegram_webhook.update


@pytest.fixture
async def graph():
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


async def test_telegram_reply_outlives_an_outage_and_arrives_once(telegram, run_bot, database_url):
    down_until = 0.0

    def outage(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        nonlocal down_until
        if method != "sendMessage":
            return None
        if not down_until:
            down_until = time.monotonic() + OUTAGE  # the outage starts with the first reply
        if time.monotonic() < down_until:
            return 502, {"description": "Bad Gateway"}
        return None

    port = free_port()
    base = bot_settings(database_url, telegram)
    settings = replace(
        base,
        http_port=port,
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_secret=replace(base.telegram_token, value="s3cr3t"),
        reply_attempts=2,
    )
    await run_bot(settings)
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        telegram.fail = outage
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t"}
        async with http.post(url, json=update(41, "/ayuda"), headers=headers) as r:
            assert r.status == 200
        # The direct reply gave up while the API was still down: the reply is in the outbox,
        # not confirmed as sent by a journal that says it was.
        assert time.monotonic() < down_until
        assert telegram.to(USER) == []
        [row] = await _rows(database_url, Outbox)
        assert row.chat_id == str(USER) and row.status in ("pending", "sending")
        [handled] = await _rows(database_url, HandledUpdate)
        assert handled.replied_at is not None and handled.replies is None
        # Telegram delivers the update again: it is not answered a second time.
        async with http.post(url, json=update(41, "/ayuda"), headers=headers) as r:
            assert r.status == 200
    [reply] = await telegram.wait_sent(USER, 1, timeout=20)
    assert time.monotonic() >= down_until
    assert reply.text == row.text and "/caso" not in reply.text  # a migrant's help
    await telegram.settle(quiet=1.0)
    assert len(telegram.to(USER)) == 1  # exactly one copy
    [row] = await _rows(database_url, Outbox)
    assert row.status == "sent" and row.attempts >= 2


async def test_whatsapp_reply_outlives_an_outage_and_arrives_once(graph, run_bot, database_url):
    settings = replace(wa_settings(database_url, graph), reply_attempts=2)
    await run_bot(settings)
    hook = Hook(settings.http_port)
    for _ in range(100):
        try:
            if await hook.post(b"{}") == 400:  # up (an empty call is malformed)
                break
        except Exception:
            pass
        await asyncio.sleep(0.1)
    graph.down_until = time.monotonic() + OUTAGE
    assert await hook.say(PHONE, "/ayuda") == 200
    for _ in range(100):  # the direct reply gives up while the Graph API is down
        rows = await _rows(database_url, Outbox)
        if rows:
            break
        await asyncio.sleep(0.05)
    assert time.monotonic() < graph.down_until
    assert graph.to(PHONE) == []
    [row] = rows
    assert row.chat_id == PHONE and row.status in ("pending", "sending")
    sent = await graph.wait(PHONE, 1, timeout=20)
    assert graph.refused >= 3  # two direct tries and at least one from the outbox
    await asyncio.sleep(1.5)
    assert len(graph.to(PHONE)) == 1  # exactly one copy
    assert text_of(sent[0]) == row.text
    [row] = await _rows(database_url, Outbox)
    assert row.status == "sent"
