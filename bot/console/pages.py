"""Console pages for the content team and the directory: unanswered questions grouped by
similarity, comunas with their Sello status, contacts, officers and enrollment codes, and
the case statistics of the user's scope."""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.console.web import CONFIG_KEY, T, Visit, redirect, signed_in
from intents import statistics as official
from intents.errors import DomainError
from intents.flows.enrollment import issue_code
from intents.masking import mask_identifiers
from knowledge.grouping import group
from knowledge.normalize import Normalizer
from knowledge.places import Place
from storage import casework, console, directory, feedback, officers
from storage import questions as unanswered
from storage.editions import COMUNA, REGION

REGIONS = tuple(f"{n:02d}" for n in range(1, 17))
QUESTION_DAYS = {"7": 7, "30": 30, "90": 90}
MAX_QUESTIONS = 3000  # the newest ones: grouping is quadratic in the number of groups
FEEDBACK_PAGE = 20
TOP_TOPICS = 5  # per language and week


def _staff(visit: Visit) -> web.Response | None:
    if visit.user.role not in ("officer", "admin"):
        return visit.render("forbidden.html", status=403)
    return None


@signed_in
async def questions(visit: Visit) -> web.StreamResponse:
    refused = _staff(visit)
    if refused is not None:
        return refused
    raw = visit.request.query.get("dias", "30")
    days = QUESTION_DAYS.get(raw, 30)
    since = visit.now - timedelta(days=days)
    rows = await unanswered.newest_since(visit.db, since, MAX_QUESTIONS)
    # Shown masked: a question may carry a RUT or a passport number.
    masked = [(mask_identifiers(t)[0], lang, guess) for t, lang, guess, _ in rows]
    groups = group(masked, Normalizer(visit.engine.services.kb.synonyms))
    weeks: dict[str, Counter[str]] = defaultdict(Counter)
    for _, lang, _, at in rows:
        weeks[_week(at)][lang] += 1
    return visit.render(
        "questions.html",
        groups=groups[:100],
        total=len(rows),
        days=days,
        choices=QUESTION_DAYS,
        weeks=sorted(weeks.items(), reverse=True),
        **await _feedback(visit, since, days),
    )


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-S{week:02d}"


