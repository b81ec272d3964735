"""/privacidad, /misdatos and /borrar: what is stored and why, a copy of it, and its erasure
(Ley 19.628 and Ley 21.719)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Literal

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.i18n import N_
from intents.masking import MASK
from intents.messages import Attachment, Reply, rows
from intents.payloads import Payload
from intents.roles import ADMIN, MUNICIPAL, OFFICER
from intents.router import Flow
from intents.steps import FlowStep
from storage import privacy

# How long conversation logs (update keys, finished deliveries, rate-limit attempts) and
# unanswered questions are kept; `Services.log_retention_days` overrides it when present.
DEFAULT_RETENTION_DAYS = 180
EXPORT_FILENAME = "misdatos.json"


class Step(FlowStep, flow="privacy"):
    CONFIRM = "confirm"  # /borrar asked: only a button press answers


class Erase(Payload, prefix="priv:erase"):
    """The answer to /borrar's question ("priv:erase:yes", "priv:erase:no")."""

    answer: Literal["yes", "no"]


# One line of the help for the three commands.
DATA_HELP = Line(N_("/privacidad, /misdatos, /borrar – tus datos"), 60)


def retention_days(ctx: Context) -> int:
    return int(getattr(ctx.services, "log_retention_days", DEFAULT_RETENTION_DAYS))


async def explain(ctx: Context) -> list[Reply]:
    t = ctx.t
    days = retention_days(ctx)
    paragraphs = [
        t._("Tus datos y tu privacidad"),
        t._(
            "Qué guardo: tu identificador en la plataforma (Telegram, WhatsApp o la consola; en "
            "WhatsApp, tu número solo si la plataforma lo entrega), tu idioma, tu perfil "
            "(persona migrante, contacto municipal o SERMIG), tu comuna si te registraste o la "
            "elegiste, y si estás suscrita/o al boletín. Si eres contacto municipal, también los "
            "casos que abres, sus mensajes y los mensajes con tu encargada/o regional; si eres "
            "de SERMIG, lo que registras en los casos y los boletines que envías. No guardo tus "
            "preguntas con tu nombre, salvo las de tus últimas respuestas, para que puedas "
            "calificarlas con 👍 / 👎, y lo que me escribas tras un 👎 (con números de "
            "identidad, teléfonos y correos ocultos); se borran como el registro de la "
            "conversación."
        ),
        t._(
            "Para qué: para responderte en tu idioma, enviarte el boletín si lo pediste y dar "
            "seguimiento a los casos Sello. Solo se usan para eso."
        ),
        t.ngettext(
            "Cuánto tiempo: el registro técnico de la conversación y las preguntas que no supe "
            "responder (guardadas sin saber quién las hizo) se borran a los {days} día. Tu "
            "perfil se guarda hasta que lo borres.",
            "Cuánto tiempo: el registro técnico de la conversación y las preguntas que no supe "
            "responder (guardadas sin saber quién las hizo) se borran a los {days} días. Tu "
            "perfil se guarda hasta que lo borres.",
            days,
        ).format(days=t.number(days)),
        t._(
            "Quién los ve: las encargadas y encargados regionales de SERMIG ven los casos de su "
            "región y los mensajes que les envías. Nadie lee tus conversaciones conmigo. El "
            "equipo de contenidos revisa las preguntas sin respuesta, sin saber quién las hizo."
        ),
        t._(
            "Tus derechos (Ley 19.628 y Ley 21.719 sobre protección de datos personales): "
            "acceder a tus datos, rectificarlos y pedir que se eliminen."
        ),
    ]
    commands = [t._(line) for line in ctx.services.commands.privacy_lines()]
    return [Reply("\n\n".join(paragraphs) + "\n\n" + "\n".join(commands))]


async def export(ctx: Context) -> list[Reply]:
    data = {
        "exported_at": ctx.now.astimezone(UTC).isoformat(),
        **await privacy.export_user(ctx.session, ctx.user.id),
    }
    # Masks are stored in Spanish ("[dato oculto]"); the reader sees them in their language,
    # as in every message (a new-user trial, tenth session: an English export showed Spanish).
    dumped = json.dumps(data, ensure_ascii=False, indent=2)
    mask = json.dumps(ctx.t._(MASK), ensure_ascii=False)[1:-1]
    content = dumped.replace(MASK, mask).encode("utf-8")
    return [
        Reply(
            ctx.t._(
                "Este archivo tiene todo lo que guardo sobre ti. Cómo corregir algo: "
                "/privacidad. Para borrarlo: /borrar."
            ),
            attachment=Attachment(EXPORT_FILENAME, content, "application/json"),
        )
    ]


