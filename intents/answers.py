"""Knowledge answers as replies: the topic's text, its source and review date, next steps."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated

from intents import figures
from intents.context import Context
from intents.help import help_text
from intents.i18n import N_, Texts
from intents.messages import Button, Reply, rows
from intents.payloads import Pattern, Payload
from intents.roles import ADMIN, MUNICIPAL, OFFICER
from intents.router import CommandButton
from knowledge.content import Topic
from knowledge.places import find_comuna
from storage import directory, officers

MAX_MESSAGE = 1000

# Conversation, not information: a greeting or a thanks carries no source line (and is not
# rated), it only opens or closes the exchange.
SMALL_TALK = frozenset({"bot.saludo", "bot.gracias"})

# The topic whose answer adds a named comuna's Sello status; its answer ends, in every
# language, with one sentence asking for the comuna (dropped when one was named).
ADHESION_TOPIC = "sello.municipios_adheridos"

# The topic whose answer is the figures of the place the question names (intents/statistics).
STATISTICS_TOPIC = "datos.migrantes_comuna"


# A topic id as the content names them ("reg.cedula"); never "none" (`faq.NoneOfThese`).
TOPIC_ID = Pattern(r"[a-z0-9_]+(\.[a-z0-9_]+)+")


class TopicButton(Payload, prefix="kb"):
    """Answer this topic ("kb:reg.cedula"). Handled by the FAQ flow (intents/flows/faq.py),
    declared here because that flow (and every flow that offers topics) imports this one."""

    topic: Annotated[str, TOPIC_ID]


def topic_button(ctx: Context, topic_id: str) -> Button:
    topic = ctx.services.kb.topic(topic_id)
    return Button(topic.entry(ctx.lang).title, _topic_payload(topic_id))


@lru_cache(maxsize=4096)
def _topic_payload(topic_id: str) -> str:
    """A topic button's payload, packed (and checked) once per topic: most answers carry
    three to five of them."""
    return TopicButton(topic_id).pack()


def footer(ctx: Context, topic: Topic) -> str:
    return _footer(ctx.t, topic.source, topic.reviewed)


@lru_cache(maxsize=1024)
def _footer(t: Texts, source: str, reviewed: date) -> str:
    """A topic's source line, written once per language (it is under most answers)."""
    return t._("Fuente: {source} (revisado el {date})").format(source=source, date=t.date(reviewed))


async def topic_reply(
    ctx: Context, topic_id: str, asked: str | None = None, *, brief: bool = False
) -> list[Reply]:
    """The topic's answer; `asked` is the question it answers when it came from a button;
    `brief`: only a dynamic topic's own part when it has one (its text was just sent: "y
    Temuco?" after Puente Alto's status repeated the introduction, a new-user trial of the
    fourteenth session)."""
    topic = ctx.services.kb.topic(topic_id)
    if topic.id == STATISTICS_TOPIC:
        found = await figures.for_question(ctx, asked or ctx.text)
        if found is not None:
            return found
    body = topic.entry(ctx.lang).answer
    if topic.id == ADHESION_TOPIC:
        extra, named = await _adhesion_status(ctx, asked or ctx.text)
        if named:
            # The comuna was named (or is the user's own) and its status follows: the closing
            # "tell me your comuna and I'll check" would ask for what was just said.
            body = body.rsplit(". ", 1)[0] + "."
    else:
        extra = await _dynamic_part(ctx, topic, asked or ctx.text) if topic.dynamic else ""
    if brief and extra:
        body = ""
    tail = "" if topic_id in SMALL_TALK else footer(ctx, topic)
    room = MAX_MESSAGE - len(tail) - len(extra) - 4
    if len(body) > room:
        body = body[: max(room - 1, 0)].rstrip() + "…"
    text = "\n\n".join(part for part in (body, extra, tail) if part)
    related = [topic_button(ctx, r) for r in topic.related if r in ctx.services.kb]
    return [Reply(text, rows(related[:3] + action_buttons(ctx, topic.actions)))]


