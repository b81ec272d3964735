"""The statistics answer as replies: a place's official figures with a chart and buttons to
wider views, or the ranking. Shown by /estadisticas (intents/flows/statistics.py) and by the
knowledge base's answer to "¿cuántos migrantes hay en Arica?" (intents/answers.py), which is
why it lives outside the flow."""

from __future__ import annotations

from typing import Annotated

from intents import statistics
from intents.context import Context
from intents.messages import Button, Reply, rows
from intents.payloads import Pattern, Payload
from knowledge.normalize import fold
from knowledge.places import Gazetteer, Place
from storage import subscriptions
from storage.editions import COMUNA, COUNTRY, COUNTRY_CODE


# The statistics buttons, handled by intents/flows/statistics.py (which imports this module).
class PlaceFigures(Payload, prefix="est"):
    """A place's figures: "est:13101" (a comuna), "est:13" (a region), "est:00" (Chile)."""

    code: Annotated[str, Pattern(r"[0-9]{2}|[0-9]{5}")]


class Ranking(Payload, prefix="est:top"):
    """The comunas with the most foreign residents."""


# A question that names no place but asks "which comunas have the most…" wants the ranking.
RANKING_WORDS = frozenset({"mas", "most", "plis", "plus", "ranking", "top", "mayor", "biggest"})


async def gazetteer(ctx: Context) -> Gazetteer:
    return ctx.services.gazetteer or await statistics.gazetteer(ctx.session)


async def own_place(ctx: Context) -> Place | None:
    """The user's comuna (municipal contact, or the bulletin's comuna), else their region."""
    places = await gazetteer(ctx)
    cut = ctx.user.comuna_cut
    if cut is None:
        subscription = await subscriptions.get(ctx.session, ctx.user.id)
        cut = subscription.comuna_cut if subscription is not None else None
    if cut is not None:
        return places.by_code(cut)
    if ctx.user.region_code is not None:
        return places.by_code(ctx.user.region_code)
    return None


async def answer(ctx: Context, place: Place) -> list[Reply]:
    """The figures of a place: the text (with buttons to wider views) and the chart."""
    t = ctx.t
    found = await statistics.figures(ctx.session, place)
    if found is None:
        return [Reply(t._("Aún no hay cifras oficiales cargadas. Inténtalo más tarde."))]
    image = await statistics.chart(t, found, ctx.services.charts)
    return [
        Reply(statistics.text(t, found), wider(ctx, found)),
        Reply(statistics.caption(t, found), attachment=image),
    ]


async def top(ctx: Context) -> list[Reply]:
    t = ctx.t
    found = await statistics.ranking(ctx.session)
    if found is None:
        return [Reply(t._("Aún no hay cifras oficiales cargadas. Inténtalo más tarde."))]
    edition, year, comunas = found
    body = statistics.top_text(t, year, comunas)
    source = t._("Fuente: {edition}. {url}").format(edition=edition.name, url=edition.estimate_url)
    buttons = [PlaceFigures(cut).button(name) for cut, name, _ in comunas[:3]]
    return [Reply(f"{body}\n{source}", rows(buttons) + wider(ctx, None, top=False))]


def wider(
    ctx: Context, shown: statistics.Figures | None, *, top: bool = True
) -> tuple[tuple[Button, ...], ...]:
    """Buttons to the place's region, the whole country and the ranking."""
    t = ctx.t
    buttons: list[Button] = []
    if shown is not None and shown.place.kind == COMUNA and shown.area.kind == COMUNA:
        region = _region_of(ctx, shown.place)
        if region is not None:
            buttons.append(PlaceFigures(region.code).button(statistics.place_name(t, region)))
    if shown is None or shown.area.kind != COUNTRY:
        buttons.append(PlaceFigures(COUNTRY_CODE).button(t._("Todo Chile")))
    if top and (shown is None or shown.place.kind != COUNTRY):
        buttons.append(Ranking().button(t._("Ranking de comunas")))
    return rows(buttons)


def _region_of(ctx: Context, place: Place) -> Place | None:
    gazetteer = ctx.services.gazetteer
    if gazetteer is None:
        return None
    # A comuna's code starts with its region's (CUT: region, province, comuna).
    return next((r for r in gazetteer.regions if r.code == place.code[:2]), None)


async def for_question(ctx: Context, question: str) -> list[Reply] | None:
    """The statistics answer to a question that names a place; naming none, the ranking when
    it asks for the comunas with the most, else the user's own comuna; None when there is no
    place to answer for."""
    place = (await gazetteer(ctx)).locate(question)
    if place is None and RANKING_WORDS & set(fold(question).split()):
        return await top(ctx)
    place = place or await own_place(ctx)
    if place is None:
        return None
    return await answer(ctx, place)
