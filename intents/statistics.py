"""Communal statistics as answers: the figures of a place from the latest edition, as text,
as a chart with a caption that states the same numbers, and as plain data (JSON)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel import Locale

from intents.charts import MAX_BARS, ChartCache, ChartData, render
from intents.i18n import FORMAT_LOCALES, Texts
from intents.messages import Attachment
from knowledge.normalize import fold
from knowledge.places import Gazetteer, Place
from storage import directory
from storage import statistics as stats
from storage.db import Session
from storage.editions import COMUNA, COUNTRY, PERMITS, REGION, STATES

# Lines of the estimate that are not one country: drawn last, as "other countries".
_OTHERS = ("otros paises", "otro pais", "pais ignorado")
TOP = 10


@dataclass(frozen=True)
class Figures:
    """What the bot says about a place, as plain data (no ORM object, no language)."""

    place: Place
    edition: stats.EditionInfo
    area: Place  # whose estimate is shown: the place, or its region when it has none
    own_estimate: bool
    trend: tuple[stats.Estimate, ...]
    nationalities: tuple[tuple[str, int], ...]  # named countries, largest first
    others: int  # every other country, together
    national_total: int
    permits: stats.Permits | None = None
    top: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)

    @property
    def latest(self) -> stats.Estimate:
        return self.trend[-1]


async def gazetteer(session: Session) -> Gazetteer:
    """Every comuna and region of the directory, searchable by name."""
    comunas = [(c.cut, c.name) for c in await directory.all_comunas(session)]
    regions = [(r.code, r.name) for r in await directory.all_regions(session)]
    return Gazetteer(comunas, regions)


async def figures(session: Session, place: Place) -> Figures | None:
    """The place's figures from the latest edition; None when no edition is loaded."""
    edition = await stats.latest(session)
    if edition is None:
        return None
    area = place
    trend = await stats.trend(session, edition.id, place.kind, place.code)
    if not trend and place.kind == COMUNA:
        comuna = await directory.comuna(session, place.code)
        region = await directory.region(session, comuna.region_code) if comuna else None
        if region is not None:
            area = Place(REGION, region.code, region.name)
            trend = await stats.trend(session, edition.id, REGION, region.code)
    national = await stats.national(session, edition.id)
    if not trend or not national:
        return None
    year = trend[-1].year
    named, others = _split_others(
        await stats.nationalities(session, edition.id, area.kind, area.code, year)
    )
    permits = await stats.permits(session, edition.id, place.code) if place.kind == COMUNA else None
    top = await stats.top_comunas(session, edition.id, year, TOP) if place.kind == COUNTRY else []
    return Figures(
        place=place,
        edition=edition,
        area=area,
        own_estimate=area == place,
        trend=tuple(trend),
        nationalities=tuple(named),
        others=others,
        national_total=next((e.total for e in national if e.year == year), national[-1].total),
        permits=permits,
        top=tuple(top),
    )


async def ranking(session: Session) -> tuple[stats.EditionInfo, int, list[Any]] | None:
    """The comunas with the most foreign residents in the latest year of the latest edition."""
    edition = await stats.latest(session)
    if edition is None:
        return None
    national = await stats.national(session, edition.id)
    if not national:
        return None
    year = national[-1].year
    return edition, year, await stats.top_comunas(session, edition.id, year, TOP)


def _split_others(rows: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], int]:
    """At most MAX_BARS - 1 named countries; the rest (and "Otros países") as one figure."""
    named = [(c, n) for c, n in rows if fold(c) not in _OTHERS]
    others = sum(n for c, n in rows if fold(c) in _OTHERS)
    keep = named[: MAX_BARS - 1]
    others += sum(n for _, n in named[MAX_BARS - 1 :])
    return keep, others


def place_name(t: Texts, place: Place) -> str:
    if place.kind == REGION and place.name.startswith("Metropolitana"):
        return t._("Región Metropolitana de Santiago")
    if place.kind == REGION:
        return t._("Región de {region}").format(region=place.name)
    if place.kind == COUNTRY:
        return t._("Chile (todo el país)")
    return place.name


def _share(t: Texts, part: int, whole: int) -> str:
    return t.percent(part / whole) if whole else "–"


def _series(t: Texts, f: Figures) -> str:
    return " · ".join(f"{e.year}: {t.number(e.total)}" for e in f.trend)


