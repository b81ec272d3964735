"""/idioma: choose the language the bot speaks to this user."""

from __future__ import annotations

from typing import Annotated

from intents.commands import EVERYONE, CommandSpec, Line, NextStep
from intents.context import Context
from intents.flows import orientation
from intents.flows.menu import LanguagePicker, main_menu
from intents.i18n import LANGUAGE_NAMES, LANGUAGES, N_, texts
from intents.messages import Reply, rows
from intents.payloads import OneOf, Payload
from intents.router import Flow
from intents.steps import FlowStep
from knowledge.languages import SPOKEN
from knowledge.normalize import fold


class Step(FlowStep, flow="language"):
    CHOOSE = "choose"


class LanguageChoice(Payload, prefix="lang"):
    """Speak this language ("lang:fr"); the picker, "lang:menu", is `LanguagePicker`."""

    lang: Annotated[str, OneOf(LANGUAGES)]


async def choose(ctx: Context) -> list[Reply]:
    wanted = ctx.args.strip()
    if wanted:
        lang = _named_language(wanted)
        if lang is not None:
            return await set_language(ctx, lang)
        return [_picker(ctx, ctx.t._("No conozco ese idioma. Elige uno:"))]
    # Chosen in the middle of the orientation: its question comes back in the new language
    # (it ended silently before: a new-user trial of 2026-12-07).
    back = None
    if ctx.in_flow(orientation.Step) and ctx.user.flow_step:
        back = {"step": ctx.user.flow_step, "data": ctx.user.flow_data or {}}
    ctx.start_flow(Step.CHOOSE, {"orientation": back} if back else None)
    return [_picker(ctx, ctx.t._("Elige tu idioma:"))]


# Words people type for each language, folded (no accents): declared with the languages.
NAMES = {language.code: language.typed for language in SPOKEN}


def _named_language(text: str) -> str | None:
    folded = fold(text)
    for code, names in NAMES.items():
        if folded in names:
            return code
    return None


# Asking for a language in words ("in English please", "pero en español porfa", "habla
# español?", "an kreyòl souple"): what is left once these words are set aside is one
# language's name. (Before, these got the fallback and were logged as questions.) No pronoun
# or article is one of them: "I'm Haitian" says who, not which language ("haitian" names
# Kreyòl for /idioma).
_ASKING = frozenset(
    """
    in en an please plz pls porfa por favor pero but mais men svp stp souple tanpri habla
    hablas hablame hablen hable escribe escribeme escribir speak talk write do you can could
    parle parlez parles ecris ecrivez vous tu ou pale ekri ka puedes puede me to
    idioma language langue lang only solo seulement selman mejor better plus je hablar parler
    """.split()
)


def requested(text: str) -> str | None:
    """The language a message asks to be spoken, if that is all it says. A language's name
    alone ("english") asks nothing: it may answer an expired /idioma prompt, which chooses
    nothing (tests/test_engine.py)."""
    folded = fold(text).split()
    words = [w for w in folded if w not in _ASKING]
    if not words or len(words) == len(folded):
        return None
    return _named_language(" ".join(words))


async def typed(ctx: Context) -> list[Reply]:
    """Step `choose`: the user typed a language instead of pressing a button."""
    lang = _named_language(ctx.text)
    if lang is None:
        return [
            _picker(
                ctx, ctx.t._("No conozco ese idioma. Elige uno de los botones o escribe /cancelar:")
            )
        ]
    return await set_language(ctx, lang)


def _picker(ctx: Context, prompt: str) -> Reply:
    buttons = [LanguageChoice(code).button(name) for code, name in LANGUAGE_NAMES.items()]
    return Reply(prompt, rows(buttons, per_row=2))


async def set_language(ctx: Context, lang: str) -> list[Reply]:
    """Speak `lang` to this user from now on (their choice, as with /idioma)."""
    back = (ctx.user.flow_data or {}).get("orientation") if ctx.in_flow(Step) else None
    ctx.end_flow()
    ctx.user.language = lang
    ctx.t = texts(lang)
    confirmation = Reply(ctx.t._("Listo, te escribiré en español."))
    if isinstance(back, dict):
        resumed = orientation.resume(ctx, str(back.get("step")), back.get("data") or {})
        if resumed is not None:
            return [confirmation, resumed]
    return [confirmation, main_menu(ctx)]


async def chosen(ctx: Context, press: LanguageChoice) -> list[Reply]:
    return await set_language(ctx, press.lang)


async def picker(ctx: Context, press: LanguagePicker | None = None) -> list[Reply]:
    """The picker: from the menu's button, or for a language button this version lacks."""
    return [_picker(ctx, ctx.t._("Elige tu idioma:"))]


FLOW = Flow(
    name=Step.flow,
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
    buttons={LanguageChoice: chosen, LanguagePicker: picker},
    unknown_button=picker,
    steps={Step.CHOOSE: typed},
)
