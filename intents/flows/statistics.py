"""/estadisticas [comuna or region]: official figures on foreign residents, with a chart; and
the same answer for questions like "¿cuántos migrantes hay en Arica?"."""

from __future__ import annotations

from intents import statistics
from intents.context import Context
from intents.messages import Button, Reply, rows
from intents.router import Flow
from knowledge.normalize import fold
from knowledge.places import Gazetteer, Place
from storage import subscriptions
from storage.editions import COMUNA, COUNTRY, COUNTRY_CODE

FLOW_NAME = "statistics"
BUTTON = "est"  # est:13101 (a comuna), est:13 (a region), est:00 (the country), est:top
TOP_WORDS = frozenset({"top", "ranking", "mas", "plus", "most", "pi"})
# A question that names no place but asks "which comunas have the most…" wants the ranking.
RANKING_WORDS = frozenset({"mas", "most", "plis", "plus", "ranking", "top", "mayor", "biggest"})


async def _gazetteer(ctx: Context) -> Gazetteer:
    return ctx.services.gazetteer or await statistics.gazetteer(ctx.session)


async def command(ctx: Context) -> list[Reply]:
    """/estadisticas [place]: the named place, else the user's own comuna, else ask."""
    if ctx.user.flow == FLOW_NAME:
        ctx.end_flow()
    if ctx.args:
        return await _named(ctx, ctx.args)
    own = await _own_place(ctx)
    if own is not None:
        return await answer(ctx, own)
    ctx.start_flow(FLOW_NAME, "place")
    return [
        Reply(
            ctx.t._(
                "¿De qué comuna o región quieres las cifras? Escribe su nombre (por ejemplo: "
                "Arica, Antofagasta o Biobío), o /cancelar."
            ),
            _wider(ctx, None),
        )
    ]


async def place_step(ctx: Context) -> list[Reply]:
    """Step `place`: the user typed the name we asked for."""
    ctx.end_flow()
    return await _named(ctx, ctx.text)


async def pressed(ctx: Context) -> list[Reply]:
    if ctx.user.flow == FLOW_NAME:
        ctx.end_flow()
    if ctx.args == "top":
        return await top(ctx)
    place = (await _gazetteer(ctx)).by_code(ctx.args)
    if place is None:
        return [Reply(ctx.t._("Ese botón ya no está disponible."))]
    return await answer(ctx, place)


async def _named(ctx: Context, name: str) -> list[Reply]:
    if fold(name) in TOP_WORDS:
        return await top(ctx)
    found = (await _gazetteer(ctx)).search(name)
    if found.found is not None:
        return await answer(ctx, found.found)
    buttons = [Button(p.name, f"{BUTTON}:{p.code}") for p in found.closest]
    return [
        Reply(
            ctx.t._("No encontré la comuna o región «{name}». ¿Quisiste decir…?").format(
                name=name.strip()[:60]
            ),
            rows(buttons) + _wider(ctx, None),
        )
    ]


async def _own_place(ctx: Context) -> Place | None:
    """The user's comuna (municipal contact, or the bulletin's comuna), else their region."""
    gazetteer = await _gazetteer(ctx)
    cut = ctx.user.comuna_cut
    if cut is None:
        subscription = await subscriptions.get(ctx.session, ctx.user.id)
        cut = subscription.comuna_cut if subscription is not None else None
    if cut is not None:
        return gazetteer.by_code(cut)
    if ctx.user.region_code is not None:
        return gazetteer.by_code(ctx.user.region_code)
    return None


async def answer(ctx: Context, place: Place) -> list[Reply]:
    """The figures of a place: the text (with buttons to wider views) and the chart."""
    t = ctx.t
    found = await statistics.figures(ctx.session, place)
    if found is None:
        return [Reply(t._("Aún no hay cifras oficiales cargadas. Inténtalo más tarde."))]
    image = await statistics.chart(t, found, ctx.services.charts)
    return [
        Reply(statistics.text(t, found), _wider(ctx, found)),
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
    buttons = [Button(name, f"{BUTTON}:{cut}") for cut, name, _ in comunas[:3]]
    return [Reply(f"{body}\n{source}", rows(buttons) + _wider(ctx, None, top=False))]


def _wider(
    ctx: Context, shown: statistics.Figures | None, *, top: bool = True
) -> tuple[tuple[Button, ...], ...]:
    """Buttons to the place's region, the whole country and the ranking."""
    t = ctx.t
    buttons: list[Button] = []
    if shown is not None and shown.place.kind == COMUNA and shown.area.kind == COMUNA:
        region = _region_of(ctx, shown.place)
        if region is not None:
            buttons.append(Button(statistics.place_name(t, region), f"{BUTTON}:{region.code}"))
    if shown is None or shown.area.kind != COUNTRY:
        buttons.append(Button(t._("Todo Chile"), f"{BUTTON}:{COUNTRY_CODE}"))
    if top and (shown is None or shown.place.kind != COUNTRY):
        buttons.append(Button(t._("Ranking de comunas"), f"{BUTTON}:top"))
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
    place = (await _gazetteer(ctx)).locate(question)
    if place is None and RANKING_WORDS & set(fold(question).split()):
        return await top(ctx)
    place = place or await _own_place(ctx)
    if place is None:
        return None
    return await answer(ctx, place)


FLOW = Flow(
    name=FLOW_NAME,
    commands={"estadisticas": command},
    aliases={
        "stats": "estadisticas",
        "statistics": "estadisticas",
        "statistiques": "estadisticas",
        "estatistik": "estadisticas",
        "estadistica": "estadisticas",
    },
    buttons={BUTTON: pressed},
    steps={"place": place_step},
    takes_args=frozenset({"estadisticas"}),
)