def action_buttons(ctx: Context, actions: tuple[str, ...]) -> list[Button]:
    """Buttons for the topic's next steps in the bot that this user's role is offered (the
    commands declare them: intents/commands.py); the router checks the role when pressed."""
    buttons = []
    for action in actions:
        word = action.lstrip("/")
        label = ctx.services.commands.next_step(word, ctx.user.role)
        if label is None:
            continue
        buttons.append(CommandButton(word).button(ctx.t._(label)))
    return buttons


async def _dynamic_part(ctx: Context, topic: Topic, question: str) -> str:
    if topic.id == "sello.encargado_regional":
        return await _regional_officers(ctx, question)
    if topic.id == "bot.ayuda":
        return help_text(ctx)
    return ""


# Municipalities adhered to the Sello in June 2024 (SERMIG's presentation, the source of the
# topic sello.municipios_adheridos): what the directory's count is measured against.
SELLO_MUNICIPALITIES = 141

# What the directory records of a comuna's Sello, as said to the user.
SELLO_STATUS = {
    "adherida": N_("{comuna} firmó su adhesión al Sello Migrante"),
    "certificada": N_("{comuna} está certificada con el Sello Migrante"),
    "renovada": N_("{comuna} renovó (revalidó) su Sello Migrante"),
}


async def _adhesion_status(ctx: Context, question: str) -> tuple[str, bool]:
    """What the directory knows: how many comunas (of about 141), the named or own comuna's
    status with its source, and that the official list is SERMIG's. A comuna the directory
    does not list is "not known", never "no"."""
    t = ctx.t
    count = await directory.count_adhered(ctx.session)
    cut = find_comuna(question, ctx.services.comuna_names) or ctx.user.comuna_cut
    lines = [
        t.ngettext(
            "Nuestro directorio conoce {n} comuna con el Sello, de unas {total} municipalidades "
            "adheridas; la lista oficial es de SERMIG.",
            "Nuestro directorio conoce {n} comunas con el Sello, de unas {total} "
            "municipalidades adheridas; la lista oficial es de SERMIG.",
            count,
        ).format(n=t.number(count), total=t.number(SELLO_MUNICIPALITIES))
    ]
    comuna = await directory.comuna(ctx.session, cut) if cut else None
    if comuna is not None and directory.in_sello(comuna):
        status = SELLO_STATUS.get(comuna.sello_status or "adherida", SELLO_STATUS["adherida"])
        line = t._(status).format(comuna=comuna.name)
        if comuna.adhered_since is not None:
            line += " " + t._("(el {date})").format(date=t.date(comuna.adhered_since))
        if comuna.sello_source and comuna.sello_source != directory.ADMIN_SOURCE:
            line += ". " + t._("Fuente: {source}").format(source=comuna.sello_source)
        lines.append(line + ".")
    elif comuna is not None:
        lines.append(
            t._(
                "{comuna} no figura en nuestro directorio, pero eso no quiere decir que no "
                "tenga el Sello: confírmalo con la Dirección Regional de SERMIG."
            ).format(comuna=comuna.name)
        )
    return "\n".join(lines), comuna is not None


async def _regional_officers(ctx: Context, question: str) -> str:
    """The officers of the user's region: for municipal contacts and SERMIG staff only (a
    migrant finds the regional directorate in the static text; the officers serve the
    municipalities)."""
    t = ctx.t
    if ctx.user.role not in (MUNICIPAL, OFFICER, ADMIN):
        return ""
    region_code = ctx.user.region_code
    if region_code is None and ctx.user.comuna_cut:
        comuna = await directory.comuna(ctx.session, ctx.user.comuna_cut)
        region_code = comuna.region_code if comuna else None
    if region_code is None:
        cut = find_comuna(question, ctx.services.comuna_names)
        comuna = await directory.comuna(ctx.session, cut) if cut else None
        region_code = comuna.region_code if comuna else None
    if region_code is None:
        return ""
    region = await directory.region(ctx.session, region_code)
    found = await officers.listing(ctx.session, region_code)
    if not found:
        return t._("Aún no hay encargada/o registrado para la región de {region}.").format(
            region=region.name if region else region_code
        )
    lines = [t._("Encargada/o regional de {region}:").format(region=region.name if region else "")]
    for officer in found:
        contact = " · ".join(x for x in (officer.email, officer.phone) if x)
        lines.append(f"• {officer.name}" + (f" ({contact})" if contact else ""))
    return "\n".join(lines)
