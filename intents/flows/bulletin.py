"""/boletin: officers and admins compose a bulletin, see its audience and preview, confirm."""

from __future__ import annotations

from datetime import datetime

from intents.bulletin import create, split
from intents.commands import CommandSpec, Line
from intents.context import Context
from intents.errors import InvalidInput
from intents.i18n import CHILE, LANGUAGE_NAMES, N_
from intents.messages import Button, Reply, rows
from intents.roles import ADMIN, OFFICER, require
from intents.router import Flow
from knowledge.places import find_comuna
from storage import directory, subscriptions
from storage.subscriptions import Audience

MAX_TEXT = 12_000
ROLES = {"all": N_("Todos"), "migrant": N_("Personas migrantes"), "municipal": N_("Municipios")}


async def start(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    ctx.start_flow("bulletin", "text", {})
    return [
        Reply(
            ctx.t._("Nuevo boletín. Escribe (o reenvía) el texto que quieres enviar, o /cancelar.")
        )
    ]


async def text_step(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    text = ctx.text
    if not text:
        raise InvalidInput(ctx.t._("Escribe el texto del boletín, o /cancelar."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            ctx.t._("El boletín es demasiado largo (máximo {max} caracteres).").format(
                max=ctx.t.number(MAX_TEXT)
            )
        )
    ctx.next_step("role", {"text": text})
    buttons = [Button(ctx.t._(label), f"bul:role:{key}") for key, label in ROLES.items()]
    return [Reply(ctx.t._("¿Para quién es?"), rows(buttons))]


def _data(ctx: Context, step: str) -> dict[str, str | None] | None:
    if ctx.user.flow != "bulletin" or ctx.user.flow_step != step:
        return None
    return dict(ctx.user.flow_data or {})


async def button(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    action, _, value = ctx.args.partition(":")
    steps = {"role": "role", "lang": "lang", "comuna": "comuna", "send": "confirm"}
    data = _data(ctx, steps.get(action, ""))
    if data is None:
        return [Reply(ctx.t._("Ese paso ya terminó. Usa /boletin para empezar otro."))]
    t = ctx.t
    if action == "role" and value in ROLES:
        data["role"] = None if value == "all" else value
        ctx.next_step("lang", data)
        buttons = [Button(t._("Todos los idiomas"), "bul:lang:all")]
        buttons += [Button(name, f"bul:lang:{code}") for code, name in LANGUAGE_NAMES.items()]
        return [Reply(t._("¿En qué idioma leen los destinatarios?"), rows(buttons, per_row=2))]
    if action == "lang" and (value == "all" or value in LANGUAGE_NAMES):
        data["lang"] = None if value == "all" else value
        ctx.next_step("comuna", data)
        scope = t._("Toda mi región") if ctx.user.role != ADMIN else t._("Todo el país")
        return [
            Reply(
                t._("¿Para una comuna en particular? Escribe su nombre, o elige:"),
                rows([Button(scope, "bul:comuna:all")]),
            )
        ]
    if action == "comuna" and value == "all":
        return await _preview(ctx, data)
    if action == "send" and value in ("now", "yes"):
        return await _send(ctx, data, None)
    return [Reply(t._("Ese botón ya no está disponible."))]


async def comuna_step(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    data = dict(ctx.user.flow_data or {})
    cut = find_comuna(ctx.text, ctx.services.comuna_names)
    comuna = await directory.comuna(ctx.session, cut) if cut else None
    if comuna is None:
        return [Reply(ctx.t._("No encontré esa comuna. Escribe solo su nombre, o usa el botón."))]
    if ctx.user.role != ADMIN and comuna.region_code != ctx.user.region_code:
        return [Reply(ctx.t._("Solo puedes enviar boletines a comunas de tu región."))]
    data["comuna"] = comuna.cut
    return await _preview(ctx, data)


def _audience(ctx: Context, data: dict[str, str | None]) -> Audience:
    # An officer's bulletin never leaves their region, whatever the buttons said.
    region = None if ctx.user.role == ADMIN else ctx.user.region_code
    return Audience(
        role=data.get("role"), region=region, comuna=data.get("comuna"), lang=data.get("lang")
    )


async def _preview(ctx: Context, data: dict[str, str | None]) -> list[Reply]:
    audience = _audience(ctx, data)
    size = await subscriptions.audience_size(ctx.session, audience)
    ctx.next_step("confirm", data)
    t = ctx.t
    parts = split(data.get("text") or "")
    replies = [
        Reply(t._("Vista previa: así lo recibirán (en {n} mensaje/s):").format(n=len(parts)))
    ]
    replies += [Reply(part) for part in parts]
    summary = t.ngettext(
        "Llegará a {n} persona suscrita. ¿Lo envío? Para programarlo, escribe fecha y hora "
        "(AAAA-MM-DD HH:MM, hora de Chile).",
        "Llegará a {n} personas suscritas. ¿Lo envío? Para programarlo, escribe fecha y hora "
        "(AAAA-MM-DD HH:MM, hora de Chile).",
        size,
    ).format(n=t.number(size))
    buttons = [Button(t._("Enviar ahora"), "bul:send:now"), Button(t._("Cancelar"), "bul:cancel:x")]
    replies.append(Reply(summary, rows(buttons, per_row=2)))
    return replies


async def confirm_step(ctx: Context) -> list[Reply]:
    """Step `confirm`: a typed date and time schedules the bulletin."""
    require(ctx, OFFICER)
    data = dict(ctx.user.flow_data or {})
    try:
        local = datetime.strptime(ctx.text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return [Reply(ctx.t._("Escribe fecha y hora así: 2026-12-01 09:30, o usa los botones."))]
    when = local.replace(tzinfo=CHILE)
    if when <= ctx.now:
        return [Reply(ctx.t._("Esa hora ya pasó. Escribe una fecha y hora futura."))]
    return await _send(ctx, data, when)


async def _send(ctx: Context, data: dict[str, str | None], when: datetime | None) -> list[Reply]:
    bulletin = await create(
        ctx.session, data.get("text") or "", _audience(ctx, data), ctx.user.id, ctx.now, when
    )
    ctx.end_flow()
    t = ctx.t
    if when is None:
        text = t._("Boletín #{id} en envío a {n} personas. Te avisaré cuando termine.")
    else:
        text = t._("Boletín #{id} programado para el {date} ({n} personas).")
    return [
        Reply(
            text.format(
                id=bulletin.id,
                n=t.number(bulletin.total),
                date=t.datetime(when) if when else "",
            )
        )
    ]


async def waiting(ctx: Context) -> list[Reply]:
    return [Reply(ctx.t._("Elige una de las opciones con los botones, o escribe /cancelar."))]


async def cancel_button(ctx: Context) -> list[Reply]:
    if ctx.user.flow == "bulletin":
        ctx.end_flow()
    return [Reply(ctx.t._("Boletín descartado. No se envió nada."))]


async def dispatch_button(ctx: Context) -> list[Reply]:
    if ctx.args.startswith("cancel"):
        return await cancel_button(ctx)
    return await button(ctx)


FLOW = Flow(
    name="bulletin",
    commands=(
        CommandSpec(
            "boletin",
            start,
            roles={OFFICER},
            help=Line(N_("/boletin – enviar el boletín informativo"), 20),
            words={"en": ("bulletin",), "fr": ("bulletin",), "ht": ("bilten",)},
        ),
    ),
    buttons={"bul": dispatch_button},
    steps={
        "text": text_step,
        "role": waiting,
        "lang": waiting,
        "comuna": comuna_step,
        "confirm": confirm_step,
    },
)
