"""The console's read queries, each scoped to what the signed-in user may see.

Every list is one query (plus one count), joined with what it shows, so a page costs the
same few queries whatever its length (tests count them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession

from intents.cases_text import STATUSES, URGENCIES
from storage.models import Case, CaseEvent, Comuna, User

Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]
PAGE_SIZE = 25
AGES = {"1": 1, "7": 7, "30": 30}  # "open for more than N days"


def scope_filter(query: Q, user: User) -> Q:
    """Admins see every case; officers their region; municipal contacts their comuna."""
    if user.role == "admin":
        return query
    if user.role == "officer":
        return query.where(Case.region_code == user.region_code)
    return query.where(Case.comuna_cut == user.comuna_cut)


@dataclass(frozen=True)
class Filters:
    status: str = ""
    comuna: str = ""
    urgency: str = ""
    age: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def parse(cls, query: Any) -> Filters:
        """Unknown values are ignored rather than rejected: a filter is a convenience."""
        status = query.get("estado", "")
        urgency = query.get("urgencia", "")
        age = query.get("antiguedad", "")
        comuna = query.get("comuna", "")
        page = query.get("pagina", "1")
        return cls(
            status=status if status in STATUSES or status == "sin_cerrar" else "",
            comuna=comuna if comuna.isdigit() and len(comuna) == 5 else "",
            urgency=urgency if urgency in URGENCIES else "",
            age=age if age in AGES else "",
            q=query.get("q", "").strip()[:100],
            page=int(page) if page.isdigit() and 0 < len(page) < 6 else 1,
        )

    def params(self, **change: Any) -> dict[str, str]:
        values = {
            "estado": self.status,
            "comuna": self.comuna,
            "urgencia": self.urgency,
            "antiguedad": self.age,
            "q": self.q,
            "pagina": str(self.page),
        }
        values.update({k: str(v) for k, v in change.items()})
        return {k: v for k, v in values.items() if v and not (k == "pagina" and v == "1")}


def _filtered(query: Q, user: User, f: Filters, now: datetime) -> Q:
    query = scope_filter(query, user)
    if f.comuna:
        query = query.where(Case.comuna_cut == f.comuna)
    if f.urgency:
        query = query.where(Case.urgency == f.urgency)
    if f.age:
        query = query.where(Case.opened_at < now - timedelta(days=AGES[f.age]))
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Case.number.ilike(like, escape="\\"), Case.description.ilike(like, escape="\\"))
        )
    return query


def _status(query: Q, f: Filters) -> Q:
    if f.status == "sin_cerrar":
        return query.where(Case.status != "cerrado")
    if f.status:
        return query.where(Case.status == f.status)
    return query


@dataclass(frozen=True)
class Inbox:
    rows: Sequence[tuple[Case, str]]
    total: int
    counts: dict[str, int]
    pages: int


async def inbox(session: AsyncSession, user: User, f: Filters, now: datetime) -> Inbox:
    counts_q = _filtered(select(Case.status, func.count()).group_by(Case.status), user, f, now)
    counts = {s: int(n) for s, n in (await session.execute(counts_q)).all()}
    if f.status == "sin_cerrar":
        total = sum(n for s, n in counts.items() if s != "cerrado")
    elif f.status:
        total = counts.get(f.status, 0)
    else:
        total = sum(counts.values())
    urgent_first = sql_case((Case.status == "cerrado", 2), (Case.urgency == "urgente", 0), else_=1)
    rows_q = _status(
        _filtered(
            select(Case, Comuna.name).join(Comuna, Comuna.cut == Case.comuna_cut), user, f, now
        ),
        f,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(f.page, pages)
    rows_q = (
        rows_q.order_by(urgent_first, Case.opened_at.desc(), Case.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = [(c, name) for c, name in (await session.execute(rows_q)).all()]
    return Inbox(rows=rows, total=total, counts=counts, pages=pages)


async def comunas_in_scope(session: AsyncSession, user: User) -> Sequence[Comuna]:
    query = select(Comuna).order_by(Comuna.name)
    if user.role == "officer":
        query = query.where(Comuna.region_code == user.region_code)
    elif user.role == "municipal":
        query = query.where(Comuna.cut == user.comuna_cut)
    return (await session.execute(query)).scalars().all()


async def case_page(
    session: AsyncSession, user: User, case_id: int
) -> tuple[Case, str, Sequence[CaseEvent]] | None:
    """The case (if in scope), its comuna's name and its whole history: two queries."""
    row = (
        await session.execute(
            scope_filter(
                select(Case, Comuna.name)
                .join(Comuna, Comuna.cut == Case.comuna_cut)
                .where(Case.id == case_id),
                user,
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
