"""Commands declared once (intents/commands.py): the declaration is checked when built, the
router enforces its roles, and the help, the Telegram menu, the privacy text and the next-step
buttons are generated from the declarations."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.channels.telegram import menu_commands
from intents.commands import EVERYONE, Commands, CommandSpec, Line, NextStep
from intents.context import Context
from intents.engine import FLOWS, Engine
from intents.help import help_text
from intents.i18n import LANGUAGES, texts
from intents.messages import Reply
from intents.roles import ADMIN, MIGRANT, MUNICIPAL, OFFICER
from intents.router import Flow, Router, parse_command
from storage.models import User
from tests.conftest import Chat

COMMANDS = Router(FLOWS).commands


async def probe(ctx: Context) -> list[Reply]:
    """A handler that forgot its role check."""
    return [Reply("sonda ejecutada")]


def probe_spec(**changes: object) -> CommandSpec:
    fields: dict[str, object] = {
        "roles": {OFFICER},
        "help": Line("/sonda – probar la sonda", 40),
        "menu": Line("Probar la sonda", 155),
        "privacy": Line("/sonda – lo que la sonda sabe de ti", 25),
        "next_step": NextStep("Sonda"),
        "words": {"en": ("probe",)},
    }
    fields.update(changes)
    return CommandSpec("sonda", probe, **fields)  # type: ignore[arg-type]


def ctx_of(role: str, commands: Commands = COMMANDS, lang: str = "es") -> SimpleNamespace:
    return SimpleNamespace(
        t=texts(lang), user=SimpleNamespace(role=role), services=SimpleNamespace(commands=commands)
    )


# --- a declaration is whole, or refused -------------------------------------------------


def test_a_command_without_roles_or_help_is_refused_at_construction():
    with pytest.raises(TypeError, match="roles"):
        CommandSpec("sonda", probe, help=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="help"):
        CommandSpec("sonda", probe, roles=EVERYONE)  # type: ignore[call-arg]
    CommandSpec("sonda", probe, roles=EVERYONE, help=None)  # both said: fine


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"roles": {"municipial"}}, "unknown role"),
        ({"help": Line("/otra – no es esta", 40)}, "help line does not name /sonda"),
        ({"privacy": Line("tus datos", 25)}, "privacy line does not name /sonda"),
        ({"words": {"de": ("sonde",)}}, "'de', a language the bot does not speak"),
        ({"words": {"fr": ("Sondé",)}}, "not a typed word"),
        ({"words": {"en": "probe"}}, "must be a tuple"),
        ({"menu": Line(" ", 155)}, "empty description"),
        ({"roles": EVERYONE, "refused": probe, "help": None}, "nobody is refused"),
    ],
)
def test_a_half_declared_command_is_refused(changes, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        probe_spec(**changes)


def test_a_word_is_a_command_that_telegram_accepts():
    with pytest.raises(ValueError, match="Telegram"):
        CommandSpec("estadísticas", probe, roles=EVERYONE, help=None)
    with pytest.raises(ValueError, match="Telegram"):
        CommandSpec("a" * 33, probe, roles=EVERYONE, help=None)


def test_two_commands_cannot_claim_one_word_nor_one_place():
    clash = Flow(name="clash", commands=(probe_spec(words={"en": ("help",)}),))
    with pytest.raises(ValueError, match="'help' is a word of both /ayuda and /sonda"):
        Router((*FLOWS, clash))
    taken = Flow(name="taken", commands=(probe_spec(menu=Line("Probar", 10)),))
    with pytest.raises(ValueError, match="place 10 of the menu is taken"):
        Router((*FLOWS, taken))
    section = Flow(name="section", commands=(probe_spec(roles={MIGRANT}),))
    with pytest.raises(ValueError, match="no help section"):
        Router((*FLOWS, section))


def test_every_command_named_in_a_listing_is_declared():
    """A renamed command cannot leave a stale "/word" in the help or the privacy text."""
    lines = [
        line
        for role in (MIGRANT, ADMIN)
        for line in COMMANDS.help_lines(role) + COMMANDS.privacy_lines()
    ]
    named = {word for line in lines for word in re.findall(r"(?:^|\s)/(\w+)", line)}
    assert {"panel", "borrar", "suscribir", "baja"} <= named
    assert all(COMMANDS.get(word) is not None for word in named)


# --- the listings are generated from the declarations ---------------------------------


def test_the_help_of_each_role_as_before():
    common = [
        "/menu – temas principales",
        "/papeles – preguntas para saber qué permiso te sirve",
        "/idioma – cambiar el idioma",
        "/suscribir y /baja – boletín informativo",
        "/estadisticas COMUNA – cifras oficiales de personas extranjeras",
        "/privacidad, /misdatos, /borrar – tus datos",
        "/registro CÓDIGO – registrarte como contacto municipal",
        "/cancelar – salir de lo que estés haciendo",
    ]
    municipal = [
        "Como contacto municipal:",
        "/caso – abrir un caso Sello",
        "/miscasos – ver los casos de tu comuna",
        "/encargado – contactar a tu encargada/o regional de SERMIG",
    ]
    officer = [
        "Como encargada/o regional:",
        "/casos – casos abiertos de tu región",
        "/boletin – enviar el boletín informativo",
        "/codigo COMUNA – código de registro para una comuna",
    ]
    panel = ["/panel – enlace para entrar a la consola web"]
    assert COMMANDS.help_lines(MIGRANT) == common
    assert COMMANDS.help_lines(MUNICIPAL) == common + municipal + panel
    assert COMMANDS.help_lines(OFFICER) == common + officer + panel
    assert COMMANDS.help_lines(ADMIN) == common + municipal + officer + panel
    text = help_text(ctx_of(OFFICER, lang="fr"))  # type: ignore[arg-type]
    assert text.startswith("Vous pouvez m'écrire") and "\n/casos – dossiers ouverts" in text


def test_the_telegram_menu_as_before_in_every_language():
    words = [command.command for command in menu_commands(COMMANDS, "es")]
    assert words == [
        "menu",
        "ayuda",
        "papeles",
        "idioma",
        "registro",
        "caso",
        "miscasos",
        "encargado",
        "estadisticas",
        "suscribir",
        "baja",
        "privacidad",
        "misdatos",
        "borrar",
        "cancelar",
    ]
    for lang in LANGUAGES:
        described = menu_commands(COMMANDS, lang)
        assert [c.command for c in described] == words
        assert described[0].description == texts(lang)._("Temas principales")


def test_the_privacy_text_lists_what_a_user_can_do_with_their_data():
    assert COMMANDS.privacy_lines() == [
        "/misdatos – recibir un archivo con todo lo que guardo sobre ti",
        "/idioma, /suscribir, /baja – corregir tu idioma, tu comuna o tu suscripción",
        "/borrar – eliminar tus datos",
    ]


def test_next_steps_as_before():
    offered = {
        role: [w for w in sorted(COMMANDS.next_steps) if COMMANDS.next_step(w, role)]
        for role in (MIGRANT, MUNICIPAL, OFFICER, ADMIN)
    }
    everyone = ["baja", "estadisticas", "idioma", "menu", "misdatos", "privacidad", "suscribir"]
    assert offered[MIGRANT] == sorted(everyone + ["registro"])
    assert offered[MUNICIPAL] == sorted(everyone + ["caso", "encargado", "miscasos"])
    assert offered[OFFICER] == offered[ADMIN] == everyone  # admins: only what names them
    assert COMMANDS.next_step("help", MIGRANT) is None  # a command's own word only
    assert COMMANDS.next_step("ayuda", MIGRANT) is None  # not offered by any topic


def test_a_new_declared_command_appears_in_every_listing():
    flow = Flow(name="probe", commands=(probe_spec(),))
    commands = Router((*FLOWS, flow)).commands
    officer = commands.help_lines(OFFICER)
    assert (
        officer.index("/sonda – probar la sonda")
        == officer.index("/boletin – enviar el boletín informativo") + 2
    )  # after /codigo (place 30) in the officers' section
    assert "/sonda – probar la sonda" not in commands.help_lines(MIGRANT)
    assert "/sonda – probar la sonda" in help_text(ctx_of(ADMIN, commands))  # type: ignore[arg-type]
    for lang in LANGUAGES:
        assert [(c.command, c.description) for c in menu_commands(commands, lang)][-1] == (
            "sonda",
            "Probar la sonda",  # untranslated msgid until the catalogs have it
        )
    assert commands.privacy_lines()[2] == "/sonda – lo que la sonda sabe de ti"  # place 25
    assert commands.next_step("sonda", OFFICER) == "Sonda"
    assert commands.next_step("sonda", MIGRANT) is None
    assert "sonda" in commands.next_steps
    router = Router((*FLOWS, flow))
    for typed in ("/sonda", "sonda", "/probe", "probe"):
        assert router.command(parse_command(typed)) is not None  # type: ignore[arg-type]
    assert router.flow_of(command=parse_command("probe")) == "probe"


# --- the router enforces the roles -----------------------------------------------------


async def set_role(chat: Chat, role: str) -> None:
    async with chat.app.sessions() as s, s.begin():
        user = await s.scalar(select(User).where(User.external_id == chat.console.user))
        assert user is not None
        user.role = role


async def kind_refusal(ctx: Context) -> list[Reply]:
    return [Reply("solo para SERMIG; pide ayuda con /ayuda")]


@pytest.fixture
def probed(app) -> Chat:  # type: ignore[no-untyped-def]
    kind = CommandSpec("amable", probe, roles={OFFICER}, help=None, refused=kind_refusal)
    flow = Flow(name="probe", commands=(probe_spec(), kind))
    app.engine = Engine(app.sessions, app.engine.services, flows=(*FLOWS[:-1], flow, FLOWS[-1]))
    return Chat(app)


async def test_the_router_refuses_a_command_the_role_may_not_use(probed: Chat):
    refusal = "Esta opción no está disponible para tu perfil."
    await probed.say("hola")
    for typed in ("/sonda", "sonda", "/probe"):
        out = await probed.say(typed)
        assert refusal in out and "sonda ejecutada" not in out
    # Pressed as a next-step button (replayed or forged), the same check.
    out = await probed.press("cmd:sonda")
    assert refusal in out and "sonda ejecutada" not in out
    # A command's kinder answer replaces the refusal.
    assert "solo para SERMIG" in await probed.say("/amable")
    await set_role(probed, MUNICIPAL)
    assert refusal in await probed.say("/sonda")
    for role in (OFFICER, ADMIN):
        await set_role(probed, role)
        assert "sonda ejecutada" in await probed.say("/sonda")
        assert "sonda ejecutada" in await probed.press("cmd:sonda")
        assert "sonda ejecutada" in await probed.say("/amable")


async def test_the_router_refusal_is_in_the_users_language(probed: Chat):
    await probed.say("/idioma en")
    out = await probed.say("/sonda")
    assert texts("en")._("Esta opción no está disponible para tu perfil.") in out
    assert "Esta opción no está disponible para tu perfil." not in out


def test_the_declared_listing_strings_are_translated():
    """The msgids moved into the declarations and kept their translations."""
    for lang in ("fr", "en", "ht"):
        t = texts(lang)
        for line in COMMANDS.help_lines(ADMIN) + COMMANDS.privacy_lines():
            assert t._(line) != line
        for _, description in COMMANDS.menu():
            assert t._(description) != description
