"""The composition root (bot/app.py): one place builds everything, the HTTP server serves the
routes of the channels that are enabled, the dispatcher's wake-up is passed in, and nothing is
cached behind the caller's back."""

from __future__ import annotations

from dataclasses import replace

import bot.app
from bot.app import App, build_server
from bot.settings import Secret
from tests.conftest import Chat
from tests.test_whatsapp import SECRET, VERIFY

TELEGRAM = {"telegram_token": Secret("123:ABC")}
WEBHOOK = {
    **TELEGRAM,
    "telegram_webhook_url": "https://bot.example.org/webhooks/telegram",
    "telegram_secret": Secret("s3cr3t"),
}
WHATSAPP = {
    "whatsapp_token": Secret("token"),
    "whatsapp_phone_id": "100",
    "whatsapp_app_secret": Secret(SECRET),
    "whatsapp_verify_token": Secret(VERIFY),
}


def served(app: App, **settings: object) -> set[tuple[str, str]]:
    """(method, path) of every route the server would serve with these settings."""
    app.settings = replace(app.settings, **settings)  # type: ignore[arg-type]
    server = build_server(app)
    routes = set()
    for route in server.http.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method != "HEAD":
            routes.add((route.method, str(path)))
    return routes


async def test_the_server_serves_the_webhooks_of_the_enabled_channels_only(app: App):
    always = {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/console/casos")}
    telegram_hook = ("POST", "/webhooks/telegram")
    whatsapp_hooks = {("GET", "/webhooks/whatsapp"), ("POST", "/webhooks/whatsapp")}

    none = served(app)
    assert always <= none and telegram_hook not in none and not whatsapp_hooks & none

    polling = served(app, **TELEGRAM)  # Telegram polls: no webhook to serve
    assert always <= polling and telegram_hook not in polling

    both = served(app, **WEBHOOK, **WHATSAPP)
    assert always | whatsapp_hooks | {telegram_hook} <= both


async def test_each_enabled_channel_gets_a_dispatcher_worker(app: App):
    app.settings = replace(app.settings, **WEBHOOK, **WHATSAPP)  # type: ignore[arg-type]
    server = build_server(app)
    assert [channel.name for channel in server.channels] == ["telegram", "whatsapp"]
    assert set(server.dispatcher.senders) == {"telegram", "whatsapp"}


async def test_a_committed_unit_of_work_wakes_the_dispatcher_through_what_was_passed_in(
    app: App,
):
    """The engine was built with its after-commit listener; nobody appends one from outside."""
    assert not app.outbox_ready.is_set()
    await Chat(app).say("hola")
    assert app.outbox_ready.is_set()


def test_no_matcher_is_cached_at_module_level():
    """A matcher built once at import and reused silently is gone: build_app builds one when it
    is not given one, and the tests share theirs explicitly (tests/shipped.py)."""
    cached = [name for name, value in vars(bot.app).items() if hasattr(value, "cache_info")]
    assert cached == []
