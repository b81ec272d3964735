"""An unexpected error ends the same way on every channel (bot/failure.py): logged with its
traceback; the person gets the same apology, in their language; a platform that delivers
again is left to do so only when a later try can succeed (the database or the network), never
for a bug, which would fail the same way on every delivery. The console shows an error page."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from bot.channels.console import Console
from intents.i18n import texts
from intents.messages import Incoming, Reply
from storage.models import InboxEvent
from tests.conftest import bot_settings
from tests.fakes.graph_api import text_of
from tests.test_telegram_webhook import free_port, update
from tests.test_whatsapp import PHONE, Hook, _rows, wa_settings

APOLOGY = "Algo salió mal de mi lado. Intenta de nuevo en un momento."
FRENCH = "Bonjour, comment je peux renouveler mon titre de séjour au Chili ?"
USER = 5550101  # the user of tests.test_telegram_webhook.update


def apology(lang: str) -> str:
    return texts(lang)._(APOLOGY)


def bug(message: str = "a bug in a flow") -> Exception:
    return RuntimeError(message)


def database_down() -> Exception:
    return OperationalError("SELECT 1", {}, Exception("database is locked"))


def failing(
    engine: Any, error: Callable[[], Exception], times: int = 10**6
) -> Callable[[Incoming], Awaitable[list[Reply]]]:
    """The engine's handle, failing its first `times` messages with `error`."""
    handle = engine.handle
    left = [times]

    async def handle_or_fail(incoming: Incoming) -> list[Reply]:
        if left[0] > 0:
            left[0] -= 1
            raise error()
        return await handle(incoming)

    return handle_or_fail


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.failure" and r.exc_info is not None]


def test_the_apology_is_in_the_language_of_the_message_else_the_client():
    from bot.failure import apology as apology_for

    assert apology_for(FRENCH, "es").text == apology("fr")
    assert apology_for("ok", "en").text == apology("en")
    assert apology_for(None, None).text == APOLOGY
    assert apology("fr") != APOLOGY  # translated


async def test_telegram_polling_apologises_in_the_message_language(
    telegram, run_bot, database_url, caplog
):
    bot = await run_bot(bot_settings(database_url, telegram))
    bot.app.engine.handle = failing(bot.app.engine, bug)
    telegram.message(USER, FRENCH, lang="es")
    [sent] = await telegram.wait_sent(USER, 1)
    assert sent.text == apology("fr")
    assert tracebacks(caplog)


async def webhook_bot(telegram, run_bot, database_url) -> tuple[Any, str]:
    port = free_port()
    base = bot_settings(database_url, telegram)
    settings = replace(
        base,
        http_port=port,
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_secret=replace(base.telegram_token, value="s3cr3t"),
    )
    bot = await run_bot(settings)
    for _ in range(100):
        if "setWebhook" in telegram.calls:
            break
        await asyncio.sleep(0.1)
    return bot, f"http://127.0.0.1:{port}/webhooks/telegram"


async def post(url: str, body: dict[str, Any]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t"}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as r:
        return r.status


async def test_telegram_webhook_acknowledges_a_bug_with_the_apology(
    telegram, run_bot, database_url, caplog
):
    """A 500 would have Telegram deliver the update again for hours, to the same bug, while
    the person hears nothing."""
    bot, url = await webhook_bot(telegram, run_bot, database_url)
    bot.app.engine.handle = failing(bot.app.engine, bug)
    assert await post(url, update(71, "/ayuda")) == 200
    [sent] = await telegram.wait_sent(USER, 1)
    assert sent.text == APOLOGY  # the client's language: Spanish
    assert tracebacks(caplog)


async def test_telegram_webhook_leaves_a_database_error_to_the_next_delivery(
    telegram, run_bot, database_url
):
    bot, url = await webhook_bot(telegram, run_bot, database_url)
    bot.app.engine.handle = failing(bot.app.engine, database_down, times=1)
    assert await post(url, update(72, "/ayuda")) == 500  # Telegram delivers it again
    assert await post(url, update(72, "/ayuda")) == 200
    [sent] = await telegram.wait_sent(USER, 1)
    assert sent.text != APOLOGY and "/ayuda" not in sent.text  # the help itself, once
    await telegram.settle()
    assert len(telegram.to(USER)) == 1


@pytest.fixture
async def graph():
    from tests.fakes.graph_api import FakeGraph

    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


async def whatsapp_bot(graph, run_bot, database_url) -> tuple[Any, Hook]:
    settings = replace(wa_settings(database_url, graph), outbox_stale_seconds=1)
    bot = await run_bot(settings)
    hook = Hook(settings.http_port)
    for _ in range(100):
        try:
            if await hook.post(b"{}") == 400:  # up (an empty call is malformed)
                break
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    return bot, hook


async def test_whatsapp_answers_a_bug_with_the_apology_once_instead_of_silence(
    graph, run_bot, database_url, caplog
):
    bot, hook = await whatsapp_bot(graph, run_bot, database_url)
    bot.app.engine.handle = failing(bot.app.engine, bug)
    assert await hook.say(PHONE, FRENCH) == 200  # stored before the 200, as always
    [sent] = await graph.wait(PHONE, 1)
    assert text_of(sent) == apology("fr")
    for _ in range(50):  # the call is done: not processed again to the same bug
        if not await _rows(database_url, InboxEvent):
            break
        await asyncio.sleep(0.1)
    assert await _rows(database_url, InboxEvent) == []
    await asyncio.sleep(2.5)  # past the inbox's stale_after: nothing more comes
    assert len(graph.to(PHONE)) == 1
    assert tracebacks(caplog)


async def test_whatsapp_keeps_a_call_that_met_a_database_error_and_answers_it_later(
    graph, run_bot, database_url
):
    bot, hook = await whatsapp_bot(graph, run_bot, database_url)
    bot.app.engine.handle = failing(bot.app.engine, database_down, times=1)
    assert await hook.say(PHONE, "/ayuda") == 200
    [sent] = await graph.wait(PHONE, 1, timeout=20)
    assert text_of(sent) != APOLOGY  # the answer itself, on the inbox's next try


async def test_the_terminal_apologises_and_goes_on(app, caplog):
    out = io.StringIO()
    console = Console(app.engine, lang="en", out=out)
    app.engine.handle = failing(app.engine, bug, times=2)  # "/continuar", then the first line
    lines = ["hello there", "/ayuda"]

    def read() -> str:
        if not lines:
            raise EOFError  # Ctrl-D
        return lines.pop(0)

    await console.run(read)
    shown = out.getvalue()
    assert shown.count(apology("en")) == 2
    assert "/menu" in shown  # the chat went on: the help was answered
    assert tracebacks(caplog)
