"""Webhooks fail closed: incomplete security settings stop `run`, and an empty secret never
authenticates anything at the HTTP layer, whatever the settings say."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSender
from bot.cli import main
from bot.http import make_server
from bot.settings import IncompleteSettings, Settings
from storage.models import InboxEvent
from tests.conftest import shipped
from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraph
from tests.test_telegram_webhook import free_port, update
from tests.test_whatsapp import envelope, message, value

ROOT = Path(__file__).resolve().parents[1]
WHATSAPP = {
    "SELLO_WHATSAPP_TOKEN": "tok",
    "SELLO_WHATSAPP_PHONE_ID": "1234",
    "SELLO_WHATSAPP_APP_SECRET": "app-secret",
    "SELLO_WHATSAPP_VERIFY_TOKEN": "verify-me",
}
TELEGRAM_WEBHOOK = {
    "SELLO_TELEGRAM_TOKEN": "123:abc",
    "SELLO_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram",
    "SELLO_TELEGRAM_SECRET": "s3cr3t-token_1",
}


def without(env: Mapping[str, str], name: str) -> dict[str, str]:
    return {key: val for key, val in env.items() if key != name}


@pytest.mark.parametrize(
    "env",
    [
        WHATSAPP,
        TELEGRAM_WEBHOOK,
        {**WHATSAPP, **TELEGRAM_WEBHOOK},
        {"SELLO_TELEGRAM_TOKEN": "123:abc"},  # polling needs no secret
        {"SELLO_TELEGRAM_TOKEN": "123:abc", "SELLO_TELEGRAM_SECRET": "unused"},
        {},
    ],
)
def test_complete_channel_settings_pass_the_check(env):
    Settings.from_env(env).check_channels()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        *[(without(WHATSAPP, name), name) for name in WHATSAPP],
        ({"SELLO_WHATSAPP_APP_SECRET": "app-secret"}, "SELLO_WHATSAPP_TOKEN"),
        ({**WHATSAPP, "SELLO_WHATSAPP_APP_SECRET": "   "}, "SELLO_WHATSAPP_APP_SECRET"),
        (without(TELEGRAM_WEBHOOK, "SELLO_TELEGRAM_SECRET"), "SELLO_TELEGRAM_SECRET"),
        (without(TELEGRAM_WEBHOOK, "SELLO_TELEGRAM_TOKEN"), "SELLO_TELEGRAM_TOKEN"),
        (
            {**TELEGRAM_WEBHOOK, "SELLO_TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook"},
            "SELLO_TELEGRAM_WEBHOOK_URL",
        ),
        ({**TELEGRAM_WEBHOOK, "SELLO_TELEGRAM_SECRET": "with spaces"}, "SELLO_TELEGRAM_SECRET"),
        ({**TELEGRAM_WEBHOOK, **without(WHATSAPP, "SELLO_WHATSAPP_APP_SECRET")}, "APP_SECRET"),
    ],
)
def test_incomplete_channel_settings_name_the_missing_variable(env, named):
    with pytest.raises(IncompleteSettings, match=named) as caught:
        Settings.from_env(env).check_channels()
    assert "\n" not in str(caught.value)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment without any channel variable, on a scratch database."""
    for name in os.environ:
        if name.startswith(("SELLO_TELEGRAM_", "SELLO_WHATSAPP_")):
            monkeypatch.delenv(name)
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    monkeypatch.setenv("SELLO_DATABASE_URL", url)
    return {**os.environ, "SELLO_DATABASE_URL": url}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (without(WHATSAPP, "SELLO_WHATSAPP_APP_SECRET"), "SELLO_WHATSAPP_APP_SECRET"),
        (without(WHATSAPP, "SELLO_WHATSAPP_VERIFY_TOKEN"), "SELLO_WHATSAPP_VERIFY_TOKEN"),
        (without(TELEGRAM_WEBHOOK, "SELLO_TELEGRAM_SECRET"), "SELLO_TELEGRAM_SECRET"),
    ],
)
def test_run_refuses_to_start_with_one_line_naming_the_variable(
    env, named, clean_env, monkeypatch, capsys
):
    for name, val in env.items():
        monkeypatch.setenv(name, val)
    assert main(["run"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and captured.out == ""


def test_python_m_bot_run_exits_at_once_without_the_app_secret(clean_env):
    env = {**clean_env, **without(WHATSAPP, "SELLO_WHATSAPP_APP_SECRET")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    [line] = done.stderr.strip().splitlines()
    assert done.returncode != 0 and "SELLO_WHATSAPP_APP_SECRET" in line


@asynccontextmanager
async def serving(server: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(server)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


async def test_whatsapp_event_signed_with_an_empty_key_is_refused(app: App, graph: FakeGraph):
    """The server is wired with an empty app secret (as the runner once did): a forged event
    with a valid HMAC over the empty key must still be refused, and never processed."""
    sender = WhatsAppSender(TOKEN, PHONE_ID, graph.api_url)
    channel = WhatsAppChannel(app.engine, sender, app_secret="")
    server = make_server([channel.routes()])
    raw = json.dumps(envelope(value([message("56900000001", text="/boletin")]))).encode()
    forged = "sha256=" + hmac.new(b"", raw, hashlib.sha256).hexdigest()
    try:
        async with serving(server) as base, aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}/webhooks/whatsapp",
                data=raw,
                headers={"X-Hub-Signature-256": forged, "Content-Type": "application/json"},
            ) as answer:
                assert answer.status == 403
            handshake = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
            async with http.get(f"{base}/webhooks/whatsapp", params=handshake) as answer:
                assert answer.status == 403
        async with app.sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(InboxEvent))
        assert stored == 0  # refused before the inbox: nothing will ever be processed
        assert graph.sent == []
    finally:
        await sender.close()


async def test_telegram_update_with_an_empty_secret_is_refused(app: App, telegram):
    channel = TelegramChannel(
        app.engine, telegram.token, api_url=telegram.api_url, webhook=True, secret=""
    )
    server = make_server([channel.routes()])
    try:
        async with serving(server) as base, aiohttp.ClientSession() as http:
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": ""}, {}):
                async with http.post(
                    f"{base}/webhooks/telegram", json=update(1, "/menu"), headers=headers
                ) as answer:
                    assert answer.status == 403
    finally:
        await channel.sender.close()
    assert "sendMessage" not in telegram.calls


async def test_serving_in_process_also_refuses_incomplete_settings(database_url):
    """Defence in depth for callers of serve() that skip the CLI: nothing starts listening."""
    from dataclasses import replace

    from bot.app import build_app
    from bot.runner import serve

    port = free_port()
    settings = replace(
        Settings.from_env(without(WHATSAPP, "SELLO_WHATSAPP_APP_SECRET")),
        database_url=database_url,
        http_host="127.0.0.1",
        http_port=port,
    )
    app = await build_app(settings, **shipped())
    with pytest.raises(IncompleteSettings, match="SELLO_WHATSAPP_APP_SECRET"):
        await asyncio.wait_for(serve(app, signals=False), 10)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/healthz")
