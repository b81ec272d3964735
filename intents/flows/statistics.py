"""/estadisticas [comuna or region]: official figures on foreign residents, with a chart; and
the same answer for questions like "¿cuántos migrantes hay en Arica?"."""

from __future__ import annotations

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.figures import PlaceFigures, Ranking, answer, gazetteer, own_place, top, wider
from intents.i18n import N_
from intents.messages import Reply, rows
from intents.router import Flow
from intents.steps import FlowStep
from knowledge.normalize import fold


class Step(FlowStep, flow="statistics"):
    PLACE = "place"  # which comuna or region: typed


TOP_WORDS = frozenset({"top", "ranking", "mas", "plus", "most", "pi"})


async def command(ctx: Context) -> list[Reply]:
    """/estadisticas [place]: the named place, else the user's own comuna, else ask."""
    if ctx.in_flow(Step):
        ctx.end_flow()
    if ctx.args:
        return await _named(ctx, ctx.args)
    own = await own_place(ctx)
    if own is not None:
        return await answer(ctx, own)
    ctx.start_flow(Step.PLACE)
    return [
        Reply(
            ctx.t._(
                "¿De qué comuna o región quieres las cifras? Escribe su nombre (por ejemplo: "
                "Arica, Antofagasta o Biobío), o /cancelar."
            ),
            wider(ctx, None),
        )
    ]


async def place_step(ctx: Context) -> list[Reply]:
    """Step `place`: the user typed the name we asked for."""
    ctx.end_flow()
    return await _named(ctx, ctx.text)


async def ranking_pressed(ctx: Context, press: Ranking) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    return await top(ctx)


async def place_pressed(ctx: Context, press: PlaceFigures) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    place = (await gazetteer(ctx)).by_code(press.code)
    if place is None:
        return [Reply(ctx.t._("Ese botón ya no está disponible."))]
    return await answer(ctx, place)


async def _named(ctx: Context, name: str) -> list[Reply]:
    if fold(name) in TOP_WORDS:
        return await top(ctx)
    found = (await gazetteer(ctx)).search(name)
    if found.found is not None:
        return await answer(ctx, found.found)
    buttons = [PlaceFigures(p.code).button(p.name) for p in found.closest]
    return [
        Reply(
            ctx.t._("No encontré la comuna o región «{name}». ¿Quisiste decir…?").format(
                name=name.strip()[:60]
            ),
            rows(buttons) + wider(ctx, None),
        )
    ]


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "estadisticas",
            command,
            roles=EVERYONE,
            help=Line(N_("/estadisticas COMUNA – cifras oficiales de personas extranjeras"), 50),
            words={
                "es": ("estadistica",),
                "en": ("stats", "statistics"),
                "fr": ("stats", "statistiques"),
                "ht": ("estatistik",),
            },
            takes_argument=True,
            menu=Line(N_("Cifras de personas extranjeras por comuna"), 90),
            next_step=NextStep(N_("Cifras de mi comuna")),
        ),
    ),
    buttons={PlaceFigures: place_pressed, Ranking: ranking_pressed},
    steps={Step.PLACE: place_step},
)
