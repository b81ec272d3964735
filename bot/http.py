"""The aiohttp server: /healthz, /metrics, and the webhooks of the enabled channels (Telegram,
WhatsApp's verification and events). Our own server, not python-telegram-bot's: one process
serves every channel, so PTB's webhooks extra (tornado) is not used."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel, telegram_update
from bot.channels.whatsapp import WhatsAppChannel, signature_ok
from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from storage.health import prove_writable

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
DB_KEY = web.AppKey("db", AsyncEngine)
TELEGRAM_KEY = web.AppKey("telegram", TelegramChannel)
SECRET_KEY = web.AppKey("telegram_secret", str)
DISPATCHER_KEY = web.AppKey("dispatcher", Dispatcher)
METRICS_KEY = web.AppKey("metrics", Metrics)
SESSIONS_KEY = web.AppKey("sessions", async_sessionmaker)
WHATSAPP_KEY = web.AppKey("whatsapp", WhatsAppChannel)
WA_SECRET_KEY = web.AppKey("whatsapp_app_secret", str)
WA_VERIFY_KEY = web.AppKey("whatsapp_verify_token", str)


STALLED_AFTER = 60.0  # seconds without a dispatcher round


async def healthz(request: web.Request) -> web.Response:
    """The database accepts a write and, when this process dispatches, the dispatcher alive.

    A write, not a SELECT: a full disk, a read-only or a locked database still answer reads,
    and the bot can do nothing useful without writing.
    """
    report = {"status": "ok", "database": "ok"}
    status = 200
    try:
        async with asyncio.timeout(5):
            await prove_writable(request.app[DB_KEY])
    except Exception as exc:
        log.warning("health check: the database does not accept writes: %r", exc)
        report.update(status="error", database="not writable")
        status = 503
    dispatcher = request.app.get(DISPATCHER_KEY)
    if dispatcher is not None:
        idle = time.monotonic() - dispatcher.alive_at
        report["dispatcher"] = "ok" if idle < STALLED_AFTER else "stalled"
        if idle >= STALLED_AFTER:
            report["status"] = "error"
            status = 503
    return web.json_response(report, status=status)


async def prometheus(request: web.Request) -> web.Response:
    body = await request.app[METRICS_KEY].render(request.app[SESSIONS_KEY])
    return web.Response(
        body=body,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; ValueError for anything else: bad JSON or UTF-8,
    another JSON type, or nesting deeper than the parser's recursion (RecursionError)."""
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty secret matches nothing. aiohttp hands over header
    bytes that are not UTF-8 as surrogate escapes: encoded back, they simply differ."""
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def refused(channel: str, exc: BaseException) -> web.Response:
    """A 400 with one log line: a crafted body is the sender's problem, not a server error
    (and a 500 would make Telegram deliver it again, in a loop)."""
    log.info("%s webhook: malformed body refused (%s)", channel, exc)
    return web.Response(status=400)


async def telegram_webhook(request: web.Request) -> web.Response:
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not same_secret(given, request.app[SECRET_KEY]):
        return web.Response(status=403)
    channel = request.app[TELEGRAM_KEY]
    try:
        async with asyncio.timeout(10):
            raw = await request.read()
        update = telegram_update(json_object(raw), channel.application.bot)
    except ValueError as exc:
        return refused("Telegram", exc)
    # Handled before answering: if this worker fails or dies, Telegram gets no 200 and
    # delivers the update again (deduplicated, with unsent replies journaled).
    try:
        await channel.handle(update)
    except Exception:
        log.exception("error while handling a Telegram webhook update")
        return web.Response(status=500)
    return web.Response(status=200)


async def whatsapp_verify(request: web.Request) -> web.Response:
    """The subscription handshake: echo hub.challenge when the verify token matches."""
    query = request.query
    expected = request.app[WA_VERIFY_KEY]
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") == "subscribe" and same_secret(token, expected):
        return web.Response(text=query.get("hub.challenge", ""))
    return web.Response(status=403)


async def whatsapp_event(request: web.Request) -> web.Response:
    """Verify the signature on the raw bytes, store the call, then acknowledge it: WhatsApp
    never delivers a call again after a 200, so one that cannot be stored gets a 503."""
    async with asyncio.timeout(10):  # a slow sender cannot hold a connection forever
        raw = await request.read()
    header = request.headers.get("X-Hub-Signature-256")
    if header is None:
        return web.Response(status=401)
    if not signature_ok(request.app[WA_SECRET_KEY], raw, header):
        return web.Response(status=403)
    try:
        await request.app[WHATSAPP_KEY].accept(raw)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        return refused("WhatsApp", exc)
    except Exception:
        log.exception("WhatsApp call not stored; answered 503 so that it is delivered again")
        return web.Response(status=503)
    return web.Response(status=200)


def make_server(
    db: AsyncEngine,
    *,
    dispatcher: Dispatcher | None = None,
    metrics: Metrics | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    telegram: TelegramChannel | None = None,
    telegram_secret: str | None = None,
    whatsapp: WhatsAppChannel | None = None,
    whatsapp_app_secret: str = "",
    whatsapp_verify_token: str = "",
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[DB_KEY] = db
    if dispatcher is not None:
        app[DISPATCHER_KEY] = dispatcher
    app.router.add_get("/healthz", healthz)
    if metrics is not None and sessions is not None:
        app[METRICS_KEY] = metrics
        app[SESSIONS_KEY] = sessions
        app.router.add_get("/metrics", prometheus)
    if whatsapp is not None:
        app[WHATSAPP_KEY] = whatsapp
        app[WA_SECRET_KEY] = whatsapp_app_secret
        app[WA_VERIFY_KEY] = whatsapp_verify_token
        app.router.add_get("/webhooks/whatsapp", whatsapp_verify)
        app.router.add_post("/webhooks/whatsapp", whatsapp_event)
    if telegram is not None:
        app[TELEGRAM_KEY] = telegram
        app[SECRET_KEY] = telegram_secret or ""
        app.router.add_post("/webhooks/telegram", telegram_webhook)
    return app
