"""Telegram webhook mode and a real SIGTERM to a running `sello-bot run` process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import replace

import aiohttp

from tests.conftest import bot_settings

USER = 5550101


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Prueba", "language_code": "es"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else [],
        },
    }


async def test_webhook_checks_the_secret_and_handles_each_update_once(
    telegram, run_bot, database_url
):
    port = free_port()
    settings = replace(
        bot_settings(database_url, telegram),
        http_port=port,
        telegram_webhook_url="https://bot.example.org/webhooks/telegram",
        telegram_secret=replace(
            bot_settings(database_url, telegram).telegram_token, value="s3cr3t"
        ),
    )
    await run_bot(settings)
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    for _ in range(50):
        if "setWebhook" in telegram.calls:
            break
        await asyncio.sleep(0.1)
    assert "setWebhook" in telegram.calls and "getUpdates" not in telegram.calls
    async with aiohttp.ClientSession() as http:
        forged = await http.post(
            url, json=update(1, "/menu"), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        missing = await http.post(url, json=update(2, "/menu"))
        assert (forged.status, missing.status) == (403, 403)
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t"}
        bad = await http.post(url, data=b"{not json", headers=headers)
        assert bad.status == 400
        for _ in range(2):  # Telegram retries the same update
            ok = await http.post(url, json=update(3, "/menu"), headers=headers)
            assert ok.status == 200
        health = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status == 200 and (await health.json())["status"] == "ok"
    await telegram.wait_sent(USER, 1)
    await telegram.settle()
    assert len(telegram.to(USER)) == 1


async def test_sigterm_finishes_in_flight_updates_and_exits_cleanly(telegram, database_url):
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": database_url,
        "SELLO_TELEGRAM_TOKEN": telegram.token,
        "SELLO_TELEGRAM_API_URL": telegram.api_url,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_HTTP_PORT": str(free_port()),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        telegram.message(USER, "/start")
        await telegram.wait_sent(USER, 2, timeout=60)
        for i in range(3):
            telegram.message(USER + 1 + i, "me atienden en el consultorio sin papeles?")
        await telegram.wait_sent(USER + 1, 1, timeout=30)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, output.decode()
    assert b"stopped" in output
    for i in range(3):
        assert len(telegram.to(USER + 1 + i)) == 1
    log = output.decode()
    assert "consultorio" not in log  # message texts stay out of the logs
