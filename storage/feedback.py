"""Repository of answer feedback (👍 / 👎 under full answers), for the content team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnswerFeedback, User


def record(
    session: AsyncSession,
    *,
    user_id: int,
    topic: str,
    lang: str,
    channel: str,
    helpful: bool,
    question: str | None,
    now: datetime,
) -> AnswerFeedback:
    """One rating; the (already masked) question is kept only when the answer did not help."""
    row = AnswerFeedback(
        user_id=user_id,
        topic=topic,
        lang=lang,
        channel=channel,
        helpful=helpful,
        question=None if helpful else (question or None),
        at=now,
    )
    session.add(row)
    return row


async def note(session: AsyncSession, feedback_id: int, user_id: int, text: str) -> bool:
    """What the person was looking for (masked), on their own 👎 only."""
    row = await session.get(AnswerFeedback, feedback_id)
    if row is None or row.user_id != user_id or row.helpful:
        return False
    row.looking_for = text
    return True


@dataclass(frozen=True)
class Tally:
    topic: str
    lang: str
    helpful: int
    not_helpful: int


async def tallies(session: AsyncSession, since: datetime | None = None) -> list[Tally]:
    """Counts per topic and language, the least helpful first."""
    down = func.sum(case((AnswerFeedback.helpful.is_(False), 1), else_=0))
    up = func.sum(case((AnswerFeedback.helpful.is_(True), 1), else_=0))
    query = select(AnswerFeedback.topic, AnswerFeedback.lang, up, down).group_by(
        AnswerFeedback.topic, AnswerFeedback.lang
    )
    if since is not None:
        query = query.where(AnswerFeedback.at >= since)
    rows = (await session.execute(query)).all()
    found = [Tally(str(t), str(lang), int(u or 0), int(d or 0)) for t, lang, u, d in rows]
    return sorted(found, key=lambda x: (-x.not_helpful, x.topic, x.lang))


async def complaints(
    session: AsyncSession, since: datetime | None = None
) -> Sequence[AnswerFeedback]:
    """The 👎 with what was asked or looked for, oldest first."""
    query = (
        select(AnswerFeedback)
        .where(AnswerFeedback.helpful.is_(False))
        .where((AnswerFeedback.question.is_not(None)) | (AnswerFeedback.looking_for.is_not(None)))
        .order_by(AnswerFeedback.at)
    )
    if since is not None:
        query = query.where(AnswerFeedback.at >= since)
    return (await session.execute(query)).scalars().all()


async def export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(AnswerFeedback)
            .where(AnswerFeedback.user_id == user_id)
            .order_by(AnswerFeedback.id)
        )
    ).scalars()
    return [
        {
            "topic": row.topic,
            "lang": row.lang,
            "helpful": row.helpful,
            "question": row.question,
            "looking_for": row.looking_for,
            "at": row.at.isoformat(),
        }
        for row in rows
    ]


async def newest_complaints(
    session: AsyncSession, since: datetime, offset: int, limit: int
) -> tuple[int, Sequence[AnswerFeedback]]:
    """One page of the 👎 since a time, newest first, and how many there are (the console's
    review queue: the latest complaints are the ones the content team has not seen)."""
    where = AnswerFeedback.helpful.is_(False), AnswerFeedback.at >= since
    total = (await session.execute(select(func.count()).where(*where))).scalar_one()
    rows = (
        (
            await session.execute(
                select(AnswerFeedback)
                .where(*where)
                .order_by(AnswerFeedback.at.desc(), AnswerFeedback.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return int(total), rows


async def served(session: AsyncSession, since: datetime) -> list[tuple[str, str, bool, datetime]]:
    """Topic, language, rating and time of every rating since a time: each rating is an
    answer that was served, so these are the most asked topics (narrow rows, grouped by
    week by the caller because weeks are not portable SQL)."""
    rows = await session.execute(
        select(
            AnswerFeedback.topic, AnswerFeedback.lang, AnswerFeedback.helpful, AnswerFeedback.at
        ).where(AnswerFeedback.at >= since)
    )
    return [(str(t), str(lang), bool(h), at) for t, lang, h, at in rows.all()]


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    return {"answer_feedback": await export(session, user.id)}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    result = await session.execute(delete(AnswerFeedback).where(AnswerFeedback.user_id == user.id))
    return {"answer_feedback": int(result.rowcount or 0)}  # type: ignore[attr-defined]


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """The texts of old ratings (the masked question, what the person was looking for) are
    conversation logs: past the retention period they go, and the rating itself stays, with
    its topic, language and time, for the tallies."""
    result = await session.execute(
        update(AnswerFeedback)
        .where(
            AnswerFeedback.at < older_than,
            or_(AnswerFeedback.question.is_not(None), AnswerFeedback.looking_for.is_not(None)),
        )
        .values(question=None, looking_for=None)
        .execution_options(synchronize_session=False)
    )
    return {"answer_feedback_texts": int(result.rowcount or 0)}  # type: ignore[attr-defined]
