"""Repository of bulletins: creation with its outbox rows, progress and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Bulletin, Outbox, User, iso
from storage.states import OutboxStatus
from storage.subscriptions import Audience, recipients

TERMINAL = (
    OutboxStatus.SENT,
    OutboxStatus.BLOCKED,
    OutboxStatus.FAILED,
    OutboxStatus.CANCELLED,
)


async def create(
    session: AsyncSession,
    *,
    parts: Sequence[str],
    text: str,
    audience: Audience,
    author_id: int | None,
    now: datetime,
    scheduled_at: datetime | None = None,
) -> Bulletin:
    """The bulletin and one outbox row per recipient and part, in the caller's transaction."""
    when = scheduled_at or now
    people = await recipients(session, audience)
    bulletin = Bulletin(
        author_id=author_id,
        text=text,
        filters=audience.as_dict(),
        status="queued",
        total=len(people),
        created_at=now,
        scheduled_at=when,
    )
    session.add(bulletin)
    await session.flush()
    rows = [
        {
            "user_id": user_id,
            "channel": channel,
            "chat_id": chat_id,
            "lane": "bulletin",
            "text": part,
            "buttons": None,
            "ref": None,
            "bulletin_id": bulletin.id,
            # A subscriber with no private chat yet gets it when they open one.
            "status": OutboxStatus.PENDING if chat_id else OutboxStatus.HELD,
            "attempts": 0,
            "next_attempt_at": when,
            "created_at": now,
        }
        for user_id, channel, chat_id in people
        for part in parts
    ]
    for start in range(0, len(rows), 5000):  # bounded statements for very large audiences
        await session.execute(insert(Outbox), rows[start : start + 5000])
    return bulletin


async def get(session: AsyncSession, bulletin_id: int) -> Bulletin | None:
    return await session.get(Bulletin, bulletin_id)


async def newest(session: AsyncSession, limit: int) -> Sequence[Bulletin]:
    """The `limit` newest bulletins, newest first."""
    query = select(Bulletin).order_by(Bulletin.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def counts(session: AsyncSession, bulletin_id: int) -> dict[str, int]:
    """Outbox rows of the bulletin by status (parts counted once per recipient)."""
    query = (
        select(Outbox.status, func.count(func.distinct(Outbox.user_id)))
        .where(Outbox.bulletin_id == bulletin_id)
        .group_by(Outbox.status)
    )
    found = {status: int(n) for status, n in (await session.execute(query)).all()}
    result = {
        key: found.get(key, 0) for key in ("pending", "sent", "blocked", "failed", "cancelled")
    }
    result["pending"] += found.get("sending", 0) + found.get("held", 0)
    return result


async def unfinished(session: AsyncSession, ids: Sequence[int]) -> Sequence[Bulletin]:
    if not ids:
        return []
    query = select(Bulletin).where(Bulletin.id.in_(ids), Bulletin.status != "done")
    return (await session.execute(query)).scalars().all()


async def is_drained(session: AsyncSession, bulletin_id: int) -> bool:
    query = (
        select(func.count())
        .select_from(Outbox)
        .where(
            Outbox.bulletin_id == bulletin_id,
            Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        )
    )
    return int((await session.execute(query)).scalar_one()) == 0


async def still_sending(session: AsyncSession) -> list[int]:
    """Bulletins still being sent (not "done"): the dispatcher checks them when idle."""
    return list(
        (await session.execute(select(Bulletin.id).where(Bulletin.status != "done"))).scalars()
    )


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    authored = (
        await session.scalars(
            select(Bulletin).where(Bulletin.author_id == user.id).order_by(Bulletin.id)
        )
    ).all()
    return {
        "bulletins_authored": [
            {
                "id": bulletin.id,
                "text": bulletin.text,
                "status": bulletin.status,
                "recipients": bulletin.total,
                "created_at": iso(bulletin.created_at),
            }
            for bulletin in authored
        ]
    }


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """A bulletin stays (it went to its subscribers), by nobody."""
    result = await session.execute(
        update(Bulletin).where(Bulletin.author_id == user.id).values(author_id=None)
    )
    return {"bulletins_pseudonymized": int(result.rowcount or 0)}  # type: ignore[attr-defined]
