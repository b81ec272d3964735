"""Repository of the territorial directory: regions and comunas (codes kept as text)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import Inconsistent
from storage.models import Comuna, Region, User
from storage.states import Role

SEED = Path(__file__).parent / "data" / "comunas.csv"


@cache
def seed_place_names() -> tuple[str, ...]:
    """Every comuna and region name of the seed directory (the matcher treats them as
    places), with the regions' short names ("Biobío" for the region of Biobío)."""
    names: set[str] = set()
    with SEED.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            names.add(row["comuna"])
            region = row["region_name"]
            names.add(region)
            for prefix in ("Metropolitana de ", "Libertador General Bernardo "):
                region = region.removeprefix(prefix)
            names.add(region.split(" del ")[0].split(" y de ")[0].split(" y ")[0])
    names.update(("Región Metropolitana", "Santiago de Chile"))
    return tuple(sorted(names))


async def comuna(session: AsyncSession, cut: str) -> Comuna | None:
    return await session.get(Comuna, cut)


async def known_comuna(session: AsyncSession, cut: str) -> Comuna:
    """A comuna another row refers to (a code's, a subscription's): its absence is a broken
    database, not a user's typo."""
    found = await session.get(Comuna, cut)
    if found is None:
        raise Inconsistent(f"comuna {cut} is referred to but not in the directory")
    return found


async def region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def all_regions(session: AsyncSession) -> Sequence[Region]:
    return (await session.execute(select(Region).order_by(Region.code))).scalars().all()


async def all_comunas(session: AsyncSession) -> Sequence[Comuna]:
    return (await session.execute(select(Comuna).order_by(Comuna.cut))).scalars().all()


async def comunas_of_region(session: AsyncSession, region_code: str) -> Sequence[Comuna]:
    """A region's comunas by name."""
    query = select(Comuna).where(Comuna.region_code == region_code).order_by(Comuna.name)
    return (await session.execute(query)).scalars().all()


async def regions_with_comunas(
    session: AsyncSession,
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Every region (code, name) with its comunas (code, name), by region code then comuna
    name, in one query."""
    rows = await session.execute(
        select(Region.code, Region.name, Comuna.cut, Comuna.name)
        .join(Comuna, Comuna.region_code == Region.code, isouter=True)
        .order_by(Region.code, Comuna.name)
    )
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code, name, cut, comuna in rows.all():
        comunas = found.setdefault((code, name), [])
        if cut is not None:
            comunas.append((cut, comuna))
    return [(code, name, comunas) for (code, name), comunas in found.items()]


async def municipal_contacts(
    session: AsyncSession, region_code: str
) -> Sequence[tuple[str, str, int]]:
    """How many municipal contacts each comuna of a region has per channel: (comuna name,
    channel, count), by comuna name; comunas without contacts are absent."""
    rows = await session.execute(
        select(Comuna.name, User.channel, func.count())
        .join(Comuna, Comuna.cut == User.comuna_cut)
        .where(User.role == Role.MUNICIPAL, Comuna.region_code == region_code)
        .group_by(Comuna.name, User.channel)
        .order_by(Comuna.name)
    )
    return [(name, channel, int(n)) for name, channel, n in rows.all()]


ADMIN_SOURCE = "admin"  # a status an admin set with the CLI, rather than a public source


def in_sello(comuna: Comuna) -> bool:
    """Whether the directory knows the comuna to be in the Sello (adhered, certified or
    renewed). Not knowing is not "no": the official list is SERMIG's."""
    return comuna.sello_status is not None or comuna.adhered_since is not None


async def count_adhered(session: AsyncSession) -> int:
    """How many comunas the directory knows to be in the Sello."""
    result = await session.execute(
        select(func.count())
        .select_from(Comuna)
        .where(or_(Comuna.sello_status.is_not(None), Comuna.adhered_since.is_not(None)))
    )
    return int(result.scalar_one())


async def set_adhered(session: AsyncSession, cut: str, since: date | None) -> Comuna | None:
    """An admin marks a comuna as adhered since a date (None: no longer in the directory)."""
    found = await comuna(session, cut)
    if found is not None:
        found.adhered_since = since
        if since is None:
            found.sello_status = found.sello_source = found.sello_evidence = None
        elif found.sello_status is None:
            found.sello_status = "adherida"
            found.sello_source = ADMIN_SOURCE
        # A status a public source confirms keeps that source; the admin only dates it.
    return found
