"""Repository of the territorial directory: regions and comunas (codes kept as text)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Comuna, Region


async def comuna(session: AsyncSession, cut: str) -> Comuna | None:
    return await session.get(Comuna, cut)


async def region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def all_comunas(session: AsyncSession) -> Sequence[Comuna]:
    return (await session.execute(select(Comuna).order_by(Comuna.cut))).scalars().all()


async def count_adhered(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).select_from(Comuna).where(Comuna.adhered_since.is_not(None))
    )
    return int(result.scalar_one())


async def set_adhered(session: AsyncSession, cut: str, since: date | None) -> Comuna | None:
    found = await comuna(session, cut)
    if found is not None:
        found.adhered_since = since
    return found
