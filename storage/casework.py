"""The web console's read models of casework, each query scoped to what a user may see: the
case inbox (filtered, counted, one page), a case with its history, the comunas of a scope,
and the rows behind the response-time statistics.

They span cases, comunas and case events, so they live here rather than in one table's
repository. Every list is one query (plus one count), joined with what it shows, so a page
costs the same few queries whatever its length (tests/test_console.py counts them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, Comuna, User
from storage.states import CaseStatus, Role

Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]
PAGE_SIZE = 25


@dataclass(frozen=True)
class Scope:
    """What a user may see, as plain values: admins every case, officers their region,
    anyone else their comuna. Equal scopes see the same rows (a cache key)."""

    role: str
    region_code: str | None = None
    comuna_cut: str | None = None

    @classmethod
    def of(cls, user: User) -> Scope:
        if user.role == Role.ADMIN:
            return cls(Role.ADMIN)
        if user.role == Role.OFFICER:
            return cls(Role.OFFICER, region_code=user.region_code)
        return cls(user.role, comuna_cut=user.comuna_cut)


def _scoped(query: Q, scope: Scope) -> Q:
    if scope.role == Role.ADMIN:
        return query
    if scope.role == Role.OFFICER:
        return query.where(Case.region_code == scope.region_code)
    return query.where(Case.comuna_cut == scope.comuna_cut)


@dataclass(frozen=True)
class CaseFilter:
    """The inbox's filters; empty values filter nothing."""

    status: str = ""  # one status
    open_only: bool = False  # every status but closed (instead of `status`)
    comuna: str = ""
    urgency: str = ""
    opened_before: datetime | None = None
    text: str = ""  # in the number or the description


def _filtered(query: Q, scope: Scope, f: CaseFilter) -> Q:
    query = _scoped(query, scope)
    if f.comuna:
        query = query.where(Case.comuna_cut == f.comuna)
    if f.urgency:
        query = query.where(Case.urgency == f.urgency)
    if f.opened_before is not None:
        query = query.where(Case.opened_at < f.opened_before)
    if f.text:
        like = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Case.number.ilike(like, escape="\\"), Case.description.ilike(like, escape="\\"))
        )
    return query


def _status(query: Q, f: CaseFilter) -> Q:
    if f.open_only:
        return query.where(Case.status != CaseStatus.CLOSED)
    if f.status:
        return query.where(Case.status == f.status)
    return query


@dataclass(frozen=True)
class Inbox:
    rows: Sequence[tuple[Case, str]]  # the page's cases with their comuna's name
    total: int
    counts: dict[str, int]  # per status, with every filter but the status
    pages: int


