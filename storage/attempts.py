"""Repository of rate-limited attempts (wrong enrollment codes, relayed messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attempt, User, iso


async def record(session: AsyncSession, user_id: int, kind: str, now: datetime) -> None:
    session.add(Attempt(user_id=user_id, kind=kind, at=now))


async def count_since(session: AsyncSession, user_id: int, kind: str, since: datetime) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.user_id == user_id, Attempt.kind == kind, Attempt.at >= since)
    )
    return int(result.scalar_one())


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    attempts = (
        await session.execute(
            select(Attempt.kind, Attempt.at).where(Attempt.user_id == user.id).order_by(Attempt.at)
        )
    ).all()
    return {"rate_limited_attempts": [{"kind": kind, "at": iso(at)} for kind, at in attempts]}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    result = await session.execute(delete(Attempt).where(Attempt.user_id == user.id))
    return {"attempts": int(result.rowcount or 0)}  # type: ignore[attr-defined]


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    result = await session.execute(
        delete(Attempt).where(Attempt.at < older_than).execution_options(synchronize_session=False)
    )
    return {"attempts": int(result.rowcount or 0)}  # type: ignore[attr-defined]
