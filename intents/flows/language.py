"""/idioma: choose the language the bot speaks to this user."""

from __future__ import annotations

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.flows.menu import main_menu
from intents.i18n import LANGUAGE_NAMES, LANGUAGES, N_, texts
from intents.messages import Button, Reply, rows
from intents.router import Flow
from knowledge.languages import SPOKEN
from knowledge.normalize import fold


async def choose(ctx: Context) -> list[Reply]:
    wanted = ctx.args.strip()
    if wanted:
        lang = _named_language(wanted)
        if lang is not None:
            return await _set(ctx, lang)
        return [_picker(ctx, ctx.t._("No conozco ese idioma. Elige uno:"))]
    ctx.start_flow("language", "choose")
    return [_picker(ctx, ctx.t._("Elige tu idioma:"))]


# Words people type for each language, folded (no accents): declared with the languages.
NAMES = {language.code: language.typed for language in SPOKEN}


def _named_language(text: str) -> str | None:
    folded = fold(text)
    for code, names in NAMES.items():
        if folded in names:
            return code
    return None


async def typed(ctx: Context) -> list[Reply]:
    """Step `choose`: the user typed a language instead of pressing a button."""
    lang = _named_language(ctx.text)
    if lang is None:
        return [
            _picker(
                ctx, ctx.t._("No conozco ese idioma. Elige uno de los botones o escribe /cancelar:")
            )
        ]
    return await _set(ctx, lang)


def _picker(ctx: Context, prompt: str) -> Reply:
    buttons = [Button(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()]
    return Reply(prompt, rows(buttons, per_row=2))


async def _set(ctx: Context, lang: str) -> list[Reply]:
    ctx.end_flow()
    ctx.user.language = lang
    ctx.t = texts(lang)
    confirmation = ctx.t._("Listo, te escribiré en español.")
    return [Reply(confirmation), main_menu(ctx)]


async def button(ctx: Context) -> list[Reply]:
    if ctx.args in LANGUAGES:
        return await _set(ctx, ctx.args)
    return [_picker(ctx, ctx.t._("Elige tu idioma:"))]


FLOW = Flow(
    name="language",
    commands=(
        CommandSpec(
            "idioma",
            choose,
            roles=EVERYONE,
            help=Line(N_("/idioma – cambiar el idioma"), 30),
            words={"en": ("language", "lang"), "fr": ("langue", "lang")},
            takes_argument=True,
            menu=Line(N_("Cambiar el idioma"), 40),
            privacy=Line(
                N_("/idioma, /suscribir, /baja – corregir tu idioma, tu comuna o tu suscripción"),
                20,
            ),
            next_step=NextStep(N_("Cambiar idioma")),
        ),
    ),
    buttons={"lang": button},
    steps={"choose": typed},
)
