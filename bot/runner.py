"""`sello-bot run`: serve the configured channels until SIGTERM/SIGINT, then stop cleanly.

What is served is built by the composition root (bot/app.py `build_server`); this module is
only the order of things: the channels get ready, the HTTP server listens, the dispatcher
and the daily purge run; on stop, the same in reverse, each part finishing what it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web

from bot.app import App, Server, build_server
from bot.channels.base import Channel
from bot.retention import run_daily

log = logging.getLogger(__name__)


async def serve(app: App, stop: asyncio.Event | None = None, *, signals: bool = True) -> None:
    """Run until `stop` is set (or a stop signal arrives); in-flight work finishes first."""
    try:
        app.settings.check_channels()  # fail closed before anything listens (the CLI says it first)
        server = build_server(app)
    except Exception:
        await app.close()
        raise
    stop = stop or asyncio.Event()
    if signals:
        _stop_on_signals(stop)
    freeze_what_was_loaded()
    runner = web.AppRunner(server.http, handle_signals=False)
    await runner.setup()
    started: list[Channel] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for channel in server.channels:
            started.append(channel)  # stopped even if its start fails half-way
            await channel.start()
        settings = app.settings
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
        tasks.append(asyncio.create_task(server.dispatcher.run(stop)))
        tasks.append(
            asyncio.create_task(
                run_daily(app.sessions, settings.retention_days, app.engine.clock, stop)
            )
        )
        await stop.wait()
        log.info("stopping: finishing in-flight work")
    finally:
        await _shut_down(app, server, runner, started, stop, tasks)


async def _shut_down(
    app: App,
    server: Server,
    runner: web.AppRunner,
    started: list[Channel],
    stop: asyncio.Event,
    tasks: list[asyncio.Task[None]],
) -> None:
    """In this order: stop taking requests (webhook requests under way complete), let the
    channels finish what they accepted, then the dispatcher's current round, and only then
    close the senders they all use."""
    await runner.cleanup()
    for channel in reversed(started):
        try:
            await channel.stop()
        except Exception:
            log.exception("%s did not stop cleanly", channel.name)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in server.channels:
        await channel.close()
    await app.close()
    log.info("stopped")


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not available off the main thread or on Windows: then Ctrl-C/terminate as usual.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def freeze_what_was_loaded() -> None:
    """What was loaded at start (the knowledge base, the matcher's arrays and vocabularies)
    lives as long as the process: kept out of the collector's full passes, which would
    otherwise walk it all and pause the event loop (and every webhook's 200) for a while."""
    gc.collect()
    gc.freeze()
