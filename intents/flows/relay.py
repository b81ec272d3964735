"""/encargado: the regional officer's contact, and messages relayed both ways by the bot.

While a contact is in relay mode, what they type goes to their officer(s), not to the
knowledge base, until /cancelar, the "Terminar" button or the flow timeout.
"""

from __future__ import annotations

from datetime import timedelta

from intents.commands import CommandSpec, Line, NextStep
from intents.context import Context
from intents.errors import InvalidInput, NotAllowed, NotFound
from intents.i18n import N_, Texts
from intents.masking import mask_identifiers
from intents.messages import Button, Reply, rows
from intents.notify import notify
from intents.payloads import Payload
from intents.roles import ADMIN, MIGRANT, MUNICIPAL, OFFICER, not_allowed, require
from intents.router import CommandButton, Flow
from intents.steps import FlowStep
from storage import attempts, directory, officers, outbox, relays, users
from storage.ids import parse_id
from storage.models import RelayMessage
from storage.outbox import RelayRef

MAX_TEXT = 2000
MAX_PER_HOUR = 20


class Step(FlowStep, flow="relay"):
    OPEN = "open"  # a contact in relay mode: what they type goes to their officer(s)
    ANSWER = "answer"  # an officer's answer to one relayed message, typed next


class RelayOpen(Payload, prefix="relay:open"):
    """A contact enters relay mode."""


class RelayClose(Payload, prefix="relay:close"):
    """A contact leaves relay mode."""


class RelayReply(Payload, prefix="relay:reply"):
    """An officer answers this relayed message (`relay_messages.id`)."""

    message_id: int


def _contact_region(ctx: Context) -> str:
    require(ctx, MUNICIPAL)
    if ctx.user.role != MUNICIPAL or not ctx.user.region_code:
        raise NotAllowed(ctx.t._("Solo los contactos municipales registrados pueden hacer esto."))
    return ctx.user.region_code


async def show(ctx: Context) -> list[Reply]:
    region_code = _contact_region(ctx)
    t = ctx.t
    region = await directory.region(ctx.session, region_code)
    found = await officers.listing(ctx.session, region_code)
    if not found:
        return [
            Reply(
                t._(
                    "Aún no hay encargada/o registrado para la región de {region}. Puedes "
                    "contactar a la Dirección Regional de SERMIG: "
                    "https://serviciomigraciones.cl"
                ).format(region=region.name if region else region_code)
            )
        ]
    lines = [t._("Encargada/o regional de {region}:").format(region=region.name if region else "")]
    for officer in found:
        lines.append(f"• {officer.name}")
        if officer.email:
            lines.append(f"  ✉ {officer.email}")
        if officer.phone:
            lines.append(f"  ☎ {officer.phone}")
    return [Reply("\n".join(lines), rows([RelayOpen().button(t._("Escribirle por aquí"))]))]


async def open_relay(ctx: Context, press: RelayOpen) -> list[Reply]:
    _contact_region(ctx)
    ctx.start_flow(Step.OPEN)
    t = ctx.t
    return [
        Reply(
            t._(
                "Modo mensaje a tu encargada/o regional: lo que escribas ahora se le enviará "
                "tal cual (no respondo preguntas mientras tanto). Para terminar, toca el botón "
                "o escribe /cancelar."
            ),
            rows([RelayClose().button(t._("Terminar"))]),
        )
    ]


async def relay_step(ctx: Context) -> list[Reply]:
    """Step `open`: a contact's text, relayed to the region's officers."""
    region_code = _contact_region(ctx)
    return await _to_officers(ctx, region_code, keep_mode=True)


async def _to_officers(ctx: Context, region_code: str, keep_mode: bool) -> list[Reply]:
    t = ctx.t
    body = _checked_text(ctx)
    hour_ago = ctx.now - timedelta(hours=1)
    if await attempts.count_since(ctx.session, ctx.user.id, "relay", hour_ago) >= MAX_PER_HOUR:
        raise InvalidInput(t._("Enviaste muchos mensajes en la última hora. Intenta más tarde."))
    await attempts.record(ctx.session, ctx.user.id, "relay", ctx.now)
    recipients = await relays.officers_of_region(ctx.session, region_code)
    if not recipients:
        raise InvalidInput(t._("Aún no hay encargada/o registrado en tu región."))
    message = await relays.add(
        ctx.session,
        contact=ctx.user,
        officer=None,
        region_code=region_code,
        direction="to_officer",
        body=body,
        now=ctx.now,
    )
    comuna = await directory.comuna(ctx.session, ctx.user.comuna_cut or "")

    def render(tt: Texts) -> tuple[str, list[Button]]:
        text = tt._("Mensaje del contacto municipal de {comuna}:\n{body}").format(
            comuna=comuna.name if comuna else "?", body=body
        )
        return text, [RelayReply(message.id).button(tt._("Responder"))]

    notify(ctx, recipients, render, ref=RelayRef(message.id))
    if keep_mode:
        ctx.next_step(Step.OPEN)
        return [
            Reply(
                t._("Enviado ✔. Sigues en modo mensaje a tu encargada/o."),
                rows([RelayClose().button(t._("Terminar"))]),
            )
        ]
    return [Reply(t._("Enviado a tu encargada/o regional ✔."))]


