"""Sello cases, municipal side: /caso (guided, cancellable), /miscasos, adding a message."""

from __future__ import annotations

from typing import Annotated, Any

from intents.cases_text import CATEGORIES, URGENCIES, CaseView, history, summary
from intents.commands import CommandSpec, Line, NextStep
from intents.context import Context
from intents.errors import InvalidInput, NotAllowed, NotFound
from intents.flows import officer_cases
from intents.flows.officer_cases import OfficerReply, OfficerTake, OfficerView
from intents.i18n import N_, Texts
from intents.masking import mask_identifiers
from intents.messages import Button, Reply, rows
from intents.notify import notify
from intents.payloads import OneOf, Payload
from intents.roles import ADMIN, MIGRANT, MUNICIPAL, OFFICER, not_allowed, require
from intents.router import CommandButton, Flow
from intents.steps import FlowStep
from storage import cases, directory, relays
from storage.ids import parse_id
from storage.models import Case

MAX_DESCRIPTION = 2000


class Step(FlowStep, flow="case"):
    CATEGORY = "category"  # a new case: which category (buttons)
    DESCRIPTION = "description"  # typed
    URGENCY = "urgency"  # buttons
    CONFIRM = "confirm"  # buttons
    MESSAGE = "message"  # a message on an existing case, typed


class CaseCategory(Payload, prefix="case:cat"):
    category: Annotated[str, OneOf(CATEGORIES)]


class CaseUrgency(Payload, prefix="case:urg"):
    urgency: Annotated[str, OneOf(URGENCIES)]


class CaseConfirm(Payload, prefix="case:ok:yes"):
    """Open the case drafted."""


class CaseCancel(Payload, prefix="case:cancel"):
    """Drop the case drafted."""


class CaseMessage(Payload, prefix="case:msg"):
    """Add a message to an existing case."""

    case_id: int


class CaseList(Payload, prefix="case:list"):
    """The comuna's cases."""


def _municipal(ctx: Context) -> str:
    """The contact's comuna; raises NotAllowed for anyone else."""
    require(ctx, MUNICIPAL)
    if ctx.user.role != MUNICIPAL or not ctx.user.comuna_cut:
        raise NotAllowed(ctx.t._("Solo los contactos municipales registrados pueden hacer esto."))
    return ctx.user.comuna_cut


async def new_case(ctx: Context) -> list[Reply]:
    if ctx.user.role == MIGRANT:
        return [_who_may_open_cases(ctx)]
    _municipal(ctx)
    ctx.start_flow(Step.CATEGORY)
    return [_category_question(ctx)]


def _who_may_open_cases(ctx: Context) -> Reply:
    """Someone not enrolled learns who opens cases and how to become that person, instead of
    a bare refusal (most who try are municipal staff who have not enrolled yet)."""
    return Reply(
        ctx.t._(
            "Los casos Sello los abre el contacto municipal de una comuna: la persona a cargo "
            "de migración en la municipalidad. Si eres tú, pide un código de registro a la "
            "encargada o encargado regional de SERMIG y escribe /registro seguido del código "
            "(por ejemplo: /registro ABC123). Si eres una persona migrante, escribe tu "
            "pregunta o acércate a la oficina de migrantes de tu municipalidad."
        ),
        rows([CommandButton("menu").button(ctx.t._("Menú principal"))]),
    )


async def not_a_contact(ctx: Context) -> list[Reply]:
    """/caso by someone who is not a municipal contact: a migrant learns who opens cases;
    SERMIG staff get the plain refusal."""
    if ctx.user.role != MIGRANT:
        raise not_allowed(ctx)
    return [_who_may_open_cases(ctx)]


def _category_question(ctx: Context) -> Reply:
    buttons = [CaseCategory(key).button(ctx.t._(label)) for key, label in CATEGORIES.items()]
    buttons.append(CaseCancel().button(ctx.t._("Cancelar")))
    return Reply(
        ctx.t._("Nuevo caso Sello (1/4). ¿De qué se trata? Elige una categoría:"),
        rows(buttons, per_row=2),
    )


async def description_step(ctx: Context) -> list[Reply]:
    text = ctx.text
    if not text:
        raise InvalidInput(ctx.t._("Escribe la descripción del caso, o /cancelar."))
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            ctx.t._(
                "La descripción tiene {n} caracteres; el máximo es {max}. Resúmela, por favor."
            ).format(n=ctx.t.number(len(text)), max=ctx.t.number(MAX_DESCRIPTION))
        )
    masked, hidden = mask_identifiers(text)
    data = dict(ctx.user.flow_data or {})
    data["description"] = masked
    ctx.next_step(Step.URGENCY, data)
    replies = []
    if hidden:
        replies.append(
            Reply(
                ctx.t.ngettext(
                    "Oculté {n} número de identidad: no envíes RUN, RUT ni pasaportes por aquí.",
                    "Oculté {n} números de identidad: no envíes RUN, RUT ni pasaportes por aquí.",
                    hidden,
                ).format(n=hidden)
            )
        )
    buttons = [CaseUrgency(key).button(ctx.t._(label)) for key, label in URGENCIES.items()]
    replies.append(Reply(ctx.t._("Nuevo caso (3/4). ¿Es urgente?"), rows(buttons, per_row=2)))
    return replies


