"""/idioma: choose the language the bot speaks to this user."""

from __future__ import annotations

from intents.context import Context
from intents.flows.menu import main_menu
from intents.i18n import LANGUAGE_NAMES, LANGUAGES, texts
from intents.messages import Button, Reply, rows
from intents.router import Flow


async def choose(ctx: Context) -> list[Reply]:
    wanted = ctx.args.strip().lower()
    if wanted:
        if wanted in LANGUAGES:
            return await _set(ctx, wanted)
        return [_picker(ctx, ctx.t._("No conozco ese idioma. Elige uno:"))]
    return [_picker(ctx, ctx.t._("Elige tu idioma:"))]


def _picker(ctx: Context, prompt: str) -> Reply:
    buttons = [Button(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()]
    return Reply(prompt, rows(buttons, per_row=2))


async def _set(ctx: Context, lang: str) -> list[Reply]:
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
    commands={"idioma": choose},
    aliases={"language": "idioma", "langue": "idioma", "lang": "idioma"},
    buttons={"lang": button},
    takes_args=frozenset({"idioma"}),
)
