"""Repository of SERMIG regional officers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Duplicate
from storage.models import Officer


async def add(
    session: AsyncSession,
    *,
    region_code: str,
    name: str,
    now: datetime,
    telegram_id: str | None = None,
    whatsapp: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Officer:
    officer = Officer(
        region_code=region_code,
        name=name,
        telegram_id=telegram_id,
        whatsapp=whatsapp,
        email=email,
        phone=phone,
        active=True,
        created_at=now,
    )
    session.add(officer)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Duplicate("an officer with that Telegram id or WhatsApp number exists") from exc
    return officer


async def listing(session: AsyncSession, region_code: str | None = None) -> Sequence[Officer]:
    query = select(Officer).where(Officer.active.is_(True))
    if region_code:
        query = query.where(Officer.region_code == region_code)
    return (await session.execute(query.order_by(Officer.region_code, Officer.id))).scalars().all()
