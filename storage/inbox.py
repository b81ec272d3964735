"""Repository of the inbox: signed webhook calls kept until every message in them is answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from storage.models import InboxEvent

PENDING = "pending"
WORKING = "working"


async def store(session: AsyncSession, channel: str, body: str, now: datetime) -> int:
    """Keep one webhook call; committed before the platform is told it arrived."""
    row = InboxEvent(channel=channel, body=body, status=PENDING, attempts=0, received_at=now)
    session.add(row)
    await session.flush()
    return int(row.id)


async def claim(
    session: AsyncSession,
    channel: str,
    now: datetime,
    limit: int,
    stale_after: timedelta,
) -> Sequence[InboxEvent]:
    """Take up to `limit` calls to process, oldest first: pending ones, and those claimed by
    a worker that stopped refreshing its claim (it died) longer than `stale_after` ago.

    On PostgreSQL the rows are locked with SKIP LOCKED, so workers sharing the database never
    take the same call at once; SQLite has one writer, which serializes the claims anyway.
    """
    query = (
        select(InboxEvent)
        .where(
            InboxEvent.channel == channel,
            or_(
                InboxEvent.status == PENDING,
                (InboxEvent.status == WORKING) & (InboxEvent.claimed_at < now - stale_after),
            ),
        )
        .order_by(InboxEvent.id)
        .limit(limit)
    )
    if db.dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).scalars().all()
    for row in rows:
        row.status = WORKING
        row.claimed_at = now
        row.attempts += 1
    return rows


async def touch(session: AsyncSession, row_ids: Sequence[int], now: datetime) -> None:
    """A live worker keeps its claims fresh while it works on them."""
    if row_ids:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(row_ids), InboxEvent.status == WORKING)
            .values(claimed_at=now)
        )


async def release(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """Hand calls back unprocessed (a clean stop): the next worker takes them at once."""
    if row_ids:
        await session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(row_ids))
            .values(status=PENDING, claimed_at=None)
        )


async def done(session: AsyncSession, row_id: int) -> None:
    await session.execute(delete(InboxEvent).where(InboxEvent.id == row_id))


async def backlog(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one())