async def inbox(
    session: AsyncSession, scope: Scope, f: CaseFilter, page: int, page_size: int = PAGE_SIZE
) -> Inbox:
    """One page of the scope's filtered cases, urgent and newest first, closed last (a page
    past the end is the last one), and the counts per status."""
    counts_q = _filtered(select(Case.status, func.count()).group_by(Case.status), scope, f)
    counts = {s: int(n) for s, n in (await session.execute(counts_q)).all()}
    if f.open_only:
        total = sum(n for s, n in counts.items() if s != CaseStatus.CLOSED)
    elif f.status:
        total = counts.get(f.status, 0)
    else:
        total = sum(counts.values())
    urgent_first = sql_case(
        (Case.status == CaseStatus.CLOSED, 2), (Case.urgency == "urgente", 0), else_=1
    )
    rows_q = _status(
        _filtered(select(Case, Comuna.name).join(Comuna, Comuna.cut == Case.comuna_cut), scope, f),
        f,
    )
    pages = max(1, -(-total // page_size))
    page = min(page, pages)
    rows_q = (
        rows_q.order_by(urgent_first, Case.opened_at.desc(), Case.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = [(c, name) for c, name in (await session.execute(rows_q)).all()]
    return Inbox(rows=rows, total=total, counts=counts, pages=pages)


async def comunas_in_scope(session: AsyncSession, scope: Scope) -> Sequence[Comuna]:
    query = select(Comuna).order_by(Comuna.name)
    if scope.role == Role.OFFICER:
        query = query.where(Comuna.region_code == scope.region_code)
    elif scope.role == Role.MUNICIPAL:
        query = query.where(Comuna.cut == scope.comuna_cut)
    return (await session.execute(query)).scalars().all()


async def case_page(
    session: AsyncSession, scope: Scope, case_id: int
) -> tuple[Case, str, Sequence[CaseEvent]] | None:
    """The case (if in scope), its comuna's name and its whole history: two queries."""
    row = (
        await session.execute(
            _scoped(
                select(Case, Comuna.name)
                .join(Comuna, Comuna.cut == Case.comuna_cut)
                .where(Case.id == case_id),
                scope,
            )
        )
    ).first()
    if row is None:
        return None
    events = (
        (
            await session.execute(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id)
                .order_by(CaseEvent.at, CaseEvent.id)
            )
        )
        .scalars()
        .all()
    )
    return row[0], row[1], events


# -- the statistics of response times -------------------------------------------------------


@dataclass(frozen=True)
class CaseTimes:
    """The rows behind the console's statistics of a scope; the medians and the months
    shown are the caller's. Hours may be negative if clocks disagreed."""

    opened: dict[str, int]  # cases opened per month ("YYYY-MM")
    comunas: list[tuple[str, str, int]]  # (cut, name, cases)
    answered: list[tuple[str, float]]  # (cut, hours to the first officer message) per case
    closed: list[tuple[str, str, float]]  # (cut, month, hours to closing) per closed case


def _time_sql(session: AsyncSession) -> tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]:
    """Month label and hours between two times, computed by the database (parsing 30,000
    datetimes in Python is what made the page slow)."""
    if session.get_bind().dialect.name == "sqlite":
        return (  # times are stored as ISO text: the month is its first seven characters
            lambda col: func.substr(col, 1, 7),
            lambda a, b: (func.julianday(b) - func.julianday(a)) * 24.0,
        )
    return (
        lambda col: func.to_char(func.timezone("UTC", col), "YYYY-MM"),
        lambda a, b: func.extract("epoch", b - a) / 3600.0,
    )


async def case_times(session: AsyncSession, scope: Scope) -> CaseTimes:
    """Counts are GROUP BYs in the database; the times come from two narrow queries (the
    first answer and the closing of each case, as hours, joined from the events to the
    scope's cases by index), so nothing per case is built in Python but two floats. One
    wide row per case with every case's events aggregated in subqueries was three times
    slower on a cold cache."""
    month, hours = _time_sql(session)
    opened_month = month(Case.opened_at).label("opened_month")  # grouped by its label:
    # PostgreSQL would see the format's two bound parameters as two expressions
    opened_q = _scoped(select(opened_month, func.count()).group_by(opened_month), scope)
    comunas_q = _scoped(
        select(Case.comuna_cut, Comuna.name, func.count())
        .join(Comuna, Comuna.cut == Case.comuna_cut)
        .group_by(Case.comuna_cut, Comuna.name),
        scope,
    )
    first_at = func.min(CaseEvent.at)
    answered_q = _scoped(
        select(Case.comuna_cut, hours(Case.opened_at, first_at))
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.kind == "message", CaseEvent.actor_role.in_((Role.OFFICER, Role.ADMIN)))
        .group_by(Case.id),
        scope,
    )
    closed_q = _scoped(
        select(Case.comuna_cut, month(first_at), hours(Case.opened_at, first_at))
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.status_to == CaseStatus.CLOSED)
        .group_by(Case.id),
        scope,
    )
    # Core execution on the unit's connection: plain rows, without the ORM's loading
    # (a third of the time with 10,000 cases).
    db = await session.connection()
    return CaseTimes(
        opened={str(m): int(n) for m, n in (await db.execute(opened_q)).all()},
        comunas=[(cut, name, int(n)) for cut, name, n in (await db.execute(comunas_q)).all()],
        answered=[(cut, float(h)) for cut, h in (await db.execute(answered_q)).all()],
        closed=[(cut, str(m), float(h)) for cut, m, h in (await db.execute(closed_q)).all()],
    )