# The countries of the official tables (named in Spanish there), by ISO 3166 code: shown in
# the reader's language, by CLDR's names (babel); Kreyòl, which CLDR does not name countries
# in, by the table below (marked for native review like the rest of the Kreyòl).
COUNTRY_CODES = {
    "Alemania": "DE",
    "Argentina": "AR",
    "Bolivia": "BO",
    "Brasil": "BR",
    "China": "CN",
    "Colombia": "CO",
    "Cuba": "CU",
    "Ecuador": "EC",
    "España": "ES",
    "Estados Unidos": "US",
    "Francia": "FR",
    "Haití": "HT",
    "Italia": "IT",
    "México": "MX",
    "Paraguay": "PY",
    "Perú": "PE",
    "R. Dominicana": "DO",
    "Uruguay": "UY",
    "Venezuela": "VE",
}
KREYOL_COUNTRIES = {
    "DE": "Almay",
    "AR": "Ajantin",
    "BO": "Bolivi",
    "BR": "Brezil",
    "CN": "Lachin",
    "CO": "Kolonbi",
    "CU": "Kiba",
    "EC": "Ekwatè",
    "ES": "Espay",
    "US": "Etazini",
    "FR": "Lafrans",
    "HT": "Ayiti",
    "IT": "Itali",
    "MX": "Meksik",
    "PY": "Paragwe",
    "PE": "Pewou",
    "DO": "Repiblik Dominikèn",
    "UY": "Irigwe",
    "VE": "Venezyela",
}


def country_name(t: Texts, name: str) -> str:
    """A country of the official tables in the reader's language (as published when unknown)."""
    code = COUNTRY_CODES.get(name)
    if code is None or t.lang == "es":
        return name
    if t.lang == "ht":
        return KREYOL_COUNTRIES.get(code, name)
    return str(Locale.parse(FORMAT_LOCALES.get(t.lang, t.lang)).territories.get(code, name))


def _countries(t: Texts, f: Figures) -> str:
    parts = [f"{country_name(t, country)} {t.number(n)}" for country, n in f.nationalities]
    if f.others:
        parts.append(t._("otros países {n}").format(n=t.number(f.others)))
    return ", ".join(parts)


def _estimate_source(t: Texts, f: Figures) -> str:
    return t._("Fuente: {edition}. {url}").format(
        edition=f.edition.name, url=f.edition.estimate_url
    )


def text(t: Texts, f: Figures) -> str:
    """The answer in the reader's language: every figure with its year, source and edition."""
    latest = f.latest
    area = place_name(t, f.area)
    lines = [f"📊 {place_name(t, f.place)}"]
    if not f.own_estimate:
        lines.append(
            t._(
                "{comuna} no tiene una estimación propia: el INE y SERMIG publican cifras por "
                "comuna solo donde hay 10.000 o más personas extranjeras estimadas. Estas son "
                "las cifras de su región."
            ).format(comuna=f.place.name)
        )
    lines.append(
        t._("{place}: {n} personas extranjeras residentes estimadas al {date}.").format(
            place=area, n=t.number(latest.total), date=t.date(date(latest.year, 12, 31))
        )
    )
    lines.append(t._("Evolución: {series}.").format(series=_series(t, f)))
    lines.append(
        t._("Principales nacionalidades ({year}): {countries}.").format(
            year=latest.year, countries=_countries(t, f)
        )
    )
    if latest.women is not None:
        lines.append(
            t._("Mujeres: {share} ({n}) en {year}.").format(
                share=_share(t, latest.women, latest.total),
                n=t.number(latest.women),
                year=latest.year,
            )
        )
    if f.area.kind != COUNTRY:
        lines.append(
            t._("Es el {share} del total del país ({total} en {year}).").format(
                share=_share(t, latest.total, f.national_total),
                total=t.number(f.national_total),
                year=latest.year,
            )
        )
    lines.append(_estimate_source(t, f))
    if f.top:
        lines.append("")
        lines.append(top_text(t, f.latest.year, list(f.top)))
    if f.permits is not None:
        lines.append("")
        lines.append(permits_text(t, f))
    return "\n".join(lines)


