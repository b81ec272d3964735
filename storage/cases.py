"""Repository of Sello cases and their audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, CaseSequence, User, iso
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


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """The cases the person opened and what they wrote in any case's trail."""
    opened = (
        await session.scalars(select(Case).where(Case.opened_by == user.id).order_by(Case.id))
    ).all()
    authored = (
        await session.execute(
            select(CaseEvent, Case.number)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.actor_id == user.id)
            .order_by(CaseEvent.id)
        )
    ).all()
    return {
        "cases_opened": [
            {
                "number": case.number,
                "comuna_cut": case.comuna_cut,
                "region_code": case.region_code,
                "category": case.category,
                "urgency": case.urgency,
                "status": case.status,
                "referred_to": case.referred_to,
                "description": case.description,
                "opened_at": iso(case.opened_at),
                "updated_at": iso(case.updated_at),
            }
            for case in opened
        ],
        "case_events": [
            {
                "case_number": number,
                "kind": event.kind,
                "role": event.actor_role,
                "body": event.body,
                "status_from": event.status_from,
                "status_to": event.status_to,
                "at": iso(event.at),
            }
            for event, number in authored
        ],
    }


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """Cases and their events stay, with the person pseudonymized (their ids become NULL), so
    the audit trail of what SERMIG did is kept."""
    counts = {"cases_pseudonymized": 0, "case_events_pseudonymized": 0}
    for key, statement in (
        (
            "cases_pseudonymized",
            update(Case).where(Case.opened_by == user.id).values(opened_by=None),
        ),
        (
            "cases_pseudonymized",
            update(Case).where(Case.assigned_to == user.id).values(assigned_to=None),
        ),
        (
            "case_events_pseudonymized",
            update(CaseEvent).where(CaseEvent.actor_id == user.id).values(actor_id=None),
        ),
    ):
        result = await session.execute(statement)
        counts[key] += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
