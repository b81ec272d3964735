"""Repository of messages relayed between municipal contacts and regional officers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RelayMessage, User


async def add(
    session: AsyncSession,
    *,
    contact: User,
    officer: User | None,
    region_code: str,
    direction: str,
    body: str,
    now: datetime,
) -> RelayMessage:
    message = RelayMessage(
        contact_id=contact.id,
        officer_id=officer.id if officer else None,
        region_code=region_code,
        direction=direction,
        body=body,
        at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def get(session: AsyncSession, message_id: int) -> RelayMessage | None:
    return await session.get(RelayMessage, message_id)


async def officers_of_region(session: AsyncSession, region_code: str) -> Sequence[User]:
    """Users who act as officers of the region (reachable on some channel)."""
    query = select(User).where(User.role == "officer", User.region_code == region_code)
    return (await session.execute(query.order_by(User.id))).scalars().all()
