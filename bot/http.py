"""The aiohttp server: it serves the routes of the parts it is given (the enabled channels'
webhooks, /healthz, /metrics, the web console) and knows none of them. Our own server, not
python-telegram-bot's: one process serves every channel, so PTB's webhooks extra (tornado)
is not used."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiohttp import web

from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from bot.routes import Routes
from storage.db import Database, Sessions
from storage.health import prove_writable

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
STALLED_AFTER = 60.0  # seconds without a dispatcher round


def make_server(parts: Iterable[Routes]) -> web.Application:
    """One server for every part; two parts claiming the same route fail here, at start."""
    app = web.Application(client_max_size=MAX_BODY)
    for part in parts:
        if part.setup is not None:
            part.setup(app)
        app.add_routes(part.routes)
    return app


def health(db: Database, dispatcher: Dispatcher | None = None) -> Routes:
    """/healthz: the database accepts a write and, when this process dispatches, the
    dispatcher is alive.

    A write, not a SELECT: a full disk, a read-only or a locked database still answer reads,
    and the bot can do nothing useful without writing.
    """

    async def healthz(request: web.Request) -> web.Response:
        report = {"status": "ok", "database": "ok"}
        status = 200
        try:
            async with asyncio.timeout(5):
                await prove_writable(db)
        except Exception as exc:
            log.warning("health check: the database does not accept writes: %r", exc)
            report.update(status="error", database="not writable")
            status = 503
        if dispatcher is not None:
            idle = time.monotonic() - dispatcher.alive_at
            report["dispatcher"] = "ok" if idle < STALLED_AFTER else "stalled"
            if idle >= STALLED_AFTER:
                report["status"] = "error"
                status = 503
        return web.json_response(report, status=status)

    return Routes([web.get("/healthz", healthz)])


def metrics(collected: Metrics, sessions: Sessions) -> Routes:
    """/metrics: Prometheus' text format."""

    async def prometheus(request: web.Request) -> web.Response:
        body = await collected.render(sessions)
        return web.Response(
            body=body,
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    return Routes([web.get("/metrics", prometheus)])
