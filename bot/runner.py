"""`sello-bot run`: serve the configured channels until SIGTERM/SIGINT, then stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from telegram import Update

from bot.app import App
from bot.channels.telegram import TelegramChannel, TelegramSender, register_commands
from bot.delivery import build_dispatcher
from bot.http import make_server

log = logging.getLogger(__name__)


async def serve(app: App, stop: asyncio.Event | None = None, *, signals: bool = True) -> None:
    """Run until `stop` is set (or a stop signal arrives); in-flight updates finish first."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT) if signals else ():
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    telegram: TelegramChannel | None = None
    token = settings.telegram_token.value if settings.telegram_token is not None else ""
    if token:
        telegram = TelegramChannel(
            app.engine,
            token,
            api_url=settings.telegram_api_url,
            webhook=settings.telegram_webhook_url is not None,
        )
    server = make_server(
        app.db,
        telegram.application if telegram and settings.telegram_webhook_url else None,
        settings.telegram_secret.value if settings.telegram_secret else None,
    )
    runner = web.AppRunner(server, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
    try:
        if telegram is None:
            await stop.wait()
            return
        application = telegram.application
        async with application:
            await application.start()
            await register_commands(application)
            sender = TelegramSender(token, settings.telegram_api_url)
            dispatcher = build_dispatcher(settings, app.engine, {"telegram": sender})
            dispatching = asyncio.create_task(dispatcher.run(stop))
            if settings.telegram_webhook_url:
                await application.bot.set_webhook(
                    settings.telegram_webhook_url,
                    secret_token=settings.telegram_secret.value
                    if settings.telegram_secret
                    else None,
                    allowed_updates=Update.ALL_TYPES,
                )
                log.info("Telegram: webhook mode")
            else:
                assert application.updater is not None
                # Never drop pending updates: they are deduplicated by id instead.
                await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                log.info("Telegram: polling")
            await stop.wait()
            log.info("stopping: finishing in-flight updates")
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()
            await dispatching
            await sender.close()
    finally:
        await runner.cleanup()
        await app.close()
        log.info("stopped")
