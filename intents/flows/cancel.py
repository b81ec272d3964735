"""/cancelar: leave whatever multi-step flow the user is in."""

from __future__ import annotations

from intents.context import Context
from intents.messages import Reply
from intents.router import Flow


async def cancel(ctx: Context) -> list[Reply]:
    if ctx.user.flow is None:
        return [Reply(ctx.t._("No hay nada que cancelar. Escribe tu pregunta o usa /menu."))]
    ctx.end_flow()
    return [Reply(ctx.t._("Listo, lo dejamos aquí. Escribe tu pregunta o usa /menu."))]


FLOW = Flow(
    name="cancel",
    commands={"cancelar": cancel},
    aliases={"cancel": "cancelar", "annuler": "cancelar", "anile": "cancelar", "salir": "cancelar"},
)
