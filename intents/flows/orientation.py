"""/papeles: a guided orientation for the broad "how do I get my papers?" questions.

At most four questions with buttons, each with a "No sé", end in the topic answer that fits
and the other topics worth reading. The first question is decisive for two groups (a child or
adolescent; someone afraid to go back) whose path depends on nothing else, so theirs ends
there; the others answer two to four. The state lives in the user's row (restart-safe); it can
be left at any step with the "Salir" button, /cancelar, or by typing another question.

Entry points (what a user finds natural): the command `/papeles` (also the bare words
"papeles", "papers", "papye", "papiers", "orientación"); a "Guíame según mi caso" button first
under the broad regularization answers (ENTRY_TOPICS) and first among the suggestions when a
question is unclear but about regularization; and first in the menu's regularization section.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from intents.answers import topic_button, topic_reply
from intents.commands import EVERYONE, CommandSpec, Line
from intents.context import Context
from intents.flows import feedback
from intents.i18n import N_, Texts
from intents.messages import Button, Reply, rows
from intents.router import Flow
from knowledge.normalize import fold

PREFIX = "ori"
FLOW_NAME = "orientation"

# Answers to broad questions: the orientation is offered first under them.
ENTRY_TOPICS = frozenset(
    {
        "reg.tipos_permiso",
        "reg.como_postular",
        "reg.residencia_temporal",
        "reg.ingreso_irregular",
        "reg.documentos",
    }
)


@dataclass(frozen=True)
class Question:
    """One step: its prompt and its answers (key, label msgid); "nose" is always offered."""

    prompt: str
    answers: tuple[tuple[str, str], ...]


UNSURE = "nose"
QUESTIONS: dict[str, Question] = {
    "situation": Question(
        N_(
            "Orientación, pregunta 1. ¿Alguna de estas describe tu situación (o la de la persona "
            "por quien preguntas)?"
        ),
        (("minor", N_("Menor de 18 años")), ("fear", N_("Temo volver")), ("none", N_("Ninguna"))),
    ),
    "entry": Question(
        N_(
            "Orientación, pregunta 2. ¿Cómo entraste a Chile? Por un paso habilitado (con control "
            "de la PDI en la frontera o el aeropuerto) o por un paso no habilitado (sin control)."
        ),
        (("border", N_("Con control")), ("irregular", N_("Sin control"))),
    ),
    "family": Question(
        N_(
            "Orientación, pregunta 3. ¿Tienes un hijo o hija, cónyuge o conviviente civil que sea "
            "chileno o chilena, o que tenga residencia definitiva?"
        ),
        (("yes", N_("Sí")), ("no", N_("No"))),
    ),
    "job": Question(
        N_(
            "Orientación, pregunta 4. ¿Tienes una oferta de trabajo formal de un empleador en Chile?"
        ),
        (("yes", N_("Sí")), ("no", N_("No"))),
    ),
}
FIRST_STEP = "situation"

# A "No sé" keeps the orientation going; the topic it leaves open is offered at the end.
UNSURE_TOPICS = {
    "situation": "reg.refugio",
    "entry": "reg.ingreso_irregular",
    "family": "reg.rt_familia",
    "job": "reg.rt_trabajo",
}


def decide(step: str, answer: str) -> str | tuple[str, ...]:
    """The next step's name, or the topics that fit (the first one is answered): the table
    of the orientation, kept pure so every branch is tested directly."""
    if step == "situation":
        if answer == "minor":
            return ("reg.nna", "derechos.educacion", "derechos.salud")
        if answer == "fear":
            return ("reg.refugio", "contacto.sermig")
        return "entry"
    if step == "entry":
        if answer == "irregular":
            return ("reg.ingreso_irregular", "reg.nna", "reg.refugio")
        return "family"
    if step == "family":
        if answer == "yes":
            return ("reg.rt_familia", "reg.como_postular", "reg.documentos")
        return "job"
    if step == "job":
        if answer == "yes":
            return ("reg.rt_trabajo", "reg.como_postular", "reg.documentos")
        return ("reg.residencia_temporal", "reg.mercosur", "reg.ingreso_visa")
    raise ValueError(step)


def start_button(t: Texts) -> Button:
    return Button(t._("Guíame según mi caso"), f"{PREFIX}:start")


def with_start_button(ctx: Context, reply: Reply) -> Reply:
    """The reply with the orientation offered as its first button."""
    return replace(reply, buttons=((start_button(ctx.t),), *reply.buttons))


async def start(ctx: Context) -> list[Reply]:
    ctx.start_flow(FLOW_NAME, FIRST_STEP, {"unsure": []})
    intro = ctx.t._(
        "Hay varios caminos para tener tus papeles en Chile y cuál te sirve depende de tu "
        "situación. Te haré unas pocas preguntas (4 como máximo); puedes responder «No sé» o "
        "salir cuando quieras."
    )
    return [Reply(intro), _ask(ctx, FIRST_STEP)]


def _ask(ctx: Context, step: str) -> Reply:
    t = ctx.t
    question = QUESTIONS[step]
    buttons = [Button(t._(label), f"{PREFIX}:{step}:{key}") for key, label in question.answers]
    buttons.append(Button(t._("No sé"), f"{PREFIX}:{step}:{UNSURE}"))
    buttons.append(Button(t._("Salir"), f"{PREFIX}:exit"))
    return Reply(t._(question.prompt), rows(buttons, per_row=2))


async def _answer(ctx: Context, step: str, answer: str) -> list[Reply]:
    data: dict[str, Any] = dict(ctx.user.flow_data or {})
    unsure = [str(x) for x in data.get("unsure", [])]
    if answer == UNSURE:
        unsure.append(step)
    outcome = decide(step, answer)
    if isinstance(outcome, str):
        ctx.next_step(outcome, {**data, "unsure": unsure})
        return [_ask(ctx, outcome)]
    ctx.end_flow()
    return await _finish(ctx, outcome, unsure)


async def _finish(ctx: Context, topics: tuple[str, ...], unsure: list[str]) -> list[Reply]:
    kb = ctx.services.kb
    main, *others = [topic for topic in topics if topic in kb]
    extra = [UNSURE_TOPICS[step] for step in unsure if UNSURE_TOPICS[step] in kb]
    offered = list(dict.fromkeys(topic for topic in [*extra, *others] if topic != main))
    intro = ctx.t._("Según tus respuestas, esto es lo que más te sirve:")
    if unsure:
        intro += " " + ctx.t._(
            "Como no estabas seguro de algo, te dejo también los temas que lo aclaran."
        )
    [answer] = await topic_reply(ctx, main)
    buttons = [topic_button(ctx, topic) for topic in offered[:4]]
    buttons.append(topic_button(ctx, "contacto.oficina_municipal"))
    buttons.append(Button(ctx.t._("Empezar de nuevo"), f"{PREFIX}:start"))
    rated = feedback.under(ctx, replace(answer, buttons=rows(buttons)), main, None)
    return [Reply(intro), rated]


async def pressed(ctx: Context) -> list[Reply]:
    """ori:start, ori:exit, ori:STEP:ANSWER. A press for a step the user is not on (an old
    message, a replayed button) is refused, not applied to the current step."""
    if ctx.args == "start":
        return await start(ctx)
    if ctx.args == "exit":
        return leave(ctx)
    step, _, answer = ctx.args.partition(":")
    question = QUESTIONS.get(step)
    valid = question is not None and answer in {key for key, _ in question.answers} | {UNSURE}
    if not valid or ctx.user.flow != FLOW_NAME or ctx.user.flow_step != step:
        return [
            Reply(
                ctx.t._("Esa pregunta ya no está activa. ¿Empezamos la orientación de nuevo?"),
                rows([start_button(ctx.t), Button(ctx.t._("Menú principal"), "cmd:menu")]),
            )
        ]
    return await _answer(ctx, step, answer)


def leave(ctx: Context) -> list[Reply]:
    if ctx.user.flow == FLOW_NAME:
        ctx.end_flow()
    return [
        Reply(
            ctx.t._("Listo, salimos de la orientación. Escribe tu pregunta o usa /menu."),
            rows([Button(ctx.t._("Menú principal"), "cmd:menu")]),
        )
    ]


# What people type instead of pressing, folded; anything else is a new question.
TYPED = {
    "yes": ("si", "yes", "wi", "oui"),
    "no": ("no", "non"),
    UNSURE: (
        "no se",
        "nose",
        "no lo se",
        "m pa konnen",
        "mwen pa konnen",
        "je ne sais pas",
        "je sais pas",
        "i don't know",
        "i dont know",
    ),
}


async def typed(ctx: Context) -> list[Reply]:
    """A step's answer typed: a number picks that option, "sí"/"no"/"no sé" in any of the
    four languages answer; anything else leaves the orientation and is read as a question."""
    step = ctx.user.flow_step or ""
    question = QUESTIONS[step]
    keys = [key for key, _ in question.answers] + [UNSURE]
    text = fold(ctx.text)
    answer = None
    if text.isdigit() and 1 <= int(text) <= len(keys):
        answer = keys[int(text) - 1]
    else:
        for key, words in TYPED.items():
            if key in keys and text in {fold(w) for w in words}:
                answer = key
    if answer is not None:
        return await _answer(ctx, step, answer)
    ctx.end_flow()
    if ctx.ask is None:
        raise RuntimeError("orientation step outside the engine: no question handler")
    return await ctx.ask(ctx)


FLOW = Flow(
    name=FLOW_NAME,
    commands=(
        CommandSpec(
            "papeles",
            start,
            roles=EVERYONE,
            help=Line(N_("/papeles – preguntas para saber qué permiso te sirve"), 20),
            words={
                "es": ("orientacion",),
                "en": ("orientation", "papers"),
                "fr": ("orientation", "papiers"),
                "ht": ("papye",),
            },
            menu=Line(N_("Qué permiso te sirve: orientación"), 30),
        ),
    ),
    buttons={PREFIX: pressed},
    steps={step: typed for step in QUESTIONS},
)
