"""👍 / 👎 under full answers: one tap, stored for the content team; on 👎 an optional "what
were you looking for?" that the next message answers (or "Omitir", /cancelar, a command);
that note, when it is a question the knowledge base can answer, is also answered."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from intents.answers import TOPIC_ID
from intents.context import Context
from intents.masking import mask_personal
from intents.messages import Button, Reply, rows
from intents.payloads import Payload
from intents.router import CommandButton, Flow
from intents.steps import FlowStep
from knowledge.matcher import MatchKind
from storage import feedback

MAX_NOTE = 500


class Step(FlowStep, flow="feedback"):
    LOOKING_FOR = "looking_for"  # after a 👎: what were you looking for?


class Rating(Payload, prefix="fb"):
    """The answer to a topic helped, or not ("fb:up:reg.cedula", "fb:down:reg.cedula")."""

    vote: Literal["up", "down"]
    topic: Annotated[str, TOPIC_ID]


class SkipNote(Payload, prefix="fb:skip"):
    """No note after a 👎."""


RECENT = 5  # answers that can still be rated: the latest few, each once


def _recent(ctx: Context) -> list[dict[str, str | None]]:
    """The user's answers that can still be rated, newest first (a row from before 2026-12-07
    holds one answer as {"topic", "question"})."""
    stored = ctx.user.last_answer or {}
    if "recent" in stored:
        return [dict(a) for a in stored["recent"] if isinstance(a, dict)]
    return [dict(stored)] if stored.get("topic") else []


def remember(ctx: Context, topic_id: str, question: str | None) -> None:
    """The answer a 👍 / 👎 will rate: its topic, (masked) question and language. The latest
    RECENT answers can be rated (only the latest could, before: a 👍 on the answer above the
    last one was refused, a new-user trial of 2026-12-07)."""
    masked = mask_personal(question[:MAX_NOTE])[0] if question else None
    recent = [a for a in _recent(ctx) if a.get("topic") != topic_id]
    answer = {"topic": topic_id, "question": masked, "lang": ctx.lang, "at": ctx.now.isoformat()}
    ctx.user.last_answer = {"recent": [answer, *recent][:RECENT]}


def latest(ctx: Context) -> dict[str, str | None] | None:
    """The user's latest answer (topic, masked question, language, time), if any."""
    recent = _recent(ctx)
    return recent[0] if recent else None


@lru_cache(maxsize=4096)
def buttons(topic_id: str) -> tuple[Button, Button]:
    """Language-neutral and short: fits WhatsApp's 20-character button titles. The same for
    every answer of a topic: built once."""
    return Rating("up", topic_id).button("👍"), Rating("down", topic_id).button("👎")


def under(ctx: Context, reply: Reply, topic_id: str, question: str | None) -> Reply:
    """The answer with the rating row last, and the answer remembered for it."""
    remember(ctx, topic_id, question)
    return Reply(reply.text, (*reply.buttons, buttons(topic_id)), reply.attachment)


async def skipped(ctx: Context, press: SkipNote) -> list[Reply]:
    if not ctx.in_flow(Step):
        return [_gone(ctx)]
    ctx.end_flow()
    return [Reply(ctx.t._("De acuerdo. Escribe tu pregunta o usa /menu."))]


async def rated(ctx: Context, press: Rating) -> list[Reply]:
    """One of the latest answers, once: an older, replayed or forged button stores nothing."""
    recent = _recent(ctx)
    last = next((a for a in recent if a.get("topic") == press.topic), None)
    if last is None:
        return [_gone(ctx)]
    ctx.user.last_answer = {"recent": [a for a in recent if a is not last]}
    helpful = press.vote == "up"
    row = feedback.record(
        ctx.session,
        user_id=ctx.user.id,
        topic=press.topic,
        # The answer's language: the conversation's may have changed since (/idioma), and a
        # row from before 2026-12-07 has none.
        lang=last.get("lang") or ctx.lang,
        channel=ctx.incoming.channel,
        helpful=helpful,
        question=last.get("question"),
        now=ctx.now,
    )
    if helpful or (ctx.user.flow is not None and not ctx.in_flow(Step)):
        # A 👎 on an earlier answer while in another flow (the orientation…) keeps that flow:
        # no "what were you looking for?" that would replace it (the review of 2026-12-07).
        return (
            [Reply(ctx.t._("¡Gracias! Me alegra que te sirviera."))]
            if helpful
            else [Reply(ctx.t._("Gracias por decírmelo."))]
        )
    await ctx.session.flush()  # the row's id, for the note that may follow
    ctx.start_flow(Step.LOOKING_FOR, {"feedback_id": row.id})
    return [
        Reply(
            ctx.t._(
                "Gracias por decírmelo. ¿Qué estabas buscando? Escríbelo en pocas palabras y "
                "lo verá el equipo que mejora las respuestas (es opcional)."
            ),
            rows([SkipNote().button(ctx.t._("Omitir"))]),
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
    match = ctx.match if ctx.match is not None else ctx.services.matcher.match(text)
    if ctx.ask is not None and match.kind is MatchKind.FULL:
        # What they were looking for, asked as a question ("¿y cuánto demora la definitiva?"):
        # noted, and answered (before, it was only noted: a new-user trial of 2026-12-07).
        return [Reply(ctx.t._("Gracias, lo anoté.")), *await ctx.ask(ctx)]
    return [
        Reply(
            ctx.t._(
                "Gracias, lo anoté para mejorar las respuestas. ¿Algo más? Escribe tu pregunta."
            ),
            rows([CommandButton("menu").button(ctx.t._("Menú principal"))]),
        )
    ]


FLOW = Flow(
    name=Step.flow,
    buttons={Rating: rated, SkipNote: skipped},
    steps={Step.LOOKING_FOR: looking_for},
)
