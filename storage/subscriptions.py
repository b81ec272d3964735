"""Repository of bulletin subscriptions and the audience of a broadcast."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, Subscription, User, iso
from storage.states import Lane, OutboxStatus


@dataclass(frozen=True)
class Audience:
    """Who a bulletin is for; None means any."""

    role: str | None = None
    region: str | None = None
    comuna: str | None = None
    lang: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"role": self.role, "region": self.region, "comuna": self.comuna, "lang": self.lang}


async def get(session: AsyncSession, user_id: int) -> Subscription | None:
    return await session.get(Subscription, user_id)


async def subscribe(
    session: AsyncSession,
    user: User,
    now: datetime,
    comuna_cut: str | None = None,
    region_code: str | None = None,
) -> Subscription:
    found = await get(session, user.id)
    if found is None:
        found = Subscription(user_id=user.id, active=True, created_at=now, updated_at=now)
        session.add(found)
    found.active = True
    found.updated_at = now
    if comuna_cut is not None:
        found.comuna_cut = comuna_cut
        found.region_code = region_code
    return found


async def unsubscribe(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Leave the bulletin at once: pending bulletin messages to the user are cancelled too."""
    found = await get(session, user_id)
    was_active = bool(found and found.active)
    if found is not None:
        found.active = False
        found.updated_at = now
    await session.execute(
        update(Outbox)
        .where(
            Outbox.user_id == user_id,
            Outbox.lane == Lane.BULLETIN,
            Outbox.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED)
    )
    return was_active


def _audience_query(audience: Audience) -> ColumnElement[bool]:
    region = func.coalesce(Subscription.region_code, User.region_code)
    comuna = func.coalesce(Subscription.comuna_cut, User.comuna_cut)
    language = func.coalesce(User.language, User.detected_language, User.client_language, "es")
    conditions: list[ColumnElement[bool]] = [Subscription.active.is_(True)]
    if audience.role:
        conditions.append(User.role == audience.role)
    if audience.region:
        conditions.append(region == audience.region)
    if audience.comuna:
        conditions.append(comuna == audience.comuna)
    if audience.lang:
        conditions.append(language == audience.lang)
    return and_(*conditions)


async def audience_size(session: AsyncSession, audience: Audience) -> int:
    query = (
        select(func.count())
        .select_from(Subscription)
        .join(User, User.id == Subscription.user_id)
        .where(_audience_query(audience))
    )
    return int((await session.execute(query)).scalar_one())


async def recipients(session: AsyncSession, audience: Audience) -> Sequence[tuple[int, str, str]]:
    """(user id, channel, chat id) of every active subscriber in the audience."""
    query = (
        select(User.id, User.channel, User.chat_id)
        .join(Subscription, User.id == Subscription.user_id)
        .where(_audience_query(audience))
        .order_by(User.id)
    )
    return [(int(i), str(c), str(ch)) for i, c, ch in (await session.execute(query)).all()]


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    found = await get(session, user.id)
    subscribed = (
        {
            "active": found.active,
            "comuna_cut": found.comuna_cut,
            "region_code": found.region_code,
            "created_at": iso(found.created_at),
            "updated_at": iso(found.updated_at),
        }
        if found is not None
        else None
    )
    return {"subscription": subscribed}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    result = await session.execute(delete(Subscription).where(Subscription.user_id == user.id))
    return {"subscription": int(result.rowcount or 0)}  # type: ignore[attr-defined]