async def cancelled(ctx: Context, press: CaseCancel) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    return [Reply(ctx.t._("Caso descartado. No se guardó nada."))]


def _draft(ctx: Context, step: Step) -> dict[str, Any] | None:
    """The case being drafted, if the user is at the step a button answers (else the
    button is an old one)."""
    _municipal(ctx)
    if not ctx.at(step):
        return None
    return dict(ctx.user.flow_data or {})


def _step_over(ctx: Context) -> list[Reply]:
    return [Reply(ctx.t._("Ese paso ya terminó. Usa /caso para abrir un caso nuevo."))]


async def category_chosen(ctx: Context, press: CaseCategory) -> list[Reply]:
    data = _draft(ctx, Step.CATEGORY)
    if data is None:
        return _step_over(ctx)
    data["category"] = press.category
    ctx.next_step(Step.DESCRIPTION, data)
    return [
        Reply(
            ctx.t._(
                "Nuevo caso (2/4). Describe la situación (máximo 2000 caracteres). No "
                "incluyas RUN, RUT, pasaportes ni nombres completos: no son necesarios."
            )
        )
    ]


async def urgency_chosen(ctx: Context, press: CaseUrgency) -> list[Reply]:
    data = _draft(ctx, Step.URGENCY)
    if data is None:
        return _step_over(ctx)
    data["urgency"] = press.urgency
    ctx.next_step(Step.CONFIRM, data)
    t = ctx.t
    preview = t._(
        "Nuevo caso (4/4). Revisa y confirma:\nCategoría: {category}\nUrgencia: {urgency}\n"
        "Descripción: {description}"
    ).format(
        category=t._(CATEGORIES[data["category"]]),
        urgency=t._(URGENCIES[press.urgency]),
        description=data["description"],
    )
    buttons = [
        CaseConfirm().button(t._("Abrir el caso")),
        CaseCancel().button(t._("Cancelar")),
    ]
    return [Reply(preview, rows(buttons, per_row=2))]


async def confirmed(ctx: Context, press: CaseConfirm) -> list[Reply]:
    data = _draft(ctx, Step.CONFIRM)
    if data is None:
        return _step_over(ctx)
    return await _confirm(ctx, data)


async def stale(ctx: Context) -> list[Reply]:
    """A case button this version does not know (a category since removed, a forged one):
    while a case is drafted, its question again."""
    if ctx.at(Step.CATEGORY):
        return [_category_question(ctx)]
    if ctx.at(Step.URGENCY):
        return [Reply(ctx.t._("Elige normal o urgente."))]
    return [Reply(ctx.t._("Ese botón ya no está disponible."))]


async def _confirm(ctx: Context, data: dict[str, str]) -> list[Reply]:
    comuna_cut = _municipal(ctx)
    comuna = await directory.comuna(ctx.session, comuna_cut)
    assert comuna is not None
    case = await cases.open_case(
        ctx.session,
        comuna_cut=comuna.cut,
        region_code=comuna.region_code,
        category=data["category"],
        description=data["description"],
        urgency=data["urgency"],
        opened_by=ctx.user,
        now=ctx.now,
    )
    ctx.end_flow()
    officers = await relays.officers_of_region(ctx.session, comuna.region_code)

    def render(t: Texts) -> tuple[str, list[Button]]:
        text = t._("Nuevo caso Sello de {comuna}:\n{summary}\n\n{description}").format(
            comuna=comuna.name, summary=summary(t, case), description=case.description
        )
        return text, [
            OfficerTake(case.id).button(t._("Tomar el caso")),
            OfficerView(case.id).button(t._("Ver el caso")),
        ]

    notified = notify(ctx, officers, render)
    t = ctx.t
    text = t._("Caso {number} abierto. Te avisaré aquí cuando SERMIG lo revise o responda.").format(
        number=case.number
    )
    if not notified:
        text += "\n" + t._(
            "Aún no hay encargada/o registrado en tu región: el caso quedó guardado y lo verán "
            "en cuanto se registre."
        )
    return [Reply(text, rows([CaseList().button(t._("Ver mis casos"))]))]


async def my_cases(ctx: Context) -> list[Reply]:
    comuna_cut = _municipal(ctx)
    found = await cases.for_comuna(ctx.session, comuna_cut)
    t = ctx.t
    if not found:
        return [Reply(t._("Tu comuna aún no tiene casos. Usa /caso para abrir uno."))]
    buttons = [CaseView(c.id).button(summary(t, c)[:60]) for c in found]
    return [Reply(t._("Casos de tu comuna (los más recientes primero):"), rows(buttons))]


async def own_case(ctx: Context, case_id: int | None) -> Case:
    """The case, if it belongs to the contact's comuna (never reveal others' cases)."""
    comuna_cut = _municipal(ctx)
    case = await cases.get(ctx.session, case_id) if case_id else None
    if case is None or case.comuna_cut != comuna_cut:
        raise NotFound(ctx.t._("No encuentro ese caso entre los de tu comuna."))
    return case