def _checked_text(ctx: Context) -> str:
    text = ctx.text
    if not text:
        raise InvalidInput(ctx.t._("Escribe tu mensaje, o /cancelar."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            ctx.t._("El mensaje es demasiado largo (máximo {max} caracteres).").format(
                max=ctx.t.number(MAX_TEXT)
            )
        )
    return mask_identifiers(text)[0]


async def close(ctx: Context, press: RelayClose) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
        return [Reply(ctx.t._("Listo, salimos del modo mensaje. Ahora respondo tus preguntas."))]
    return [Reply(ctx.t._("No estabas en modo mensaje."))]


async def _message_for_officer(ctx: Context, message_id: int | None) -> RelayMessage:
    require(ctx, OFFICER)
    message = await relays.get(ctx.session, message_id) if message_id else None
    if message is None or (ctx.user.role != ADMIN and message.region_code != ctx.user.region_code):
        raise NotFound(ctx.t._("Ese mensaje no es de tu región."))
    return message


async def start_officer_reply(ctx: Context, press: RelayReply) -> list[Reply]:
    message = await _message_for_officer(ctx, press.message_id)
    ctx.start_flow(Step.ANSWER, {"message_id": message.id})
    return [Reply(ctx.t._("Escribe tu respuesta para el contacto municipal (o /cancelar):"))]


async def answer_step(ctx: Context) -> list[Reply]:
    """Step `answer`: an officer's reply, routed back to the contact who wrote."""
    message = await _message_for_officer(
        ctx, parse_id((ctx.user.flow_data or {}).get("message_id"))
    )
    ctx.end_flow()
    return await _to_contact(ctx, message)


async def _to_contact(ctx: Context, message: RelayMessage) -> list[Reply]:
    body = _checked_text(ctx)
    contact = await users.get_by_id(ctx.session, message.contact_id) if message.contact_id else None
    if contact is None:
        return [Reply(ctx.t._("Esa persona ya no está registrada; no se pudo entregar."))]
    answer = await relays.add(
        ctx.session,
        contact=contact,
        officer=ctx.user,
        region_code=message.region_code,
        direction="to_contact",
        body=body,
        now=ctx.now,
    )

    def render(tt: Texts) -> tuple[str, list[Button]]:
        text = tt._("Respuesta de tu encargada/o regional de SERMIG:\n{body}").format(body=body)
        return text, [RelayOpen().button(tt._("Responder"))]

    notify(ctx, [contact], render, ref=RelayRef(answer.id))
    return [Reply(ctx.t._("Respuesta enviada ✔."))]


async def quoted_reply(ctx: Context, ref: RelayRef) -> list[Reply] | None:
    """A reply (Telegram's reply-to) to a relayed message: route it like a button press."""
    if not ctx.text:
        return None
    message = await relays.get(ctx.session, ref.message_id)
    if message is None:
        return None
    if ctx.user.role in (OFFICER, ADMIN) and message.direction == "to_officer":
        message = await _message_for_officer(ctx, ref.message_id)
        return await _to_contact(ctx, message)
    if ctx.user.id == message.contact_id and ctx.user.role == MUNICIPAL:
        return await _to_officers(ctx, _contact_region(ctx), keep_mode=False)
    return None


async def quoted(ctx: Context, channel: str, chat_id: str, message_id: str) -> list[Reply] | None:
    row = await outbox.by_sent_message(ctx.session, channel, chat_id, message_id)
    ref = outbox.parse_ref(row.ref) if row is not None else None
    if not isinstance(ref, RelayRef):
        return None
    return await quoted_reply(ctx, ref)


async def not_a_contact(ctx: Context) -> list[Reply]:
    """/encargado by someone not enrolled: a migrant learns who may write to the regional
    officer and how to enroll (a bare refusal before: a new-user trial, tenth session);
    SERMIG staff get the plain refusal."""
    if ctx.user.role != MIGRANT:
        raise not_allowed(ctx)
    return [
        Reply(
            ctx.t._(
                "Escribir a la encargada o encargado regional de SERMIG es para el contacto "
                "municipal de una comuna. Si eres tú, pide un código de registro a esa persona "
                "(o a la Dirección Regional de SERMIG) y escribe /registro seguido del código "
                "(por ejemplo: /registro ABC123). Si eres una persona migrante, escribe tu "
                "pregunta o acércate a la oficina de migrantes de tu municipalidad."
            ),
            rows([CommandButton("menu").button(ctx.t._("Menú principal"))]),
        )
    ]


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "encargado",
            show,
            roles={MUNICIPAL},
            refused=not_a_contact,
            help=Line(N_("/encargado – contactar a tu encargada/o regional de SERMIG"), 30),
            words={"es": ("encargada",), "en": ("officer",), "ht": ("responsab",)},
            menu=Line(N_("Tu encargada/o regional de SERMIG"), 80),
            next_step=NextStep(N_("Contactar encargado")),
        ),
    ),
    buttons={RelayOpen: open_relay, RelayClose: close, RelayReply: start_officer_reply},
    steps={Step.OPEN: relay_step, Step.ANSWER: answer_step},
)
