"""Repository of messages relayed between municipal contacts and regional officers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import RelayMessage, User, iso


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


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """The messages the person wrote or received, on either side; the other side appears only
    as a role ("officer", "contact"), never by id or name."""
    relayed = (
        await session.scalars(
            select(RelayMessage)
            .where(or_(RelayMessage.contact_id == user.id, RelayMessage.officer_id == user.id))
            .order_by(RelayMessage.id)
        )
    ).all()
    return {
        "relay_messages": [
            {
                # Which side of the conversation this user was on.
                "as": "contact" if message.contact_id == user.id else "officer",
                "direction": message.direction,
                "region_code": message.region_code,
                "body": message.body,
                "at": iso(message.at),
            }
            for message in relayed
        ]
    }


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """What the person wrote to their officer goes, with the notifications that carried it
    (they hold the text verbatim, delivered or not); the officer's answers stay, addressed to
    nobody, as the officer's side of the record."""
    written = (
        await session.scalars(
            select(RelayMessage.id).where(
                RelayMessage.contact_id == user.id, RelayMessage.direction == "to_officer"
            )
        )
    ).all()
    counts = {
        "outbox": await outbox.erase_refs(
            session, [outbox.RelayRef(message_id).pack() for message_id in written]
        )
    }
    statements = (
        (
            "relay_messages",
            delete(RelayMessage).where(
                RelayMessage.contact_id == user.id, RelayMessage.direction == "to_officer"
            ),
        ),
        (
            "relay_messages_pseudonymized",
            update(RelayMessage).where(RelayMessage.contact_id == user.id).values(contact_id=None),
        ),
        (
            "relay_messages_pseudonymized",
            update(RelayMessage).where(RelayMessage.officer_id == user.id).values(officer_id=None),
        ),
    )
    for key, statement in statements:
        result = await session.execute(statement)
        counts[key] = counts.get(key, 0) + int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
