"""Repository of handled platform updates: the idempotency key of every incoming event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
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


async def unsent_replies(session: AsyncSession, channel: str, key: str) -> list[Any] | None:
    """The journaled replies of a handled update that were never confirmed as sent."""
    row = await session.get(HandledUpdate, (channel, key))
    if row is None or row.replied_at is not None:
        return None
    return row.replies


# Built once: the journal is written on every durable update.
_JOURNAL = (
    update(HandledUpdate)
    .where(
        HandledUpdate.channel == bindparam("w_channel"),
        HandledUpdate.update_key == bindparam("w_key"),
    )
    .values(replies=bindparam("replies", type_=HandledUpdate.__table__.c.replies.type))
)


async def journal(session: AsyncSession, channel: str, key: str, replies: list[Any]) -> None:
    await db.write(session, _JOURNAL, {"w_channel": channel, "w_key": key, "replies": replies})


async def confirm_sent(session: AsyncSession, channel: str, key: str, now: datetime) -> None:
    await session.execute(
        update(HandledUpdate)
        .where(HandledUpdate.channel == channel, HandledUpdate.update_key == key)
        .values(replied_at=now, replies=None)
    )


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Keys of updates handled before the retention period: a platform redelivers for hours,
    not months."""
    result = await session.execute(
        delete(HandledUpdate)
        .where(HandledUpdate.handled_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return {"handled_updates": int(result.rowcount or 0)}  # type: ignore[attr-defined]
