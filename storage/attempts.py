"""Repository of rate-limited attempts (wrong enrollment codes, relayed messages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attempt


async def record(session: AsyncSession, user_id: int, kind: str, now: datetime) -> None:
    session.add(Attempt(user_id=user_id, kind=kind, at=now))


async def count_since(session: AsyncSession, user_id: int, kind: str, since: datetime) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.user_id == user_id, Attempt.kind == kind, Attempt.at >= since)
    )
    return int(result.scalar_one())