async def _feedback(visit: Visit, since: datetime, days: int) -> dict[str, Any]:
    """The 👎 of the period (masked again: what people type may carry an identifier that
    the chat's masking missed when it was stored) and the most asked topics per language
    and week, from the ratings (every rating is an answer that was served)."""
    raw = visit.request.query.get("pagina", "1")
    page = int(raw) if raw.isdigit() and 0 < len(raw) < 6 else 1
    total, rows = await feedback.newest_complaints(
        visit.db, since, (page - 1) * FEEDBACK_PAGE, FEEDBACK_PAGE
    )
    pages = max(1, -(-total // FEEDBACK_PAGE))
    if page > pages:  # past the end: the last page
        page = pages
        _, rows = await feedback.newest_complaints(
            visit.db, since, (page - 1) * FEEDBACK_PAGE, FEEDBACK_PAGE
        )
    complaints = [
        {
            "question": mask_identifiers(r.question)[0] if r.question else None,
            "looking_for": mask_identifiers(r.looking_for)[0] if r.looking_for else None,
            "topic": r.topic,
            "lang": r.lang,
            "at": r.at,
        }
        for r in rows
    ]
    tally: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for topic, lang, helpful, at in await feedback.served(visit.db, since):
        tally[(_week(at), lang)][topic][0 if helpful else 1] += 1
    topics = [
        (
            week,
            lang,
            sorted(
                ((t, up, down) for t, (up, down) in by_topic.items()),
                key=lambda x: (-(x[1] + x[2]), x[0]),
            )[:TOP_TOPICS],
        )
        for (week, lang), by_topic in sorted(tally.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]
    topics.sort(key=lambda x: x[0], reverse=True)  # newest week first, languages in order
    return {
        "complaints": complaints,
        "complaints_total": total,
        "feedback_page": page,
        "feedback_pages": pages,
        "topics": topics,
    }


@signed_in
async def directory_page(visit: Visit) -> web.StreamResponse:
    refused = _staff(visit)
    if refused is not None:
        return refused
    return visit.render("directory.html", **await _directory(visit))


async def _directory(visit: Visit) -> dict[str, Any]:
    """One region at a time: the officer's, or the one an admin picks (13 by default)."""
    if visit.user.role == "admin":
        asked = visit.request.query.get("region", "13")
        region = asked if asked in REGIONS else "13"
    else:
        region = visit.user.region_code or ""
    return {
        "region": region,
        "regions": REGIONS,
        "comunas": await directory.comunas_of_region(visit.db, region),
        "contacts": await directory.municipal_contacts(visit.db, region),
        "officers": await officers.active_by_name(visit.db, region),
        "admin": visit.user.role == "admin",
        "code": None,
    }


@signed_in
async def directory_action(visit: Visit) -> web.StreamResponse:
    """Admins change a comuna's Sello status; officers and admins issue enrollment codes
    (the same function as /codigo, with its region rule)."""
    refused = _staff(visit)
    if refused is not None:
        return refused
    form = await visit.request.post()
    action = str(form.get("action", ""))
    cut = str(form.get("cut", "")).strip()
    if action == "code":
        ctx = visit.context()
        ctx.args = cut
        try:
            [reply] = await issue_code(ctx)
        except DomainError as exc:
            values = await _directory(visit)
            return visit.render("directory.html", status=400, error=exc.message, **values)
        console.audit(visit.db, visit.user, "code.issue", visit.now, target=f"comuna:{cut}")
        values = await _directory(visit)
        values["code"] = reply.text
        return visit.render("directory.html", **values)
    if action in ("adhere", "withdraw") and visit.user.role == "admin":
        since: date | None = None
        if action == "adhere":
            try:
                since = date.fromisoformat(str(form.get("since", "")))
            except ValueError:
                values = await _directory(visit)
                return visit.render("directory.html", status=400, error="AAAA-MM-DD", **values)
        found = await directory.set_adhered(visit.db, cut, since) if cut.isdigit() else None
        if found is None:
            return visit.render("not_found.html", status=404)
        console.audit(visit.db, visit.user, f"comuna.{action}", visit.now, target=f"comuna:{cut}")
        return redirect(f"/console/directorio?region={found.region_code}")
    return visit.render("forbidden.html", status=403)


STATS_TTL = 60.0  # seconds: figures of months do not need to be live to the second


@signed_in
async def stats(visit: Visit) -> web.StreamResponse:
    """The scope's figures, computed at most once a minute per scope (the computation reads
    every case of the scope; a page view should not)."""
    key = ("stats", visit.scope)
    cache = visit.request.app[CONFIG_KEY].cache
    cached = cache.get(key)
    clock = time.monotonic()
    if cached is None or clock - cached[0] > STATS_TTL:
        cached = (clock, await _stats(visit))
        cache[key] = cached
    place = await _official_place(visit)
    found = await official.figures(visit.db, place) if place is not None else None
    return visit.render(
        "stats.html",
        place=place,
        figures=found,
        official_text=official.text(T, found).split("\n") if found is not None else [],
        caption=official.caption(T, found) if found is not None else "",
        places=await _places(visit) if visit.user.role == "admin" else [],
        **cached[1],
    )


async def _official_place(visit: Visit) -> Place | None:
    """Whose official figures the page shows: a municipal contact's comuna, an officer's
    region, or the region or comuna an admin picks (Metropolitana by default). What others
    ask for in the address is ignored: their scope is fixed, as in chat."""
    user = visit.user
    if user.role == "admin":
        code = visit.request.query.get("lugar", "13")
        if not (code.isdigit() and len(code) in (2, 5)):
            code = "13"
    elif user.role == "officer":
        code = user.region_code or ""
    else:
        code = user.comuna_cut or ""
    if len(code) == 5:
        comuna = await directory.comuna(visit.db, code)
        return Place(COMUNA, comuna.cut, comuna.name) if comuna is not None else None
    region = await directory.region(visit.db, code)
    return Place(REGION, region.code, region.name) if region is not None else None


async def _places(visit: Visit) -> list[tuple[Place, list[Place]]]:
    """Every region with its comunas, for the admin's selector (one query)."""
    return [
        (Place(REGION, code, name), [Place(COMUNA, cut, comuna) for cut, comuna in comunas])
        for code, name, comunas in await directory.regions_with_comunas(visit.db)
    ]


@signed_in
async def official_chart(visit: Visit) -> web.StreamResponse:
    """The chart of the page's place as PNG, from the same cache as /estadisticas in chat
    (drawn once per edition, place and language)."""
    place = await _official_place(visit)
    found = await official.figures(visit.db, place) if place is not None else None
    if found is None:
        return visit.render("not_found.html", status=404)
    image = await official.chart(T, found, visit.engine.services.charts)
    return web.Response(body=image.content, content_type=image.mime)


async def _stats(visit: Visit) -> dict[str, Any]:
    """Opened and closed per month, median hours to the first answer and to closing, per
    comuna, from the rows storage computes (`casework.case_times`)."""
    times = await casework.case_times(visit.db, visit.scope)
    opened: Counter[str] = Counter(times.opened)
    names: dict[str, str] = {}
    per_comuna: dict[str, int] = {}
    for cut, name, n in times.comunas:
        names[cut], per_comuna[cut] = name, n
    answer_by: dict[str, list[float]] = defaultdict(list)
    for cut, h in times.answered:
        answer_by[cut].append(max(0.0, h))
    close_by: dict[str, list[float]] = defaultdict(list)
    closed_by_month: Counter[str] = Counter()
    for cut, closed_month, h in times.closed:
        close_by[cut].append(max(0.0, h))
        closed_by_month[closed_month] += 1
    months = sorted(set(opened) | set(closed_by_month))[-12:]
    peak = max([opened[m] for m in months] + [closed_by_month[m] for m in months] + [1])

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    top = sorted(per_comuna.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    comunas = [
        {
            "name": names[cut],
            "n": n,
            "answer": median(answer_by.get(cut, [])),
            "close": median(close_by.get(cut, [])),
        }
        for cut, n in top
    ]
    return {
        "months": [(m, opened[m], closed_by_month[m]) for m in months],
        "peak": peak,
        "total": sum(per_comuna.values()),
        "answer": median([h for hs in answer_by.values() for h in hs]),
        "close": median([h for hs in close_by.values() for h in hs]),
        "comunas": comunas,
        "as_of": visit.now,
    }


ROUTES = (
    web.get("/console/preguntas", questions),
    web.get("/console/directorio", directory_page),
    web.post("/console/directorio", directory_action),
    web.get("/console/estadisticas", stats),
    web.get("/console/estadisticas/grafico", official_chart),
)