def _question(ctx: Context, lead: str | None = None) -> Reply:
    t = ctx.t
    parts = [lead] if lead else []
    parts.append(
        t._(
            "¿Borro tus datos? Se eliminan tu perfil, tu idioma, tu suscripción al boletín, los "
            "mensajes que enviaste a tu encargada/o regional y los mensajes pendientes. No se "
            "puede deshacer."
        )
    )
    role = ctx.user.role
    if role in (MUNICIPAL, ADMIN):
        parts.append(
            t._(
                "Dejarás de ser contacto municipal de tu comuna. Los casos que abriste siguen "
                "existiendo para SERMIG, pero sin tu nombre."
            )
        )
    if role in (OFFICER, ADMIN):
        parts.append(
            t._(
                "Perderás tu perfil de SERMIG en el asistente: para recuperarlo, pide que te "
                "registren de nuevo."
            )
        )
    buttons = [
        Erase("yes").button(t._("Sí, borrar mis datos")),
        Erase("no").button(t._("No, conservarlos")),
    ]
    return Reply("\n\n".join(parts), rows(buttons))


async def ask_erase(ctx: Context) -> list[Reply]:
    ctx.start_flow(Step.CONFIRM)
    return [_question(ctx)]


async def confirm_step(ctx: Context) -> list[Reply]:
    """Step `confirm`: the user typed instead of pressing a button; only a press counts."""
    return [
        _question(
            ctx, ctx.t._("Para confirmar, usa uno de los botones (o /cancelar para no borrar).")
        )
    ]


def _pending(ctx: Context) -> bool:
    """A confirmation is pending: asked by /borrar, not answered, not expired."""
    if not ctx.at(Step.CONFIRM):
        return False
    asked = ctx.user.flow_updated_at
    if asked is None:
        return False
    return ctx.now - asked <= ctx.services.flow_timeout


async def _erase(ctx: Context) -> list[Reply]:
    t = ctx.t
    if not _pending(ctx):
        if ctx.in_flow(Step):
            ctx.end_flow()
        return [
            Reply(
                t._(
                    "No hay ninguna solicitud de borrado pendiente, así que no borré nada. "
                    "Si quieres borrar tus datos, usa /borrar."
                )
            )
        ]
    ctx.end_flow()
    await privacy.erase_user(ctx.session, ctx.user.id, ctx.now)
    return [
        Reply(
            t._(
                "Listo: borré tus datos. Los casos que abriste conservan su historial para "
                "SERMIG, sin tu nombre. Si vuelves a escribirme, empezaré de cero."
            )
        )
    ]


async def _keep(ctx: Context) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    return [Reply(ctx.t._("De acuerdo, no borré nada. Tus datos siguen como estaban."))]


async def answered(ctx: Context, press: Erase) -> list[Reply]:
    if press.answer == "yes":
        return await _erase(ctx)
    return await _keep(ctx)


FLOW = Flow(
    name=Step.flow,
    commands=(
        CommandSpec(
            "privacidad",
            explain,
            roles=EVERYONE,
            help=DATA_HELP,
            words={"en": ("privacy",)},
            menu=Line(N_("Qué datos guardo y por qué"), 120),
            next_step=NextStep(N_("Privacidad y datos")),
        ),
        CommandSpec(
            "misdatos",
            export,
            roles=EVERYONE,
            help=DATA_HELP,
            words={"en": ("mydata",)},
            menu=Line(N_("Recibir una copia de tus datos"), 130),
            privacy=Line(N_("/misdatos – recibir un archivo con todo lo que guardo sobre ti"), 10),
            next_step=NextStep(N_("Descargar mis datos")),
        ),
        CommandSpec(
            "borrar",
            ask_erase,
            roles=EVERYONE,
            help=DATA_HELP,
            words={"en": ("delete",)},
            menu=Line(N_("Borrar tus datos"), 140),
            privacy=Line(N_("/borrar – eliminar tus datos"), 30),
        ),
    ),
    buttons={Erase: answered},
    steps={Step.CONFIRM: confirm_step},
)
