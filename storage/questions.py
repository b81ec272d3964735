"""Repository of unanswered questions, logged for the content team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    session.add(
        UnansweredQuestion(
            text=text[:2000],
            lang=lang,
            channel=channel,
            best_topic=best_topic,
            score=score,
            asked_at=now,
        )
    )


async def since(
    session: AsyncSession, when: datetime | None = None
) -> Sequence[UnansweredQuestion]:
    query = select(UnansweredQuestion).order_by(UnansweredQuestion.asked_at)
    if when is not None:
        query = query.where(UnansweredQuestion.asked_at >= when)
    return (await session.execute(query)).scalars().all()


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Logged without who asked, so never exported or erased: only purged."""
    result = await session.execute(
        delete(UnansweredQuestion)
        .where(UnansweredQuestion.asked_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return {"unanswered_questions": int(result.rowcount or 0)}  # type: ignore[attr-defined]
