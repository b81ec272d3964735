"""The composition root: build the engine and its collaborators from settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.metrics import Metrics
from bot.settings import Settings, cache_directory
from intents import language
from intents.context import Services
from intents.engine import Engine
from knowledge import content
from knowledge.matcher import Matcher
from knowledge.places import Gazetteer
from storage import directory
from storage.db import create_engine, session_factory
from storage.migrate import upgrade


@lru_cache(maxsize=1)
def default_matcher() -> tuple[content.KnowledgeBase, Matcher]:
    """The shipped knowledge base, loaded and indexed once per process."""
    kb = content.load()
    return kb, Matcher(kb, places=directory.seed_place_names(), cache=cache_directory())


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine
    metrics: Metrics

    async def close(self) -> None:
        await self.db.dispose()


async def build_app(
    settings: Settings,
    *,
    db: AsyncEngine | None = None,
    kb: content.KnowledgeBase | None = None,
    matcher: Matcher | None = None,
    migrate: bool = True,
) -> App:
    db = db or create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if migrate:
        await upgrade(db)
    sessions = session_factory(db)
    if kb is None or matcher is None:
        kb, matcher = default_matcher()
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
    return App(
        settings=settings,
        db=db,
        sessions=sessions,
        engine=Engine(sessions, services),
        metrics=metrics,
    )
