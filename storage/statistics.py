"""Repository of the official figures: editions stored whole, and the named questions the
statistics answers ask of the latest one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.editions import COMUNA, COUNTRY, COUNTRY_CODE, Edition
from storage.models import Comuna, StatEdition, StatEstimate, StatNationality, StatPermit


class Stored(StrEnum):
    NEW = "new"
    SAME = "same"  # the same edition with the same files: nothing changed
    REPLACED = "replaced"  # the same edition's name with corrected files


async def known_codes(session: AsyncSession) -> tuple[set[str], set[str]]:
    """Comuna codes and region codes of the directory (an edition may use no others)."""
    rows = (await session.execute(select(Comuna.cut, Comuna.region_code))).all()
    return {cut for cut, _ in rows}, {region for _, region in rows}


async def store(session: AsyncSession, edition: Edition, now: datetime) -> tuple[int, Stored]:
    """Store a checked edition in the caller's unit of work. Files already stored (under any
    name) change nothing; new files under a stored edition's name replace its figures."""
    same = (
        await session.execute(
            select(StatEdition.id).where(StatEdition.digest == edition.digest).limit(1)
        )
    ).scalar_one_or_none()
    if same is not None:
        return same, Stored.SAME
    found = (
        await session.execute(select(StatEdition).where(StatEdition.name == edition.name))
    ).scalar_one_or_none()
    outcome = Stored.NEW
    if found is not None:
        outcome = Stored.REPLACED
        for model in (StatEstimate, StatNationality, StatPermit):
            await session.execute(delete(model).where(model.edition_id == found.id))
        row = found
    else:
        row = StatEdition(name=edition.name)
        session.add(row)
    row.reference = edition.reference
    row.published = edition.published
    row.estimate_source = edition.sources["estimate_source"]
    row.estimate_url = edition.sources["estimate_url"]
    row.permits_source = edition.sources["permits_source"]
    row.permits_url = edition.sources["permits_url"]
    row.digest = edition.digest
    row.imported_at = now
    await session.flush()
    for model, rows in (
        (StatEstimate, edition.estimates),
        (StatNationality, edition.nationalities),
        (StatPermit, edition.permits),
    ):
        if rows:
            await session.execute(insert(model), [{"edition_id": row.id, **r} for r in rows])
    return row.id, outcome


@dataclass(frozen=True)
class EditionInfo:
    id: int
    name: str
    reference_year: int
    published: str | None
    estimate_source: str
    estimate_url: str
    permits_source: str
    permits_url: str


async def latest(session: AsyncSession) -> EditionInfo | None:
    """The edition the bot shows: the latest reference date, then the latest import."""
    row = (
        await session.execute(
            select(StatEdition)
            .order_by(
                StatEdition.reference.desc(), StatEdition.imported_at.desc(), StatEdition.id.desc()
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return EditionInfo(
        id=row.id,
        name=row.name,
        reference_year=row.reference.year,
        published=row.published,
        estimate_source=row.estimate_source,
        estimate_url=row.estimate_url,
        permits_source=row.permits_source,
        permits_url=row.permits_url,
    )


async def editions(session: AsyncSession) -> Sequence[StatEdition]:
    return (await session.execute(select(StatEdition).order_by(StatEdition.id))).scalars().all()


@dataclass(frozen=True)
class Estimate:
    year: int
    total: int
    men: int | None
    women: int | None


async def trend(session: AsyncSession, edition_id: int, kind: str, code: str) -> list[Estimate]:
    """The place's estimate for every year of the edition, oldest first."""
    rows = await session.execute(
        select(StatEstimate.year, StatEstimate.total, StatEstimate.men, StatEstimate.women)
        .where(
            StatEstimate.edition_id == edition_id,
            StatEstimate.kind == kind,
            StatEstimate.code == code,
        )
        .order_by(StatEstimate.year)
    )
    return [Estimate(*row) for row in rows.all()]


async def nationalities(
    session: AsyncSession, edition_id: int, kind: str, code: str, year: int
) -> list[tuple[str, int]]:
    """(country, estimate) of the place in that year, largest first."""
    rows = await session.execute(
        select(StatNationality.country, StatNationality.total)
        .where(
            StatNationality.edition_id == edition_id,
            StatNationality.kind == kind,
            StatNationality.code == code,
            StatNationality.year == year,
        )
        .order_by(StatNationality.total.desc(), StatNationality.country)
    )
    return [(country, int(total)) for country, total in rows.all()]


@dataclass(frozen=True)
class Permits:
    year: int
    counts: dict[tuple[str, str], int]  # (temporal|definitiva, acogidas|otorgadas) -> n


async def permits(session: AsyncSession, edition_id: int, cut: str) -> Permits | None:
    """The comuna's residence permits of the edition's latest permit year."""
    year = (
        await session.execute(
            select(func.max(StatPermit.year)).where(StatPermit.edition_id == edition_id)
        )
    ).scalar_one_or_none()
    if year is None:
        return None
    rows = await session.execute(
        select(StatPermit.permit, StatPermit.state, func.sum(StatPermit.n))
        .where(StatPermit.edition_id == edition_id, StatPermit.cut == cut, StatPermit.year == year)
        .group_by(StatPermit.permit, StatPermit.state)
    )
    return Permits(int(year), {(p, s): int(n) for p, s, n in rows.all()})


async def top_comunas(
    session: AsyncSession, edition_id: int, year: int, limit: int = 10
) -> list[tuple[str, str, int]]:
    """(cut, name, estimate) of the comunas with the most foreign residents that year."""
    rows = await session.execute(
        select(StatEstimate.code, Comuna.name, StatEstimate.total)
        .join(Comuna, Comuna.cut == StatEstimate.code)
        .where(
            StatEstimate.edition_id == edition_id,
            StatEstimate.kind == COMUNA,
            StatEstimate.year == year,
        )
        .order_by(StatEstimate.total.desc())
        .limit(limit)
    )
    return [(cut, name, int(total)) for cut, name, total in rows.all()]


async def national(session: AsyncSession, edition_id: int) -> list[Estimate]:
    return await trend(session, edition_id, COUNTRY, COUNTRY_CODE)