async def viewed(ctx: Context, press: CaseView) -> list[Reply]:
    return await view(ctx, press.case_id)


async def view(ctx: Context, case_id: int) -> list[Reply]:
    if ctx.user.role in (OFFICER, ADMIN):
        return await officer_cases.view(ctx, case_id)
    case = await own_case(ctx, case_id)
    events = await cases.events(ctx.session, case.id)
    comuna = await directory.comuna(ctx.session, case.comuna_cut)
    buttons = []
    if case.status != "cerrado":
        buttons.append(CaseMessage(case.id).button(ctx.t._("Agregar un mensaje")))
    return [Reply(history(ctx.t, case, events, comuna), rows(buttons))]


async def start_message(ctx: Context, press: CaseMessage) -> list[Reply]:
    case = await own_case(ctx, press.case_id)
    if case.status == "cerrado":
        return [Reply(ctx.t._("El caso {number} está cerrado.").format(number=case.number))]
    ctx.start_flow(Step.MESSAGE, {"case_id": case.id})
    return [
        Reply(
            ctx.t._("Escribe tu mensaje para el caso {number} (o /cancelar):").format(
                number=case.number
            )
        )
    ]


async def message_step(ctx: Context) -> list[Reply]:
    data = ctx.user.flow_data or {}
    case = await own_case(ctx, parse_id(data.get("case_id", "")))
    replies = await add_message(ctx, case, ctx.text)
    ctx.end_flow()
    return replies


async def add_message(ctx: Context, case: Case, text: str) -> list[Reply]:
    """A contact's message on their case (chat or web console): masked, stored as an event,
    and sent to the assigned officer, or to the region's officers."""
    text = text.strip()
    if not text:
        raise InvalidInput(ctx.t._("Escribe tu mensaje, o /cancelar."))
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            ctx.t._("El mensaje es demasiado largo (máximo {max} caracteres).").format(
                max=ctx.t.number(MAX_DESCRIPTION)
            )
        )
    if case.status == "cerrado":
        return [Reply(ctx.t._("El caso {number} está cerrado.").format(number=case.number))]
    body, hidden = mask_identifiers(text)
    cases.add_event(ctx.session, case, "message", ctx.user, ctx.now, body=body)
    if case.assigned_to:
        from storage import users

        assigned = await users.get_by_id(ctx.session, case.assigned_to)
        recipients = [assigned] if assigned else []
    else:
        recipients = list(await relays.officers_of_region(ctx.session, case.region_code))

    def render(t: Texts) -> tuple[str, list[Button]]:
        text = t._("Nuevo mensaje de la municipalidad en el caso {number}:\n{body}").format(
            number=case.number, body=body
        )
        return text, [
            OfficerReply(case.id).button(t._("Responder")),
            OfficerView(case.id).button(t._("Ver el caso")),
        ]

    notify(ctx, recipients, render)
    reply = ctx.t._("Mensaje agregado al caso {number}.").format(number=case.number)
    if hidden:
        reply += " " + ctx.t._("Oculté números de identidad que no deben enviarse por aquí.")
    return [Reply(reply)]


async def waiting_for_button(ctx: Context) -> list[Reply]:
    """A text where a choice is expected: ask again, keep the case being drafted."""
    if ctx.at(Step.CATEGORY):
        return [_category_question(ctx)]
    return [Reply(ctx.t._("Elige una de las opciones con los botones, o escribe /cancelar."))]


async def listed(ctx: Context, press: CaseList) -> list[Reply]:
    return await my_cases(ctx)


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "caso",
            new_case,
            roles={MUNICIPAL},
            refused=not_a_contact,
            help=Line(N_("/caso – abrir un caso Sello"), 10),
            words={"en": ("case",), "ht": ("kaz",)},
            menu=Line(N_("Abrir un caso Sello (municipios)"), 60),
            next_step=NextStep(N_("Abrir un caso Sello")),
        ),
        CommandSpec(
            "miscasos",
            my_cases,
            roles={MUNICIPAL},
            refused=not_a_contact,  # a bare refusal before (a new-user trial, tenth session)
            help=Line(N_("/miscasos – ver los casos de tu comuna"), 20),
            words={"en": ("mycases",)},
            menu=Line(N_("Casos de tu comuna"), 70),
            next_step=NextStep(N_("Ver mis casos")),
        ),
    ),
    buttons={
        CaseCategory: category_chosen,
        CaseUrgency: urgency_chosen,
        CaseConfirm: confirmed,
        CaseCancel: cancelled,
        CaseView: viewed,
        CaseMessage: start_message,
        CaseList: listed,
    },
    unknown_button=stale,
    steps={
        Step.CATEGORY: waiting_for_button,
        Step.DESCRIPTION: description_step,
        Step.URGENCY: waiting_for_button,
        Step.CONFIRM: waiting_for_button,
        Step.MESSAGE: message_step,
    },
)
