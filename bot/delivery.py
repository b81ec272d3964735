"""The dispatcher as the bot runs it: what happens when a recipient blocks the bot, and when
a bulletin's last message is delivered. Built by the composition root (bot/app.py), which
passes the engine's after-commit signal as the dispatcher's wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.channels.base import Sender
from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from bot.settings import Settings
from intents.bulletin import Completion
from intents.engine import Engine
from storage import bulletins, subscriptions
from storage.db import Database, Session
from storage.leadership import Leadership


def build_dispatcher(
    settings: Settings,
    engine: Engine,
    senders: Mapping[str, Sender],
    metrics: Metrics | None = None,
    engine_db: Database | None = None,
    *,
    wake: asyncio.Event | None = None,
) -> Dispatcher:
    clock = engine.clock
    completion = Completion()

    async def blocked(session: Session, user_id: int) -> None:
        # A user who blocked the bot leaves the bulletin (and its pending messages).
        await subscriptions.unsubscribe(session, user_id, clock())

    async def batch_done(session: Session, row_ids: Sequence[int]) -> None:
        await completion(session, row_ids, clock())

    async def idle(session: Session) -> None:
        await completion.check(session, await bulletins.still_sending(session), clock())

    return Dispatcher(
        engine.sessions,
        senders,
        clock,
        rate=settings.send_rate,
        stale_after=timedelta(seconds=settings.outbox_stale_seconds),
        on_blocked=blocked,
        on_batch_done=batch_done,
        on_idle=idle,
        on_outcome=metrics.delivery if metrics is not None else None,
        leadership=Leadership(engine_db) if engine_db is not None else None,
        wake=wake,
    )
