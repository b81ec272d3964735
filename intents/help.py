"""The role-aware help text: the commands a person may use. Its own module because both the
menu (/ayuda) and the knowledge base's answer to "what can you do" (topic bot.ayuda) show it,
and the menu already depends on the answers."""

from __future__ import annotations

from intents.context import Context
from intents.roles import ADMIN, MUNICIPAL, OFFICER


def help_text(ctx: Context) -> str:
    t = ctx.t
    parts = [
        t._(
            "Puedes escribirme tu pregunta con tus palabras, en español, kreyòl, français "
            "o English. Comandos:"
        ),
        t._("/menu – temas principales"),
        t._("/papeles – preguntas para saber qué permiso te sirve"),
        t._("/idioma – cambiar el idioma"),
        t._("/suscribir y /baja – boletín informativo"),
        t._("/estadisticas COMUNA – cifras oficiales de personas extranjeras"),
        t._("/privacidad, /misdatos, /borrar – tus datos"),
        t._("/registro CÓDIGO – registrarte como contacto municipal"),
        t._("/cancelar – salir de lo que estés haciendo"),
    ]
    role = ctx.user.role
    if role in (MUNICIPAL, ADMIN):
        parts.append(t._("Como contacto municipal:"))
        parts.append(t._("/caso – abrir un caso Sello"))
        parts.append(t._("/miscasos – ver los casos de tu comuna"))
        parts.append(t._("/encargado – contactar a tu encargada/o regional de SERMIG"))
    if role in (OFFICER, ADMIN):
        parts.append(t._("Como encargada/o regional:"))
        parts.append(t._("/casos – casos abiertos de tu región"))
        parts.append(t._("/boletin – enviar el boletín informativo"))
        parts.append(t._("/codigo COMUNA – código de registro para una comuna"))
    if role in (MUNICIPAL, OFFICER, ADMIN):
        parts.append(t._("/panel – enlace para entrar a la consola web"))
    return "\n".join(parts)
