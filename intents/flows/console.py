"""/panel: a one-time sign-in link to the web console, for officers, admins and contacts."""

from __future__ import annotations

from datetime import timedelta

from intents.commands import CommandSpec, Line
from intents.context import Context
from intents.i18n import N_
from intents.messages import Reply
from intents.roles import MUNICIPAL, OFFICER, require
from intents.router import Flow
from storage import attempts, console

# Links a user may ask for in a window: enough for a few devices, not for a flood.
MAX_LINKS = 5
LINK_WINDOW = timedelta(minutes=15)
LINK_ATTEMPT = "console_link"


def link_url(public_url: str, token: str) -> str:
    """The sign-in page of a token (the token is random, never personal data)."""
    return f"{public_url.rstrip('/')}/console/entrar/{token}"


async def panel(ctx: Context) -> list[Reply]:
    require(ctx, MUNICIPAL, OFFICER)
    t = ctx.t
    if ctx.user.role == MUNICIPAL and not ctx.user.comuna_cut:
        return [Reply(t._("Esta opción no está disponible para tu perfil."))]
    since = ctx.now - LINK_WINDOW
    if await attempts.count_since(ctx.session, ctx.user.id, LINK_ATTEMPT, since) >= MAX_LINKS:
        return [
            Reply(t._("Pediste muchos enlaces seguidos. Espera 15 minutos e inténtalo de nuevo."))
        ]
    await attempts.record(ctx.session, ctx.user.id, LINK_ATTEMPT, ctx.now)
    token = console.issue_link(ctx.session, ctx.user, ctx.now)
    url = link_url(ctx.services.public_url, token)
    text = t._(
        "Tu enlace para entrar a la consola web (un solo uso, válido 15 minutos; "
        "no lo compartas):\n{url}"
    ).format(url=url)
    return [Reply(text)]


FLOW = Flow(
    name="console",
    commands=(
        CommandSpec(
            "panel",
            panel,
            roles={MUNICIPAL, OFFICER},
            help=Line(N_("/panel – enlace para entrar a la consola web"), 10),
            words={"es": ("consola",)},
        ),
    ),
)
