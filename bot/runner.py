"""`sello-bot run`: serve the configured channels until SIGTERM/SIGINT, then stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from datetime import timedelta

from aiohttp import web
from telegram import Update

from bot.app import App
from bot.channels.base import Sender
from bot.channels.telegram import TelegramChannel, register_commands
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSender
from bot.console import setup as setup_console
from bot.delivery import build_dispatcher
from bot.http import make_server
from bot.retention import run_daily
from bot.settings import IncompleteSettings, Settings

log = logging.getLogger(__name__)


def _whatsapp(app: App, settings: Settings) -> tuple[WhatsAppChannel, WhatsAppSender] | None:
    if not settings.whatsapp_enabled:
        return None
    assert settings.whatsapp_token is not None and settings.whatsapp_phone_id is not None
    sender = WhatsAppSender(
        settings.whatsapp_token.value,
        settings.whatsapp_phone_id,
        settings.whatsapp_api_url,
        bulletin_template=settings.whatsapp_bulletin_template,
        reply_template=settings.whatsapp_reply_template,
    )
    channel = WhatsAppChannel(
        app.engine,
        sender,
        retries=settings.reply_attempts,
        stale_after=timedelta(seconds=settings.outbox_stale_seconds),
    )
    return channel, sender


async def serve(app: App, stop: asyncio.Event | None = None, *, signals: bool = True) -> None:
    """Run until `stop` is set (or a stop signal arrives); in-flight work finishes first."""
    settings = app.settings
    try:
        settings.check_channels()  # fail closed before anything listens (the CLI says it first)
    except IncompleteSettings:
        await app.close()
        raise
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT) if signals else ():
        # Not available off the main thread or on Windows: then Ctrl-C/terminate as usual.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    token = settings.telegram_token.value if settings.telegram_token is not None else ""
    webhook = settings.telegram_webhook_url is not None
    telegram = (
        TelegramChannel(
            app.engine,
            token,
            api_url=settings.telegram_api_url,
            webhook=webhook,
            reply_attempts=settings.reply_attempts,
        )
        if token
        else None
    )
    whatsapp = _whatsapp(app, settings)
    senders: dict[str, Sender] = {}
    if telegram is not None:
        senders["telegram"] = telegram.sender
    if whatsapp is not None:
        senders["whatsapp"] = whatsapp[1]
    dispatcher = build_dispatcher(settings, app.engine, senders, app.metrics, app.db)
    server = make_server(
        app.db,
        dispatcher=dispatcher,
        metrics=app.metrics,
        sessions=app.sessions,
        telegram=telegram if telegram is not None and webhook else None,
        telegram_secret=settings.telegram_secret.value if settings.telegram_secret else None,
        whatsapp=whatsapp[0] if whatsapp else None,
        whatsapp_app_secret=settings.whatsapp_app_secret.value
        if settings.whatsapp_app_secret
        else "",
        whatsapp_verify_token=settings.whatsapp_verify_token.value
        if settings.whatsapp_verify_token
        else "",
    )
    setup_console(server, app.engine, settings.public_url)
    # What was loaded at start (the knowledge base, the matcher's arrays and vocabularies)
    # lives as long as the process: kept out of the collector's full passes, which would
    # otherwise walk it all and pause the event loop (and every webhook's 200) for a while.
    gc.collect()
    gc.freeze()
    runner = web.AppRunner(server, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    tasks: list[asyncio.Task[None]] = []
    inbox_stop = asyncio.Event()  # set once no more webhook calls can arrive
    inbox_task: asyncio.Task[None] | None = None
    started_telegram = False
    try:
        if telegram is not None:
            await telegram.application.initialize()
            await telegram.application.start()
            started_telegram = True
            await register_commands(telegram.application)
        await site.start()
        log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
        tasks.append(asyncio.create_task(dispatcher.run(stop)))
        tasks.append(
            asyncio.create_task(
                run_daily(app.sessions, settings.retention_days, app.engine.clock, stop)
            )
        )
        if whatsapp is not None:
            # Calls stored before a crash or stop are taken up again at once.
            inbox_task = asyncio.create_task(whatsapp[0].inbox.run(inbox_stop))
            log.info("WhatsApp: webhook at /webhooks/whatsapp")
        if telegram is not None:
            await _start_telegram(telegram, settings)
        await stop.wait()
        log.info("stopping: finishing in-flight work")
    finally:
        # In this order: stop taking requests (webhook requests under way complete), let
        # the channels finish what they accepted, then the dispatcher's current round, and
        # only then close the senders they all use.
        await runner.cleanup()
        inbox_stop.set()
        if inbox_task is not None:
            await asyncio.gather(inbox_task, return_exceptions=True)
        if telegram is not None and started_telegram:
            await _stop_telegram(telegram)
            await telegram.application.shutdown()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sender in senders.values():
            await sender.close()  # type: ignore[attr-defined]
        await app.close()
        log.info("stopped")


async def _start_telegram(telegram: TelegramChannel, settings: Settings) -> None:
    application = telegram.application
    if settings.telegram_webhook_url:
        await application.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=settings.telegram_secret.value if settings.telegram_secret else None,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("Telegram: webhook mode")
    else:
        assert application.updater is not None
        # Never drop pending updates: they are deduplicated by id instead.
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        log.info("Telegram: polling")


async def _stop_telegram(telegram: TelegramChannel) -> None:
    application = telegram.application
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
