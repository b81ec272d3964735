"""/suscribir and /baja: opt in to the bulletin (a migrant may pick a comuna) and leave it."""

from __future__ import annotations

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.i18n import N_
from intents.messages import Reply, rows
from intents.payloads import Payload
from intents.roles import MIGRANT
from intents.router import Flow
from intents.steps import FlowStep
from knowledge.places import find_comuna
from storage import directory, subscriptions

# One line of the help for both commands.
BULLETIN_HELP = Line(N_("/suscribir y /baja – boletín informativo"), 40)


class Step(FlowStep, flow="subscription"):
    COMUNA = "comuna"  # the comuna's name, typed


class ChooseComuna(Payload, prefix="sub:comuna"):
    """A migrant picks the comuna of their bulletin."""


async def subscribe(ctx: Context) -> list[Reply]:
    user = ctx.user
    t = ctx.t
    found = await subscriptions.get(ctx.session, user.id)
    await subscriptions.subscribe(ctx.session, user, ctx.now)
    already = found is not None and found.active
    text = (
        t._("Ya estabas suscrita/o al boletín informativo.")
        if already
        else t._(
            "Listo: recibirás el boletín informativo de SERMIG. Para dejar de recibirlo, /baja."
        )
    )
    if user.role == MIGRANT:
        comuna = None
        if found is not None and found.comuna_cut:
            comuna = await directory.comuna(ctx.session, found.comuna_cut)
        if comuna is not None:
            text += "\n" + t._("Comuna: {comuna}.").format(comuna=comuna.name)
        buttons = [ChooseComuna().button(t._("Elegir mi comuna"))]
        return [Reply(text, rows(buttons))]
    return [Reply(text)]


async def unsubscribe(ctx: Context) -> list[Reply]:
    if await subscriptions.unsubscribe(ctx.session, ctx.user.id, ctx.now):
        return [Reply(ctx.t._("Listo, ya no recibirás el boletín. Puedes volver con /suscribir."))]
    return [Reply(ctx.t._("No estabas suscrita/o al boletín. Para suscribirte: /suscribir."))]


async def choose_comuna(ctx: Context, press: ChooseComuna) -> list[Reply]:
    ctx.start_flow(Step.COMUNA)
    return [Reply(ctx.t._("¿En qué comuna vives? Escribe su nombre (o /cancelar)."))]


async def comuna_step(ctx: Context) -> list[Reply]:
    cut = find_comuna(ctx.text, ctx.services.comuna_names)
    if cut is None:
        return [
            Reply(
                ctx.t._("No encontré esa comuna. Escribe solo su nombre, por ejemplo: Quilicura.")
            )
        ]
    comuna = await directory.known_comuna(ctx.session, cut)
    await subscriptions.subscribe(ctx.session, ctx.user, ctx.now, comuna.cut, comuna.region_code)
    ctx.end_flow()
    return [Reply(ctx.t._("Listo: recibirás el boletín para {comuna}.").format(comuna=comuna.name))]


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "suscribir",
            subscribe,
            roles=EVERYONE,
            help=BULLETIN_HELP,
            words={"en": ("subscribe",), "fr": ("abonnement",), "ht": ("abone",)},
            menu=Line(N_("Recibir el boletín"), 100),
            next_step=NextStep(N_("Recibir el boletín")),
        ),
        CommandSpec(
            "baja",
            unsubscribe,
            roles=EVERYONE,
            help=BULLETIN_HELP,
            words={"es": ("parar", "desuscribir"), "en": ("unsubscribe", "stop")},
            menu=Line(N_("Dejar de recibir el boletín"), 110),
            next_step=NextStep(N_("Dejar el boletín")),
        ),
    ),
    buttons={ChooseComuna: choose_comuna},
    steps={Step.COMUNA: comuna_step},
)
