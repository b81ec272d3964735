"""Crafted webhook requests get a 4xx and one log line, never a 500 and a traceback (a 500
makes Telegram deliver the same update again, in a loop)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.channels.base import Delivery, Outcome
from bot.channels.telegram import TelegramSender
from bot.settings import Secret
from intents.messages import Reply
from tests.test_telegram_webhook import update
from tests.test_whatsapp import SECRET, envelope, graph, message, value, wa_settings  # noqa: F401

TG_SECRET = "s3cr3t"
USER = 5550101
DEEP = 100_000


class Server:
    def __init__(self, port: int) -> None:
        self.port = port

    async def raw_post(self, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
        """A POST written byte by byte: lets a header carry bytes that are not UTF-8."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [
            b"POST " + path.encode() + b" HTTP/1.1",
            b"Host: 127.0.0.1",
            b"Content-Type: application/json",
            b"Content-Length: " + str(len(body)).encode(),
            b"Connection: close",
            *(name + b": " + val for name, val in headers),
        ]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return int(status_line.split()[1])

    async def telegram(self, body: bytes | dict[str, Any], secret: bytes = TG_SECRET.encode()):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.raw_post(
            "/webhooks/telegram", raw, [(b"X-Telegram-Bot-Api-Secret-Token", secret)]
        )

    async def whatsapp(self, raw: bytes) -> int:
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        return await self.raw_post(
            "/webhooks/whatsapp", raw, [(b"X-Hub-Signature-256", signature.encode())]
        )


@pytest.fixture
async def server(graph, telegram, run_bot, database_url):  # noqa: F811
    settings = replace(
        wa_settings(database_url, graph, telegram),
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_secret=Secret(TG_SECRET),
    )
    await run_bot(settings)
    for _ in range(100):
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{settings.http_port}/healthz") as r,
            ):
                if r.status == 200 and "setWebhook" in telegram.calls:
                    break
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    return Server(settings.http_port)


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def with_message(**fields: Any) -> dict[str, Any]:
    body = update(7, "hola")
    body["message"].update(fields)
    return body


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]


def replies_chain(levels: int) -> dict[str, Any]:
    """A message replying to a message replying to... : within json's nesting limit, but
    parsed recursively (several frames a level) by the Bot API library."""
    body = update(8, "hola")
    inner = body["message"]
    for _ in range(levels):
        inner["reply_to_message"] = dict(update(8, "hola")["message"])
        inner = inner["reply_to_message"]
    return body


CRAFTED_TELEGRAM = {
    "deep_json": deep(DEEP),
    "deep_object": b'{"update_id": 1, "message": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}",
    "deep_replies": json.dumps(replies_chain(600)).encode(),
    "text_number": json.dumps(with_message(text=123)).encode(),
    "text_object": json.dumps(with_message(text={"a": 1})).encode(),
    "chat_id_text": json.dumps(with_message(chat={"id": "abc", "type": "private"})).encode(),
    "chat_id_float": json.dumps(with_message(chat={"id": 1.5, "type": "private"})).encode(),
    "user_id_text": json.dumps(
        with_message(**{"from": {"id": "zz", "is_bot": False, "first_name": "P"}})
    ).encode(),
    "language_number": json.dumps(
        with_message(
            **{"from": {"id": USER, "is_bot": False, "first_name": "P", "language_code": 5}}
        )
    ).encode(),
    "update_id_text": json.dumps({**update(9, "hola"), "update_id": "nueve"}).encode(),
    "callback_data_number": json.dumps(
        {
            "update_id": 10,
            "callback_query": {
                "id": "1",
                "chat_instance": "c",
                "from": {"id": USER, "is_bot": False, "first_name": "P"},
                "data": 5,
            },
        }
    ).encode(),
    "a_list": b"[1, 2]",
    "a_number": b"5",
}


@pytest.mark.parametrize("name", sorted(CRAFTED_TELEGRAM))
async def test_crafted_telegram_updates_get_a_400_and_one_line(server, telegram, caplog, name):
    caplog.set_level(logging.INFO)
    assert await server.telegram(CRAFTED_TELEGRAM[name]) == 400
    assert tracebacks(caplog) == []
    refused = [r for r in caplog.records if r.name == "bot.routes"]
    assert len(refused) == 1 and "\n" not in refused[0].getMessage()
    assert await server.telegram(update(11, "/menu")) == 200  # and the server still serves
    await telegram.wait_sent(USER, 1)


async def test_a_secret_header_that_is_not_utf8_gets_a_403(server, telegram, caplog):
    caplog.set_level(logging.INFO)
    for secret in (b"\xff\xfe", TG_SECRET.encode() + b"\xc3", b"s3cr\xe9t"):
        assert await server.telegram(update(12, "/menu"), secret=secret) == 403
    assert tracebacks(caplog) == []
    assert "sendMessage" not in telegram.calls


@pytest.mark.parametrize(
    "raw", [deep(DEEP), b'{"object": ' + deep(DEEP) + b"}"], ids=["array", "in_object"]
)
async def test_deeply_nested_whatsapp_json_gets_a_400(server, graph, caplog, raw):  # noqa: F811
    caplog.set_level(logging.INFO)
    assert await server.whatsapp(raw) == 400
    assert tracebacks(caplog) == []
    assert len([r for r in caplog.records if r.name == "bot.routes"]) == 1
    ok = json.dumps(envelope(value([message("56900000001", text="hola")]))).encode()
    assert await server.whatsapp(ok) == 200
    await graph.wait("56900000001", 1)


async def test_a_whatsapp_text_that_is_a_number_or_an_object_is_handled(
    server,
    graph,  # noqa: F811
    caplog,
):
    """The body is read as text (a number is a question like any other); nothing crashes."""
    caplog.set_level(logging.INFO)
    for i, body in enumerate((123, {"a": 1}, None, [1])):
        sender = f"5690000001{i}"
        item = message(sender, text="x")
        item["text"] = {"body": body}
        raw = json.dumps(envelope(value([item]))).encode()
        assert await server.whatsapp(raw) == 200
        await graph.wait(sender, 1)
    assert tracebacks(caplog) == []


async def test_an_outbox_row_whose_chat_id_is_not_an_integer_fails_without_raising(telegram):
    """A row stored with a chat id that no Telegram chat has (e.g. before these checks) is a
    permanent failure for the dispatcher, not an exception that stops its round."""
    sender = TelegramSender(telegram.token, telegram.api_url)
    try:
        for chat_id in ("abc", "", "1.5"):
            result = await sender.send(Delivery(chat_id, Reply("hola")))
            assert result.outcome is Outcome.PERMANENT
        assert (await sender.send(Delivery(str(USER), Reply("hola")))).outcome is Outcome.SENT
    finally:
        await sender.close()
    assert [s.chat_id for s in telegram.sent] == [USER]
