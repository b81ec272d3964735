"""The role-aware help text: the commands a person may use. Its own module because both the
menu (/ayuda) and the knowledge base's answer to "what can you do" (topic bot.ayuda) show it,
and the menu already depends on the answers. The lines come from the commands' declarations
(intents/commands.py), in the sections of their roles."""

from __future__ import annotations

from intents.context import Context


def help_text(ctx: Context) -> str:
    t = ctx.t
    intro = t._(
        "Puedes escribirme tu pregunta con tus palabras, en español, kreyòl, français "
        "o English. Comandos:"
    )
    lines = ctx.services.commands.help_lines(ctx.user.role)
    return "\n".join([intro, *(t._(line) for line in lines)])
