"""Repository of handled platform updates: the idempotency key of every incoming event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import AlreadyHandled
from storage.models import HandledUpdate
from storage.upsert import insert_ignore


async def claim(session: AsyncSession, channel: str, key: str, now: datetime) -> None:
    """Record that this update is being handled; raise AlreadyHandled if it was before.

    The row is written before any other work of the unit, and committed with it: the unique
    primary key, not a check-then-insert, decides, so two workers never both handle it.
    """
    row = {"channel": channel, "update_key": key, "handled_at": now}
    if not await insert_ignore(session, HandledUpdate.__table__, row):  # type: ignore[arg-type]
        raise AlreadyHandled(f"{channel}:{key}")


async def purge_older_than(session: AsyncSession, when: datetime) -> int:
    result = await session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < when))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
