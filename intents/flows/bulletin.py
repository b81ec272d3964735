"""/boletin: officers and admins compose a bulletin, see its audience and preview, confirm."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from intents.bulletin import create, split
from intents.commands import CommandSpec, Line
from intents.context import Context
from intents.errors import InvalidInput
from intents.i18n import CHILE, LANGUAGE_NAMES, N_
from intents.messages import Reply, rows
from intents.payloads import OneOf, Payload
from intents.roles import ADMIN, OFFICER, require
from intents.router import Flow
from intents.steps import FlowStep
from knowledge.places import find_comuna
from storage import directory, subscriptions
from storage.subscriptions import Audience

MAX_TEXT = 12_000
ALL = "all"
ROLES = {ALL: N_("Todos"), "migrant": N_("Personas migrantes"), "municipal": N_("Municipios")}
AUDIENCE_LANGUAGES = (ALL, *LANGUAGE_NAMES)


class Step(FlowStep, flow="bulletin"):
    TEXT = "text"  # typed
    ROLE = "role"  # buttons
    LANG = "lang"  # buttons
    COMUNA = "comuna"  # a comuna typed, or the button for all of them
    CONFIRM = "confirm"  # the button sends now; a date and time typed schedules


class ForRole(Payload, prefix="bul:role"):
    role: Annotated[str, OneOf(ROLES)]


class InLanguage(Payload, prefix="bul:lang"):
    lang: Annotated[str, OneOf(AUDIENCE_LANGUAGES)]


class AllComunas(Payload, prefix="bul:comuna:all"):
    """Every comuna of the officer's region (of the country, for an admin)."""


class SendNow(Payload, prefix="bul:send:now"):
    """Send the bulletin previewed."""


class Discard(Payload, prefix="bul:cancel:x"):
    """Drop the bulletin. The ":x" carries nothing: it is kept so that keyboards already
    sent keep working."""


async def start(ctx: Context) -> list[Reply]:
    require(ctx, OFFICER)
    ctx.start_flow(Step.TEXT, {})
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
    ctx.next_step(Step.ROLE, {"text": text})
    buttons = [ForRole(key).button(ctx.t._(label)) for key, label in ROLES.items()]
    return [Reply(ctx.t._("¿Para quién es?"), rows(buttons))]


def _data(ctx: Context, step: Step) -> dict[str, str | None] | None:
    """The bulletin being composed, if the user is at the step a button answers (else the
    button is an old one)."""
    require(ctx, OFFICER)
    if not ctx.at(step):
        return None
    return dict(ctx.user.flow_data or {})


def _over(ctx: Context) -> list[Reply]:
    return [Reply(ctx.t._("Ese paso ya terminó. Usa /boletin para empezar otro."))]


async def role_chosen(ctx: Context, press: ForRole) -> list[Reply]:
    data = _data(ctx, Step.ROLE)
    if data is None:
        return _over(ctx)
    t = ctx.t
    data["role"] = None if press.role == ALL else press.role
    ctx.next_step(Step.LANG, data)
    buttons = [InLanguage(ALL).button(t._("Todos los idiomas"))]
    buttons += [InLanguage(code).button(name) for code, name in LANGUAGE_NAMES.items()]
    return [Reply(t._("¿En qué idioma leen los destinatarios?"), rows(buttons, per_row=2))]


async def language_chosen(ctx: Context, press: InLanguage) -> list[Reply]:
    data = _data(ctx, Step.LANG)
    if data is None:
        return _over(ctx)
    t = ctx.t
    data["lang"] = None if press.lang == ALL else press.lang
    ctx.next_step(Step.COMUNA, data)
    scope = t._("Toda mi región") if ctx.user.role != ADMIN else t._("Todo el país")
    return [
        Reply(
            t._("¿Para una comuna en particular? Escribe su nombre, o elige:"),
            rows([AllComunas().button(scope)]),
        )
    ]


async def all_comunas(ctx: Context, press: AllComunas) -> list[Reply]:
    data = _data(ctx, Step.COMUNA)
    if data is None:
        return _over(ctx)
    return await _preview(ctx, data)


async def send_now(ctx: Context, press: SendNow) -> list[Reply]:
    data = _data(ctx, Step.CONFIRM)
    if data is None:
        return _over(ctx)
    return await _send(ctx, data, None)


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
    ctx.next_step(Step.CONFIRM, data)
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
    buttons = [SendNow().button(t._("Enviar ahora")), Discard().button(t._("Cancelar"))]
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


async def discard(ctx: Context, press: Discard) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    return [Reply(ctx.t._("Boletín descartado. No se envió nada."))]


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "boletin",
            start,
            roles={OFFICER},
            help=Line(N_("/boletin – enviar el boletín informativo"), 20),
            words={"en": ("bulletin",), "fr": ("bulletin",), "ht": ("bilten",)},
        ),
    ),
    buttons={
        ForRole: role_chosen,
        InLanguage: language_chosen,
        AllComunas: all_comunas,
        SendNow: send_now,
        Discard: discard,
    },
    steps={
        Step.TEXT: text_step,
        Step.ROLE: waiting,
        Step.LANG: waiting,
        Step.COMUNA: comuna_step,
        Step.CONFIRM: confirm_step,
    },
)
