"""The daily purge: conversation and unanswered-question logs older than the retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import console, flood
from storage.db import Sessions
from storage.privacy import purge_logs

log = logging.getLogger(__name__)
DAY = 24 * 3600.0
FLOOD_IDLE = timedelta(hours=1)


async def purge_once(sessions: Sessions, days: int, now: datetime) -> dict[str, int]:
    async with sessions() as session, session.begin():
        counts = await purge_logs(session, now - timedelta(days=days))
        # Flood buckets are refilled within seconds: an hour idle is long past full.
        counts["flood_buckets"] = await flood.purge_idle(session, (now - FLOOD_IDLE).timestamp())
        await console.purge_expired(session, now)  # used-up links, idle console sessions
    log.info("retention purge (older than %d days): %s", days, counts)
    return counts


async def run_daily(
    sessions: Sessions,
    days: int,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    every: float = DAY,
) -> None:
    """Purge at start, then once a day, until `stop` is set."""
    while not stop.is_set():
        try:
            await purge_once(sessions, days, clock())
        except Exception:
            log.exception("retention purge failed; will try again")
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass
