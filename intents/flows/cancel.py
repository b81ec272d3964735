"""/cancelar: leave whatever multi-step flow the user is in."""

from __future__ import annotations

from intents.commands import EVERYONE, CommandSpec, Line
from intents.context import Context
from intents.i18n import N_
from intents.messages import Reply
from intents.router import Flow


async def cancel(ctx: Context) -> list[Reply]:
    if ctx.user.flow is None:
        return [Reply(ctx.t._("No hay nada que cancelar. Escribe tu pregunta o usa /menu."))]
    ctx.end_flow()
    return [Reply(ctx.t._("Listo, lo dejamos aquí. Escribe tu pregunta o usa /menu."))]


FLOW = Flow(
    name="cancel",
    commands=(
        CommandSpec(
            "cancelar",
            cancel,
            roles=EVERYONE,
            help=Line(N_("/cancelar – salir de lo que estés haciendo"), 80),
            words={"es": ("salir",), "en": ("cancel",), "fr": ("annuler",), "ht": ("anile",)},
            menu=Line(N_("Salir de lo que estés haciendo"), 150),
        ),
    ),
)
