"""Repository of users: find or create by channel identity, roles, language and flow state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User


async def get(session: AsyncSession, channel: str, external_id: str) -> User | None:
    result = await session.execute(
        select(User).where(User.channel == channel, User.external_id == external_id)
    )
    return result.scalar_one_or_none()


async def get_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_or_create(
    session: AsyncSession, channel: str, external_id: str, chat_id: str, now: datetime
) -> User:
    """The user for this channel identity, created on first contact (race-safe)."""
    user = await get(session, channel, external_id)
    if user is not None:
        user.last_seen_at = now
        if user.chat_id != chat_id:
            user.chat_id = chat_id
        return user
    user = User(
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        role="migrant",
        created_at=now,
        last_seen_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        # Another worker created the same user between our select and insert.
        found = await get(session, channel, external_id)
        assert found is not None
        return found
    return user


def set_flow(user: User, flow: str | None, step: str | None, data: dict[str, Any] | None,
             now: datetime) -> None:
    user.flow = flow
    user.flow_step = step
    user.flow_data = dict(data) if data is not None else None
    user.flow_updated_at = now if flow else None


def clear_flow(user: User) -> None:
    set_flow(user, None, None, None, user.last_seen_at)
