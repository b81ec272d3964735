"""Sello cases, officer side: /casos, take, reply, refer, change status; counts by status."""

from __future__ import annotations

from intents.cases_text import STATUSES, history, summary
from intents.commands import CommandSpec, Line
from intents.context import Context
from intents.errors import InvalidInput, NotFound
from intents.i18n import N_, Texts
from intents.masking import mask_identifiers
from intents.messages import Button, Reply, rows
from intents.notify import notify
from intents.roles import ADMIN, OFFICER, require
from intents.router import Flow, parse_id
from storage import cases, directory, users
from storage.models import Case

MAX_TEXT = 2000
# Which status an officer may set from which: a closed case stays closed.
ALLOWED = {
    "respondido": {"abierto", "en_revision", "derivado"},
    "cerrado": {"abierto", "en_revision", "respondido", "derivado"},
}


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
        buttons.append(Button(summary(t, case, comuna)[:60], f"ofc:view:{case.id}"))
    text = t._("Casos sin cerrar de tu región (urgentes y más antiguos primero):") + "\n" + total
    return [Reply(text, rows(buttons))]


async def case_in_scope(ctx: Context, raw_id: str) -> Case:
    """The case with this id if the user's role and region may see it, else NotFound
    (the chat buttons and the web console share this check)."""
    region = _region(ctx)
    case_id = parse_id(raw_id)
    case = await cases.get(ctx.session, case_id) if case_id else None
    if case is None or (region is not None and case.region_code != region):
        raise NotFound(ctx.t._("No encuentro ese caso entre los de tu región."))
    return case


def _actions(t: Texts, case: Case) -> list[Button]:
    if case.status == "cerrado":
        return []
    buttons = []
    if case.status == "abierto":
        buttons.append(Button(t._("Tomar"), f"ofc:take:{case.id}"))
    buttons += [
        Button(t._("Responder"), f"ofc:reply:{case.id}"),
        Button(t._("Derivar"), f"ofc:refer:{case.id}"),
    ]
    if case.status != "respondido":
        buttons.append(Button(t._("Marcar respondido"), f"ofc:st:{case.id}:respondido"))
    buttons.append(Button(t._("Cerrar"), f"ofc:st:{case.id}:cerrado"))
    return buttons


async def view(ctx: Context, raw_id: str) -> list[Reply]:
    case = await case_in_scope(ctx, raw_id)
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
            Button(t._("Ver el caso"), f"case:view:{case.id}")
        ]

    notify(ctx, [contact], render)


async def take(ctx: Context, raw_id: str) -> list[Reply]:
    case = await case_in_scope(ctx, raw_id)
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


async def start_reply(ctx: Context, raw_id: str, kind: str) -> list[Reply]:
    case = await case_in_scope(ctx, raw_id)
    if case.status == "cerrado":
        return _closed(ctx, case)
    ctx.start_flow("officer_case", kind, {"case_id": case.id})
    if kind == "refer":
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
    case = await case_in_scope(ctx, str((ctx.user.flow_data or {}).get("case_id", "")))
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
        return text, [Button(t._("Ver el caso"), f"case:view:{case.id}")]

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


async def set_status(ctx: Context, raw_id: str, status: str) -> list[Reply]:
    case = await case_in_scope(ctx, raw_id)
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


async def button(ctx: Context) -> list[Reply]:
    action, _, rest = ctx.args.partition(":")
    raw_id, _, extra = rest.partition(":")
    if action == "view":
        return await view(ctx, raw_id)
    if action == "take":
        return await take(ctx, raw_id)
    if action in ("reply", "refer"):
        return await start_reply(ctx, raw_id, action)
    if action == "st":
        return await set_status(ctx, raw_id, extra)
    if action == "list":
        return await list_cases(ctx)
    return [Reply(ctx.t._("Ese botón ya no está disponible."))]


FLOW = Flow(
    name="officer_case",
    commands=(
        CommandSpec(
            "casos",
            list_cases,
            roles={OFFICER},
            help=Line(N_("/casos – casos abiertos de tu región"), 10),
            words={"en": ("cases",)},
        ),
    ),
    buttons={"ofc": button},
    steps={"reply": reply_step, "refer": refer_step},
)
