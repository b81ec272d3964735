"""Sello cases, officer side: /casos, take, reply, refer, change status; counts by status."""

from __future__ import annotations

from typing import Annotated

from intents.cases_text import STATUSES, CaseView, history, summary
from intents.commands import CommandSpec, Line
from intents.context import Context
from intents.errors import InvalidInput, NotFound
from intents.i18n import N_, Texts
from intents.masking import mask_identifiers
from intents.messages import Button, Reply, rows
from intents.notify import notify
from intents.payloads import OneOf, Payload
from intents.roles import ADMIN, OFFICER, require
from intents.router import Flow
from intents.steps import FlowStep
from storage import cases, directory, users
from storage.ids import parse_id
from storage.models import Case
from storage.states import CaseStatus

MAX_TEXT = 2000
# Which status an officer may set from which: a closed case stays closed.
ALLOWED = {
    "respondido": {"abierto", "en_revision", "derivado"},
    "cerrado": {"abierto", "en_revision", "respondido", "derivado"},
}


class Step(FlowStep, flow="officer_case"):
    REPLY = "reply"  # the officer's answer to the case, typed next
    REFER = "refer"  # the institution the case goes to, typed next


# The officer's buttons on a case; some are sent to officers by the municipal side
# (intents/flows/cases.py imports them from here).
class OfficerView(Payload, prefix="ofc:view"):
    case_id: int


class OfficerTake(Payload, prefix="ofc:take"):
    case_id: int


class OfficerReply(Payload, prefix="ofc:reply"):
    case_id: int


class OfficerRefer(Payload, prefix="ofc:refer"):
    case_id: int


class OfficerStatus(Payload, prefix="ofc:st"):
    """A status an officer may set ("ofc:st:12:cerrado")."""

    case_id: int
    status: Annotated[CaseStatus, OneOf(ALLOWED)]


OfficerPress = OfficerView | OfficerTake | OfficerReply | OfficerRefer | OfficerStatus


def _region(ctx: Context) -> str | None:
    """The officer's region (None for admins: every region)."""
    require(ctx, OFFICER)
    return None if ctx.user.role == ADMIN else ctx.user.region_code


async def list_cases(ctx: Context) -> list[Reply]:
    region = _region(ctx)
    t = ctx.t
    counts = await cases.counts_by_status(ctx.session, region)
    found = await cases.open_for_region(ctx.session, region)
    total = " · ".join(f"{t._(label)}: {counts.get(key, 0)}" for key, label in STATUSES.items())
    if not found:
        return [Reply(t._("No hay casos pendientes en tu región.") + "\n" + total)]
    buttons = []
    for case in found:
        comuna = await directory.comuna(ctx.session, case.comuna_cut)
        buttons.append(OfficerView(case.id).button(summary(t, case, comuna)[:60]))
    text = t._("Casos sin cerrar de tu región (urgentes y más antiguos primero):") + "\n" + total
    return [Reply(text, rows(buttons))]


async def case_in_scope(ctx: Context, case_id: int | None) -> Case:
    """The case with this id if the user's role and region may see it, else NotFound
    (the chat buttons and the web console share this check)."""
    region = _region(ctx)
    case = await cases.get(ctx.session, case_id) if case_id else None
    if case is None or (region is not None and case.region_code != region):
        raise _out_of_scope(ctx)
    return case


def _out_of_scope(ctx: Context) -> NotFound:
    return NotFound(ctx.t._("No encuentro ese caso entre los de tu región."))


def _actions(t: Texts, case: Case) -> list[Button]:
    if case.status == "cerrado":
        return []
    buttons = []
    if case.status == "abierto":
        buttons.append(OfficerTake(case.id).button(t._("Tomar")))
    buttons += [
        OfficerReply(case.id).button(t._("Responder")),
        OfficerRefer(case.id).button(t._("Derivar")),
    ]
    if case.status != "respondido":
        buttons.append(OfficerStatus(case.id, CaseStatus.ANSWERED).button(t._("Marcar respondido")))
    buttons.append(OfficerStatus(case.id, CaseStatus.CLOSED).button(t._("Cerrar")))
    return buttons


async def view(ctx: Context, case_id: int) -> list[Reply]:
    case = await case_in_scope(ctx, case_id)
    events = await cases.events(ctx.session, case.id)
    comuna = await directory.comuna(ctx.session, case.comuna_cut)
    return [Reply(history(ctx.t, case, events, comuna), rows(_actions(ctx.t, case), per_row=2))]


def _closed(ctx: Context, case: Case) -> list[Reply]:
    return [Reply(ctx.t._("El caso {number} ya está cerrado.").format(number=case.number))]


async def _tell_contact(ctx: Context, case: Case, message: str) -> None:
    """Notify the contact who opened the case, in their language, on their channel."""
    if case.opened_by is None:
        return
    contact = await users.get_by_id(ctx.session, case.opened_by)
    if contact is None:
        return

    def render(t: Texts) -> tuple[str, list[Button]]:
        return t._(message).format(number=case.number), [
            CaseView(case.id).button(t._("Ver el caso"))
        ]

    notify(ctx, [contact], render)


async def take(ctx: Context, case_id: int) -> list[Reply]:
    case = await case_in_scope(ctx, case_id)
    if case.status == "cerrado":
        return _closed(ctx, case)
    if case.status != "abierto":
        return [Reply(ctx.t._("El caso {number} ya fue tomado.").format(number=case.number))]
    case.assigned_to = ctx.user.id
    cases.change_status(ctx.session, case, "en_revision", ctx.user, ctx.now, kind="taken")
    await _tell_contact(ctx, case, _msg_taken)
    return [
        Reply(
            ctx.t._("Tomaste el caso {number}.").format(number=case.number),
            rows(_actions(ctx.t, case), per_row=2),
        )
    ]


