"""Greeting, main menu and its sections, and the role-aware help."""

from __future__ import annotations

from typing import Annotated

from intents.answers import topic_button
from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.flows import orientation
from intents.flows.orientation import start_button
from intents.help import help_text
from intents.i18n import N_
from intents.messages import Reply, rows
from intents.payloads import OneOf, Payload
from intents.router import Flow

# Menu sections: payload -> (label msgid, topic ids shown as buttons).
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reg": (
        N_("Regularización y permisos"),
        (
            "reg.tipos_permiso",
            "reg.como_postular",
            "reg.estado_tramite",
            "reg.certificado_en_tramite",
            "reg.cedula",
            "reg.nna",
            "reg.refugio",
            "reg.aranceles",
        ),
    ),
    "derechos": (
        N_("Derechos: salud, escuela, apoyo"),
        ("derechos.salud", "derechos.educacion", "derechos.nna", "derechos.mujer"),
    ),
    "sello": (
        N_("Sello Migrante (municipios)"),
        (
            "sello.que_es",
            "sello.compromisos",
            "sello.beneficios",
            "sello.adhesion",
            "sello.municipios_adheridos",
            "sello.plataforma_casos",
        ),
    ),
    "contacto": (N_("Dónde pedir ayuda"), ("contacto.sermig", "contacto.oficina_municipal")),
}


class MenuButton(Payload, prefix="menu"):
    """The main menu ("menu:") or one of its sections ("menu:reg")."""

    section: Annotated[str, OneOf(SECTIONS)] | None


class LanguagePicker(Payload, prefix="lang:menu"):
    """The language picker, offered by the main menu. Handled by the language flow
    (intents/flows/language.py), but declared here: that flow shows the main menu after a
    choice, so it imports this module, and this module cannot import it."""


def main_menu(ctx: Context) -> Reply:
    t = ctx.t
    buttons = [MenuButton(key).button(t._(label)) for key, (label, _) in SECTIONS.items()]
    buttons.append(LanguagePicker().button(t._("Idioma / Langue / Lang")))
    return Reply(
        t._("¿En qué te puedo ayudar? Elige un tema o escribe tu pregunta con tus palabras."),
        rows(buttons),
    )


async def start(ctx: Context) -> list[Reply]:
    ctx.end_flow()
    greeting = ctx.t._(
        "¡Hola! Soy el asistente del Sello Migrante. Te oriento sobre regularización migratoria, "
        "tus derechos en Chile y el Sello Migrante de los municipios. Mis respuestas citan "
        "fuentes oficiales; no reemplazo a SERMIG."
    )
    return [Reply(greeting), main_menu(ctx)]


class Resume(Payload, prefix="resume"):
    """Back to the conversation: what the terminal sends when it starts (a press, not a
    word: "continuar" typed in the middle of a case draft means "go on", a review found)."""


async def come_back(ctx: Context, press: Resume | None = None) -> list[Reply]:
    """Where the user left off. An unfinished orientation (less than the flow timeout ago):
    its question again, in the conversation's language; another unfinished flow (a case
    draft): kept, and said so; nothing unfinished: the greeting, as /start. (The terminal
    started with /start, which ended the flow: after a restart in the middle of the
    orientation a typed "1" picked a menu section.)"""
    if not ctx.incoming.private:  # only the terminal sends it; a forged press in a group
        return [main_menu(ctx)]  # shows nothing of the sender's own flow, and ends none
    user = ctx.user
    updated = user.flow_updated_at
    if user.flow is None or updated is None or ctx.now - updated > ctx.services.flow_timeout:
        return await start(ctx)
    if ctx.in_flow(orientation.Step):
        data = user.flow_data if isinstance(user.flow_data, dict) else {}
        resumed = orientation.resume(ctx, str(user.flow_step), dict(data))
        if resumed is not None:
            return [Reply(ctx.t._("Seguimos donde quedamos:")), resumed]
        return await start(ctx)
    return [
        Reply(
            ctx.t._(
                "Tienes algo a medio hacer: responde a lo último que te pregunté, o escribe "
                "/cancelar para dejarlo."
            )
        )
    ]


async def menu(ctx: Context) -> list[Reply]:
    return [main_menu(ctx)]


async def section(ctx: Context, key: str) -> list[Reply]:
    label, topic_ids = SECTIONS[key]
    buttons = [topic_button(ctx, topic_id) for topic_id in topic_ids if topic_id in ctx.services.kb]
    if key == "reg":
        # The guided orientation first: most people do not know which permit they need.
        buttons.insert(0, start_button(ctx.t))
    buttons.append(MenuButton(None).button(ctx.t._("« Menú")))
    return [Reply(ctx.t._(label), rows(buttons))]


async def pressed(ctx: Context, press: MenuButton) -> list[Reply]:
    if press.section is None:
        return await menu(ctx)
    return await section(ctx, press.section)


async def stale(ctx: Context) -> list[Reply]:
    """A menu button this version does not have (a section removed since it was sent)."""
    return [Reply(ctx.t._("Ese botón ya no está disponible."), main_menu(ctx).buttons)]


async def help_command(ctx: Context) -> list[Reply]:
    return [Reply(help_text(ctx), main_menu(ctx).buttons)]


FLOW = Flow(
    name="menu",
    commands=(
        CommandSpec("start", start, roles=EVERYONE, help=None, words={"es": ("inicio",)}),
        CommandSpec(
            "menu",
            menu,
            roles=EVERYONE,
            help=Line(N_("/menu – temas principales"), 10),
            menu=Line(N_("Temas principales"), 10),
            next_step=NextStep(N_("Menú principal")),
        ),
        CommandSpec(
            "ayuda",
            help_command,
            roles=EVERYONE,
            help=None,  # the help itself
            words={"en": ("help",), "fr": ("aide",), "ht": ("ed",)},
            menu=Line(N_("Qué puedo hacer por ti"), 20),
        ),
    ),
    buttons={MenuButton: pressed, Resume: come_back},
    unknown_button=stale,
)
