"""The composition root: the one place that builds the assistant from its settings.

settings → database → matcher → engine (`build_app`, for every command), then, for
`sello-bot run`, the enabled channels → the outbox dispatcher → the HTTP server
(`build_server`). Every collaborator is a parameter with a production default, so tests pass
their own; nothing is built at import time, and nothing is cached behind the caller's back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from bot import console, http
from bot.channels import telegram, whatsapp
from bot.channels.base import Channel
from bot.delivery import build_dispatcher
from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from bot.settings import Settings, cache_directory
from intents import language
from intents.context import Services
from intents.engine import Engine
from knowledge import content
from knowledge.matcher import Matcher
from knowledge.places import Gazetteer
from storage import directory
from storage.db import Database, Sessions, create_engine, session_factory
from storage.migrate import upgrade

# The channels `sello-bot run` can serve, each built from the settings when they configure it
# (None otherwise). A new channel is its module in bot/channels/ and one line here.
ChannelFactory = Callable[[Engine, Settings], Channel | None]
CHANNELS: tuple[ChannelFactory, ...] = (
    telegram.from_settings,
    whatsapp.from_settings,
)


def load_matcher() -> tuple[content.KnowledgeBase, Matcher]:
    """The shipped knowledge base, loaded and indexed (trained on the first start, then read
    from the cache directory). Each call builds a new one; whoever needs one shared keeps it
    (the tests: tests/shipped.py)."""
    kb = content.load()
    return kb, Matcher(kb, places=directory.seed_place_names(), cache=cache_directory())


@dataclass
class App:
    settings: Settings
    db: Database
    sessions: Sessions
    engine: Engine
    metrics: Metrics
    # Set after every committed unit of work: the outbox dispatcher's wake-up.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def close(self) -> None:
        await self.db.dispose()


async def build_app(
    settings: Settings,
    *,
    db: Database | None = None,
    kb: content.KnowledgeBase | None = None,
    matcher: Matcher | None = None,
    migrate: bool = True,
) -> App:
    """The core: database (migrated), matcher, engine. What every command needs."""
    db = db or create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if migrate:
        await upgrade(db)
    sessions = session_factory(db)
    if kb is None or matcher is None:
        kb, matcher = load_matcher()
    language.load()
    async with sessions() as session:
        comunas = [(c.cut, c.name) for c in await directory.all_comunas(session)]
        regions = [(r.code, r.name) for r in await directory.all_regions(session)]
    metrics = Metrics()
    services = Services(
        kb=kb,
        matcher=matcher,
        comuna_names=tuple(comunas),
        observer=metrics,
        log_retention_days=settings.retention_days,
        gazetteer=Gazetteer(comunas, regions),
        public_url=settings.public_url,
    )
    outbox_ready = asyncio.Event()
    return App(
        settings=settings,
        db=db,
        sessions=sessions,
        engine=Engine(sessions, services, after_commit=(outbox_ready.set,)),
        metrics=metrics,
        outbox_ready=outbox_ready,
    )


@dataclass
class Server:
    """What `sello-bot run` serves: the enabled channels, the dispatcher that sends their
    queued messages, and the HTTP server of their webhooks, health, metrics and console."""

    channels: list[Channel]
    dispatcher: Dispatcher
    http: web.Application


def build_server(app: App, channels: Sequence[ChannelFactory] = CHANNELS) -> Server:
    """The edge around the core: channels → dispatcher → HTTP server."""
    settings = app.settings
    enabled = [channel for make in channels if (channel := make(app.engine, settings)) is not None]
    dispatcher = build_dispatcher(
        settings,
        app.engine,
        {channel.name: channel.sender for channel in enabled},
        app.metrics,
        app.db,
        wake=app.outbox_ready,
    )
    server = http.make_server(
        [
            http.health(app.db, dispatcher),
            http.metrics(app.metrics, app.sessions),
            *(channel.routes() for channel in enabled),
            console.routes(app.engine, settings.public_url),
        ]
    )
    return Server(enabled, dispatcher, server)