def permits_text(t: Texts, f: Figures) -> str:
    permits = f.permits
    if permits is None:
        raise ValueError("permits_text needs figures with permits")
    if not permits.counts:
        body = t._("{comuna}: no hay permisos de residencia registrados en {year}.").format(
            comuna=f.place.name, year=permits.year
        )
    else:
        c = permits.counts
        body = t._(
            "Permisos de residencia en {comuna}, {year} (trámites registrados, no personas): "
            "temporal {ta} acogidos a trámite y {tg} otorgados; definitiva {da} acogidos a "
            "trámite y {dg} otorgados."
        ).format(
            comuna=f.place.name,
            year=permits.year,
            ta=t.number(c.get(("temporal", "acogidas"), 0)),
            tg=t.number(c.get(("temporal", "otorgadas"), 0)),
            da=t.number(c.get(("definitiva", "acogidas"), 0)),
            dg=t.number(c.get(("definitiva", "otorgadas"), 0)),
        )
    source = t._("Fuente: {source} ({year}). {url}").format(
        source=f.edition.permits_source, year=permits.year, url=f.edition.permits_url
    )
    return f"{body}\n{source}"


def top_text(t: Texts, year: int, rows: list[tuple[str, str, int]]) -> str:
    lines = [
        t._("Las {n} comunas con más personas extranjeras estimadas al {date}:").format(
            n=len(rows), date=t.date(date(year, 12, 31))
        )
    ]
    lines += [f"{i}. {name}: {t.number(n)}" for i, (_, name, n) in enumerate(rows, 1)]
    return "\n".join(lines)


def caption(t: Texts, f: Figures) -> str:
    """The chart's caption: the same numbers as the image, for a reader who cannot see it."""
    latest = f.latest
    return t._(
        "Gráfico — {place}: personas extranjeras estimadas, {series}. Principales "
        "nacionalidades ({year}): {countries}. Fuente: {edition}."
    ).format(
        place=place_name(t, f.area),
        series=_series(t, f),
        year=latest.year,
        countries=_countries(t, f),
        edition=f.edition.name,
    )[:1024]


def chart_data(t: Texts, f: Figures) -> ChartData:
    bars = [(country_name(t, country), n) for country, n in f.nationalities]
    if f.others:
        bars.append((t._("Otros países"), f.others))
    first, last = f.trend[0].year, f.latest.year
    return ChartData(
        title=place_name(t, f.area),
        trend_title=t._("Personas extranjeras estimadas, {first}–{last}").format(
            first=first, last=last
        ),
        trend=tuple((e.year, e.total) for e in f.trend),
        bars_title=t._("Principales nacionalidades, {year}").format(year=last),
        bars=tuple(bars[:MAX_BARS]),
        source=t._("Fuente: {edition}").format(edition=f.edition.name),
    )


async def chart(t: Texts, f: Figures, cache: ChartCache) -> Attachment:
    """The chart as an image attachment, drawn once per edition, place and language (in a
    worker thread: drawing takes tens of milliseconds of CPU)."""
    key = (f.edition.id, f.area.kind, f.area.code, t.lang)
    png = cache.get(key)
    if png is None:
        png = await asyncio.to_thread(render, chart_data(t, f), t.number)
        cache.put(key, png)
    slug = re.sub(r"[^a-z0-9]+", "-", fold(f.area.name)).strip("-") or "chile"
    return Attachment(f"estadisticas-{slug}.png", png, "image/png")


def as_json(f: Figures) -> dict[str, Any]:
    """One object with the figures, the year and the edition (`stats show --json`)."""
    latest = f.latest
    result: dict[str, Any] = {
        "place": {"kind": f.place.kind, "code": f.place.code, "name": f.place.name},
        "own_estimate": f.own_estimate,
        "area": {"kind": f.area.kind, "code": f.area.code, "name": f.area.name},
        "edition": {
            "name": f.edition.name,
            "reference_year": f.edition.reference_year,
            "published": f.edition.published,
            "source": f.edition.estimate_source,
            "url": f.edition.estimate_url,
        },
        "year": latest.year,
        "estimate": latest.total,
        "trend": [{"year": e.year, "estimate": e.total} for e in f.trend],
        "nationalities": [{"country": c, "estimate": n} for c, n in f.nationalities],
        "other_countries": f.others,
        "women": latest.women,
        "women_share": round(latest.women / latest.total, 4) if latest.women else None,
        "national_total": f.national_total,
        "national_share": round(latest.total / f.national_total, 4),
    }
    if f.permits is not None:
        result["permits"] = {
            "year": f.permits.year,
            "source": f.edition.permits_source,
            "url": f.edition.permits_url,
            **{
                permit: {state: f.permits.counts.get((permit, state), 0) for state in STATES}
                for permit in PERMITS
            },
        }
    if f.top:
        result["top_comunas"] = [
            {"cut": cut, "name": name, "estimate": n} for cut, name, n in f.top
        ]
    return result
