"""Sello cases, municipal side: /caso (guided, cancellable), /miscasos, adding a message."""

from __future__ import annotations

from intents.cases_text import CATEGORIES, URGENCIES, history, summary
from intents.commands import CommandSpec, Line, NextStep
from intents.context import Context
from intents.errors import InvalidInput, NotAllowed, NotFound
from intents.i18n import N_, Texts
from intents.masking import mask_identifiers
from intents.messages import Button, Reply, rows
from intents.notify import notify
from intents.roles import ADMIN, MIGRANT, MUNICIPAL, OFFICER, not_allowed, require
from intents.router import Flow, parse_id
from storage import cases, directory, relays
from storage.models import Case

MAX_DESCRIPTION = 2000


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
    ctx.start_flow("case", "category")
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
        rows([Button(ctx.t._("Menú principal"), "cmd:menu")]),
    )


async def not_a_contact(ctx: Context) -> list[Reply]:
    """/caso by someone who is not a municipal contact: a migrant learns who opens cases;
    SERMIG staff get the plain refusal."""
    if ctx.user.role != MIGRANT:
        raise not_allowed(ctx)
    return [_who_may_open_cases(ctx)]


def _category_question(ctx: Context) -> Reply:
    buttons = [Button(ctx.t._(label), f"case:cat:{key}") for key, label in CATEGORIES.items()]
    buttons.append(Button(ctx.t._("Cancelar"), "case:cancel"))
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
    ctx.next_step("urgency", data)
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
    buttons = [Button(ctx.t._(label), f"case:urg:{key}") for key, label in URGENCIES.items()]
    replies.append(Reply(ctx.t._("Nuevo caso (3/4). ¿Es urgente?"), rows(buttons, per_row=2)))
    return replies


async def button(ctx: Context) -> list[Reply]:
    action, _, value = ctx.args.partition(":")
    if action == "cancel":
        if ctx.user.flow == "case":
            ctx.end_flow()
        return [Reply(ctx.t._("Caso descartado. No se guardó nada."))]
    if action in ("cat", "urg", "ok"):
        return await _step_button(ctx, action, value)
    if action == "view":
        return await view(ctx, value)
    if action == "msg":
        return await start_message(ctx, value)
    if action == "list":
        return await my_cases(ctx)
    return [Reply(ctx.t._("Ese botón ya no está disponible."))]


async def _step_button(ctx: Context, action: str, value: str) -> list[Reply]:
    _municipal(ctx)
    expected = {"cat": "category", "urg": "urgency", "ok": "confirm"}[action]
    if ctx.user.flow != "case" or ctx.user.flow_step != expected:
        return [Reply(ctx.t._("Ese paso ya terminó. Usa /caso para abrir un caso nuevo."))]
    data = dict(ctx.user.flow_data or {})
    if action == "cat":
        if value not in CATEGORIES:
            return [_category_question(ctx)]
        data["category"] = value
        ctx.next_step("description", data)
        return [
            Reply(
                ctx.t._(
                    "Nuevo caso (2/4). Describe la situación (máximo 2000 caracteres). No "
                    "incluyas RUN, RUT, pasaportes ni nombres completos: no son necesarios."
                )
            )
        ]
    if action == "urg":
        if value not in URGENCIES:
            return [Reply(ctx.t._("Elige normal o urgente."))]
        data["urgency"] = value
        ctx.next_step("confirm", data)
        t = ctx.t
        preview = t._(
            "Nuevo caso (4/4). Revisa y confirma:\nCategoría: {category}\nUrgencia: {urgency}\n"
            "Descripción: {description}"
        ).format(
            category=t._(CATEGORIES[data["category"]]),
            urgency=t._(URGENCIES[value]),
            description=data["description"],
        )
        buttons = [
            Button(t._("Abrir el caso"), "case:ok:yes"),
            Button(t._("Cancelar"), "case:cancel"),
        ]
        return [Reply(preview, rows(buttons, per_row=2))]
    return await _confirm(ctx, data)


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
            Button(t._("Tomar el caso"), f"ofc:take:{case.id}"),
            Button(t._("Ver el caso"), f"ofc:view:{case.id}"),
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
    return [Reply(text, rows([Button(t._("Ver mis casos"), "case:list")]))]


