"""Repository of SERMIG regional officers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Duplicate
from storage.models import Officer, User, iso
from storage.states import Role


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


async def get(session: AsyncSession, officer_id: int) -> Officer | None:
    return await session.get(Officer, officer_id)


async def listing(session: AsyncSession, region_code: str | None = None) -> Sequence[Officer]:
    query = select(Officer).where(Officer.active.is_(True))
    if region_code:
        query = query.where(Officer.region_code == region_code)
    return (await session.execute(query.order_by(Officer.region_code, Officer.id))).scalars().all()


async def active_by_name(session: AsyncSession, region_code: str) -> Sequence[Officer]:
    """A region's active officers by name (the console's directory)."""
    query = (
        select(Officer)
        .where(Officer.active.is_(True), Officer.region_code == region_code)
        .order_by(Officer.region_code, Officer.name)
    )
    return (await session.execute(query)).scalars().all()


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """An officer's own entry in SERMIG's directory (name, e-mail, phone, chat ids, region),
    found by the chat account asking; /borrar erases the same entries."""
    column = _column(user)
    if column is None:
        return {"directory_entry": []}
    entries = (await session.scalars(select(Officer).where(column == user.external_id))).all()
    return {
        "directory_entry": [
            {
                "region": officer.region_code,
                "name": officer.name,
                "email": officer.email,
                "phone": officer.phone,
                "telegram_id": officer.telegram_id,
                "whatsapp": officer.whatsapp,
                "active": officer.active,
                "created_at": iso(officer.created_at),
            }
            for officer in entries
        ]
    }


def _column(user: User) -> Any:
    """The directory column holding this chat account's id (None: a channel it has none for)."""
    return {"telegram": Officer.telegram_id, "whatsapp": Officer.whatsapp}.get(user.channel)


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """Deactivate the directory entry of an officer who erases themselves, and forget who they
    were (name, e-mail, phone, chat ids), so the entry is no longer listed and the same
    person can be registered again. Their other chat account, if any, loses the officer role,
    as when an admin removes an officer."""
    column = _column(user)
    if column is None:
        return {"officers_deactivated": 0}
    entries = (await session.scalars(select(Officer).where(column == user.external_id))).all()
    for officer in entries:
        for channel, external in (
            ("telegram", officer.telegram_id),
            ("whatsapp", officer.whatsapp),
        ):
            if external is None or (channel, external) == (user.channel, user.external_id):
                continue
            other = await session.scalar(
                select(User).where(User.channel == channel, User.external_id == external)
            )
            if other is not None and other.role == Role.OFFICER:
                other.role = Role.MIGRANT
                other.region_code = None
        officer.active = False
        officer.name = ""
        officer.email = None
        officer.phone = None
        officer.telegram_id = None
        officer.whatsapp = None
    await session.flush()
    return {"officers_deactivated": len(entries)}