# Translated at send time, in the recipient's language.
_msg_taken = N_("SERMIG está revisando tu caso {number}.")
_msg_referred = N_("Tu caso {number} fue derivado a otra institución.")
_msg_closed = N_("Tu caso {number} fue cerrado.")
_msg_respondido = N_("Tu caso {number} fue marcado como respondido.")


async def start_reply(ctx: Context, case_id: int, step: Step) -> list[Reply]:
    case = await case_in_scope(ctx, case_id)
    if case.status == "cerrado":
        return _closed(ctx, case)
    ctx.start_flow(step, {"case_id": case.id})
    if step == Step.REFER:
        prompt = ctx.t._("¿A qué institución derivas el caso {number}? (o /cancelar)")
    else:
        prompt = ctx.t._("Escribe tu respuesta para el caso {number} (o /cancelar):")
    return [Reply(prompt.format(number=case.number))]


def clean_text(ctx: Context, text: str) -> str:
    """A reply or institution as written: not empty, not too long, identifiers masked."""
    text = text.strip()
    if not text:
        raise InvalidInput(ctx.t._("Escribe el texto, o /cancelar."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            ctx.t._("El mensaje es demasiado largo (máximo {max} caracteres).").format(
                max=ctx.t.number(MAX_TEXT)
            )
        )
    return mask_identifiers(text)[0]


async def _text_step(ctx: Context) -> tuple[Case, str]:
    case = await case_in_scope(ctx, parse_id((ctx.user.flow_data or {}).get("case_id", "")))
    text = clean_text(ctx, ctx.text)
    ctx.end_flow()
    return case, text


async def reply_step(ctx: Context) -> list[Reply]:
    case, body = await _text_step(ctx)
    return await reply_to(ctx, case, body)


async def reply_to(ctx: Context, case: Case, body: str) -> list[Reply]:
    """Answer the case: a message event, status respondido, the contact notified."""
    if case.status == "cerrado":
        return _closed(ctx, case)
    cases.add_event(ctx.session, case, "message", ctx.user, ctx.now, body=body)
    if case.assigned_to is None:
        case.assigned_to = ctx.user.id
    if case.status in ("abierto", "en_revision"):
        cases.change_status(ctx.session, case, "respondido", ctx.user, ctx.now)
    contact = await users.get_by_id(ctx.session, case.opened_by) if case.opened_by else None

    def render(t: Texts) -> tuple[str, list[Button]]:
        text = t._("Respuesta de SERMIG en el caso {number}:\n{body}").format(
            number=case.number, body=body
        )
        return text, [CaseView(case.id).button(t._("Ver el caso"))]

    notify(ctx, [contact] if contact else [], render)
    return [Reply(ctx.t._("Respuesta enviada en el caso {number}.").format(number=case.number))]


async def refer_step(ctx: Context) -> list[Reply]:
    case, institution = await _text_step(ctx)
    return await refer(ctx, case, institution)


async def refer(ctx: Context, case: Case, institution: str) -> list[Reply]:
    """Refer the case to another institution; the contact is told."""
    if case.status == "cerrado":
        return _closed(ctx, case)
    institution = institution[:200]
    previous = case.status
    case.status = "derivado"
    case.referred_to = institution
    cases.add_event(
        ctx.session,
        case,
        "referred",
        ctx.user,
        ctx.now,
        body=institution,
        status_from=previous,
        status_to="derivado",
    )
    await _tell_contact(ctx, case, _msg_referred)
    return [
        Reply(
            ctx.t._("Caso {number} derivado a {institution}.").format(
                number=case.number, institution=institution
            )
        )
    ]


async def set_status(ctx: Context, case_id: int, status: str) -> list[Reply]:
    case = await case_in_scope(ctx, case_id)
    if case.status == "cerrado":
        return _closed(ctx, case)
    if status not in ALLOWED or case.status not in ALLOWED[status]:
        return [Reply(ctx.t._("Ese cambio de estado no es posible ahora."))]
    cases.change_status(ctx.session, case, status, ctx.user, ctx.now)
    await _tell_contact(ctx, case, _msg_closed if status == "cerrado" else _msg_respondido)
    return [
        Reply(
            ctx.t._("Caso {number}: estado → {status}.").format(
                number=case.number, status=ctx.t._(STATUSES[status])
            )
        )
    ]


async def pressed(ctx: Context, press: OfficerPress) -> list[Reply]:
    match press:
        case OfficerView(case_id):
            return await view(ctx, case_id)
        case OfficerTake(case_id):
            return await take(ctx, case_id)
        case OfficerReply(case_id):
            return await start_reply(ctx, case_id, Step.REPLY)
        case OfficerRefer(case_id):
            return await start_reply(ctx, case_id, Step.REFER)
        case OfficerStatus(case_id, status):
            return await set_status(ctx, case_id, status)


async def malformed(ctx: Context) -> list[Reply]:
    """A case button that does not parse ("ofc:take:abc"): the role is checked, then the
    answer is that of a case out of scope, whatever the id looked like."""
    _region(ctx)
    raise _out_of_scope(ctx)


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "casos",
            list_cases,
            roles={OFFICER},
            help=Line(N_("/casos – casos abiertos de tu región"), 10),
            words={"en": ("cases",)},
        ),
    ),
    buttons={
        cls: pressed
        for cls in (OfficerView, OfficerTake, OfficerReply, OfficerRefer, OfficerStatus)
    },
    unknown_button=malformed,
    steps={Step.REPLY: reply_step, Step.REFER: refer_step},
)