async def my_cases(ctx: Context) -> list[Reply]:
    comuna_cut = _municipal(ctx)
    found = await cases.for_comuna(ctx.session, comuna_cut)
    t = ctx.t
    if not found:
        return [Reply(t._("Tu comuna aún no tiene casos. Usa /caso para abrir uno."))]
    buttons = [Button(summary(t, c)[:60], f"case:view:{c.id}") for c in found]
    return [Reply(t._("Casos de tu comuna (los más recientes primero):"), rows(buttons))]


async def own_case(ctx: Context, raw_id: str) -> Case:
    """The case, if it belongs to the contact's comuna (never reveal others' cases)."""
    comuna_cut = _municipal(ctx)
    case_id = parse_id(raw_id)
    case = await cases.get(ctx.session, case_id) if case_id else None
    if case is None or case.comuna_cut != comuna_cut:
        raise NotFound(ctx.t._("No encuentro ese caso entre los de tu comuna."))
    return case


async def view(ctx: Context, raw_id: str) -> list[Reply]:
    if ctx.user.role in (OFFICER, ADMIN):
        from intents.flows.officer_cases import view as officer_view

        return await officer_view(ctx, raw_id)
    case = await own_case(ctx, raw_id)
    events = await cases.events(ctx.session, case.id)
    comuna = await directory.comuna(ctx.session, case.comuna_cut)
    buttons = []
    if case.status != "cerrado":
        buttons.append(Button(ctx.t._("Agregar un mensaje"), f"case:msg:{case.id}"))
    return [Reply(history(ctx.t, case, events, comuna), rows(buttons))]


async def start_message(ctx: Context, raw_id: str) -> list[Reply]:
    case = await own_case(ctx, raw_id)
    if case.status == "cerrado":
        return [Reply(ctx.t._("El caso {number} está cerrado.").format(number=case.number))]
    ctx.start_flow("case", "message", {"case_id": case.id})
    return [
        Reply(
            ctx.t._("Escribe tu mensaje para el caso {number} (o /cancelar):").format(
                number=case.number
            )
        )
    ]


async def message_step(ctx: Context) -> list[Reply]:
    data = ctx.user.flow_data or {}
    case = await own_case(ctx, str(data.get("case_id", "")))
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
            Button(t._("Responder"), f"ofc:reply:{case.id}"),
            Button(t._("Ver el caso"), f"ofc:view:{case.id}"),
        ]

    notify(ctx, recipients, render)
    reply = ctx.t._("Mensaje agregado al caso {number}.").format(number=case.number)
    if hidden:
        reply += " " + ctx.t._("Oculté números de identidad que no deben enviarse por aquí.")
    return [Reply(reply)]


async def waiting_for_button(ctx: Context) -> list[Reply]:
    """A text where a choice is expected: ask again, keep the case being drafted."""
    step = ctx.user.flow_step
    if step == "category":
        return [_category_question(ctx)]
    return [Reply(ctx.t._("Elige una de las opciones con los botones, o escribe /cancelar."))]


FLOW = Flow(
    name="case",
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
            help=Line(N_("/miscasos – ver los casos de tu comuna"), 20),
            words={"en": ("mycases",)},
            menu=Line(N_("Casos de tu comuna"), 70),
            next_step=NextStep(N_("Ver mis casos")),
        ),
    ),
    buttons={"case": button},
    steps={
        "category": waiting_for_button,
        "description": description_step,
        "urgency": waiting_for_button,
        "confirm": waiting_for_button,
        "message": message_step,
    },
)
