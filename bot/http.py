"""The aiohttp server: /healthz and the Telegram webhook (WhatsApp joins it later)."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
DB_KEY = web.AppKey("db", AsyncEngine)
TELEGRAM_KEY = web.AppKey("telegram", Application)
SECRET_KEY = web.AppKey("telegram_secret", str)


async def healthz(request: web.Request) -> web.Response:
    try:
        async with request.app[DB_KEY].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    expected = request.app[SECRET_KEY]
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.Response(status=403)
    try:
        data = json.loads(await request.read())
        application = request.app[TELEGRAM_KEY]
        update = Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError):
        return web.Response(status=400)
    if update is None:
        return web.Response(status=400)
    await application.update_queue.put(update)
    return web.Response(status=200)


def make_server(
    db: AsyncEngine,
    telegram: Application | None = None,  # type: ignore[type-arg]
    telegram_secret: str | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[DB_KEY] = db
    app.router.add_get("/healthz", healthz)
    if telegram is not None:
        app[TELEGRAM_KEY] = telegram
        app[SECRET_KEY] = telegram_secret or ""
        app.router.add_post("/webhooks/telegram", telegram_webhook)
    return app
