"""Repository of Sello cases and their audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, CaseSequence, User
from storage.states import CaseStatus
from storage.upsert import upsert_increment

OPEN_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.IN_REVIEW,
    CaseStatus.ANSWERED,
    CaseStatus.REFERRED,
)


async def next_number(session: AsyncSession, year: int) -> str:
    """SM-<year>-<5 digits>: an atomic increment per year, so numbers are never reused."""
    last = await upsert_increment(session, CaseSequence.__table__, "year", year, "last")  # type: ignore[arg-type]
    return f"SM-{year}-{last:05d}"


async def open_case(
    session: AsyncSession,
    *,
    comuna_cut: str,
    region_code: str,
    category: str,
    description: str,
    urgency: str,
    opened_by: User,
    now: datetime,
) -> Case:
    case = Case(
        number=await next_number(session, now.year),
        comuna_cut=comuna_cut,
        region_code=region_code,
        category=category,
        description=description,
        urgency=urgency,
        status=CaseStatus.OPEN,
        opened_by=opened_by.id,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    add_event(session, case, "opened", opened_by, now, body=description, status_to=CaseStatus.OPEN)
    return case


def add_event(
    session: AsyncSession,
    case: Case,
    kind: str,
    actor: User | None,
    now: datetime,
    *,
    body: str | None = None,
    status_from: str | None = None,
    status_to: str | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else "system",
        body=body,
        status_from=status_from,
        status_to=status_to,
        at=now,
    )
    session.add(event)
    case.updated_at = now
    return event


def change_status(
    session: AsyncSession, case: Case, status: str, actor: User, now: datetime, kind: str = "status"
) -> None:
    previous = case.status
    case.status = status
    add_event(session, case, kind, actor, now, status_from=previous, status_to=status)


async def get(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id, with_for_update=True)


async def for_comuna(session: AsyncSession, comuna_cut: str, limit: int = 20) -> Sequence[Case]:
    query = (
        select(Case)
        .where(Case.comuna_cut == comuna_cut)
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def open_for_region(
    session: AsyncSession, region_code: str | None, limit: int = 20
) -> Sequence[Case]:
    """Cases not closed, oldest urgent first, then oldest normal (None: every region)."""
    urgent_first = sql_case((Case.urgency == "urgente", 0), else_=1)
    query = select(Case).where(Case.status != CaseStatus.CLOSED)
    if region_code is not None:
        query = query.where(Case.region_code == region_code)
    query = query.order_by(urgent_first, Case.opened_at, Case.id).limit(limit)
    return (await session.execute(query)).scalars().all()


async def counts_by_status(session: AsyncSession, region_code: str | None) -> dict[str, int]:
    query = select(Case.status, func.count()).group_by(Case.status)
    if region_code is not None:
        query = query.where(Case.region_code == region_code)
    return {status: int(n) for status, n in (await session.execute(query)).all()}


async def events(session: AsyncSession, case_id: int) -> Sequence[CaseEvent]:
    query = (
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)
    )
    return (await session.execute(query)).scalars().all()


async def export_rows(session: AsyncSession, region_code: str | None) -> Sequence[Case]:
    query = select(Case).order_by(Case.id)
    if region_code is not None:
        query = query.where(Case.region_code == region_code)
    return (await session.execute(query)).scalars().all()
