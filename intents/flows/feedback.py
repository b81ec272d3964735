"""👍 / 👎 under full answers: one tap, stored for the content team; on 👎 an optional "what
were you looking for?" that the next message answers (or "Omitir", /cancelar, a command)."""

from __future__ import annotations

from intents.context import Context
from intents.masking import mask_personal
from intents.messages import Button, Reply, rows
from intents.router import Flow
from storage import feedback

PREFIX = "fb"
FLOW_NAME = "feedback"
MAX_NOTE = 500


def remember(ctx: Context, topic_id: str, question: str | None) -> None:
    """The answer a 👍 / 👎 will rate: its topic and (masked) question."""
    masked = mask_personal(question[:MAX_NOTE])[0] if question else None
    ctx.user.last_answer = {"topic": topic_id, "question": masked}


def buttons(topic_id: str) -> tuple[Button, Button]:
    """Language-neutral and short: fits WhatsApp's 20-character button titles."""
    return Button("👍", f"{PREFIX}:up:{topic_id}"), Button("👎", f"{PREFIX}:down:{topic_id}")


def under(ctx: Context, reply: Reply, topic_id: str, question: str | None) -> Reply:
    """The answer with the rating row last, and the answer remembered for it."""
    remember(ctx, topic_id, question)
    return Reply(reply.text, (*reply.buttons, buttons(topic_id)), reply.attachment)


async def pressed(ctx: Context) -> list[Reply]:
    """fb:up:TOPIC, fb:down:TOPIC, fb:skip. Only the latest answer can be rated, once: an old,
    replayed or forged button stores nothing."""
    action, _, topic_id = ctx.args.partition(":")
    if action == "skip":
        if ctx.user.flow == FLOW_NAME:
            ctx.end_flow()
            return [Reply(ctx.t._("De acuerdo. Escribe tu pregunta o usa /menu."))]
        return [_gone(ctx)]
    last = ctx.user.last_answer or {}
    if action not in ("up", "down") or not topic_id or last.get("topic") != topic_id:
        return [_gone(ctx)]
    ctx.user.last_answer = None
    helpful = action == "up"
    row = feedback.record(
        ctx.session,
        user_id=ctx.user.id,
        topic=topic_id,
        lang=ctx.lang,
        channel=ctx.incoming.channel,
        helpful=helpful,
        question=last.get("question"),
        now=ctx.now,
    )
    if helpful:
        return [Reply(ctx.t._("¡Gracias! Me alegra que te sirviera."))]
    await ctx.session.flush()  # the row's id, for the note that may follow
    ctx.start_flow(FLOW_NAME, "looking_for", {"feedback_id": row.id})
    return [
        Reply(
            ctx.t._(
                "Gracias por decírmelo. ¿Qué estabas buscando? Escríbelo en pocas palabras y "
                "lo verá el equipo que mejora las respuestas (es opcional)."
            ),
            rows([Button(ctx.t._("Omitir"), f"{PREFIX}:skip")]),
        )
    ]


def _gone(ctx: Context) -> Reply:
    return Reply(ctx.t._("Ese botón ya no está disponible. Usa /menu."))


async def looking_for(ctx: Context) -> list[Reply]:
    """Step `looking_for`: the next message says what the person was looking for."""
    data = ctx.user.flow_data or {}
    ctx.end_flow()
    text = ctx.text
    if not text:
        return [Reply(ctx.t._("De acuerdo. Escribe tu pregunta o usa /menu."))]
    masked = mask_personal(text[:MAX_NOTE])[0]
    feedback_id = data.get("feedback_id")
    if isinstance(feedback_id, int):
        await feedback.note(ctx.session, feedback_id, ctx.user.id, masked)
    return [
        Reply(
            ctx.t._(
                "Gracias, lo anoté para mejorar las respuestas. ¿Algo más? Escribe tu pregunta."
            ),
            rows([Button(ctx.t._("Menú principal"), "cmd:menu")]),
        )
    ]


FLOW = Flow(name=FLOW_NAME, buttons={PREFIX: pressed}, steps={"looking_for": looking_for})
