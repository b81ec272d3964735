"""Repository of unanswered questions, logged for the content team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from storage.models import UnansweredQuestion


async def log_unanswered(
    session: AsyncSession,
    *,
    text: str,
    lang: str,
    channel: str,
    best_topic: str | None,
    score: float,
    now: datetime,
) -> None:
    # One Core INSERT built once, not an ORM object for the unit of work to flush: this
    # runs for every question the knowledge base cannot answer.
    await db.write(
        session,
        _LOG,
        {
            "text": text[:2000],
            "lang": lang,
            "channel": channel,
            "best_topic": best_topic,
            "score": score,
            "asked_at": now,
        },
    )


_LOG = insert(UnansweredQuestion.__table__)  # type: ignore[arg-type]


async def since(
    session: AsyncSession, when: datetime | None = None
) -> Sequence[UnansweredQuestion]:
    query = select(UnansweredQuestion).order_by(UnansweredQuestion.asked_at)
    if when is not None:
        query = query.where(UnansweredQuestion.asked_at >= when)
    return (await session.execute(query)).scalars().all()


async def newest_since(
    session: AsyncSession, when: datetime, limit: int
) -> Sequence[tuple[str, str, str | None, datetime]]:
    """The newest `limit` questions asked since `when`, newest first, as (text, lang,
    best topic, asked at): what the console groups for the content team."""
    query = (
        select(
            UnansweredQuestion.text,
            UnansweredQuestion.lang,
            UnansweredQuestion.best_topic,
            UnansweredQuestion.asked_at,
        )
        .where(UnansweredQuestion.asked_at >= when)
        .order_by(UnansweredQuestion.asked_at.desc())
        .limit(limit)
    )
    return [(t, lang, topic, at) for t, lang, topic, at in (await session.execute(query)).all()]


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Logged without who asked, so never exported or erased: only purged."""
    result = await session.execute(
        delete(UnansweredQuestion)
        .where(UnansweredQuestion.asked_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return {"unanswered_questions": int(result.rowcount or 0)}  # type: ignore[attr-defined]
