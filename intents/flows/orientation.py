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

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any

from rapidfuzz import fuzz, process

from intents import chatter
from intents.answers import topic_button, topic_reply
from intents.commands import EVERYONE, CommandSpec, Line
from intents.context import Context
from intents.flows import feedback
from intents.i18n import N_, Texts, texts
from intents.messages import Button, Reply, rows
from intents.payloads import OneOf, Payload
from intents.router import CommandButton, Flow
from intents.steps import FlowStep
from knowledge.languages import LANGUAGES
from knowledge.matcher import Matcher
from knowledge.normalize import Normalizer, fold

# A typed answer this close to a label (rapidfuzz ratio of the folded texts) is that label:
# one wrong letter in "con control" (90.9), not "sin control" against "con control" (81.8).
TYPO_SIMILARITY = 88.0


class Step(FlowStep, flow="orientation"):
    """The questions, in the order they may come."""

    SITUATION = "situation"
    ENTRY = "entry"
    FAMILY = "family"
    JOB = "job"


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
QUESTIONS: dict[Step, Question] = {
    Step.SITUATION: Question(
        N_(
            "Orientación, pregunta 1. ¿Alguna de estas describe tu situación (o la de la persona "
            "por quien preguntas)?"
        ),
        (("minor", N_("Menor de 18 años")), ("fear", N_("Temo volver")), ("none", N_("Ninguna"))),
    ),
    Step.ENTRY: Question(
        N_(
            "Orientación, pregunta 2. ¿Cómo entraste a Chile? Por un paso habilitado (con control "
            "de la PDI en la frontera o el aeropuerto) o por un paso no habilitado (sin control)."
        ),
        (("border", N_("Con control")), ("irregular", N_("Sin control"))),
    ),
    Step.FAMILY: Question(
        N_(
            "Orientación, pregunta 3. ¿Tienes un hijo o hija, cónyuge o conviviente civil que sea "
            "chileno o chilena, o que tenga residencia definitiva?"
        ),
        (("yes", N_("Sí")), ("no", N_("No"))),
    ),
    Step.JOB: Question(
        N_(
            "Orientación, pregunta 4. ¿Tienes una oferta de trabajo formal de un empleador en Chile?"
        ),
        (("yes", N_("Sí")), ("no", N_("No"))),
    ),
}
FIRST_STEP = Step.SITUATION
# Every answer key of every question, "No sé" included.
ANSWERS = frozenset({UNSURE} | {key for q in QUESTIONS.values() for key, _ in q.answers})

# A "No sé" keeps the orientation going; the topic it leaves open is offered at the end.
UNSURE_TOPICS = {
    Step.SITUATION: "reg.refugio",
    Step.ENTRY: "reg.ingreso_irregular",
    Step.FAMILY: "reg.rt_familia",
    Step.JOB: "reg.rt_trabajo",
}


class Start(Payload, prefix="ori:start"):
    """Start (or restart) the orientation."""


class Leave(Payload, prefix="ori:exit"):
    """Leave the orientation."""


class Answer(Payload, prefix="ori"):
    """One of a question's answers, or "No sé" ("ori:entry:border", "ori:job:nose")."""

    step: Step
    answer: Annotated[str, OneOf(ANSWERS)]

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.answer != UNSURE and self.answer not in dict(QUESTIONS[self.step].answers):
            raise ValueError(f"{self.answer!r} does not answer {self.step}")


def decide(step: Step, answer: str) -> Step | tuple[str, ...]:
    """The next step, or the topics that fit (the first one is answered): the table of the
    orientation, kept pure so every branch is tested directly."""
    if step == Step.SITUATION:
        if answer == "minor":
            return ("reg.nna", "derechos.educacion", "derechos.salud")
        if answer == "fear":
            return ("reg.refugio", "contacto.sermig")
        return Step.ENTRY
    if step == Step.ENTRY:
        if answer == "irregular":
            return ("reg.ingreso_irregular", "reg.nna", "reg.refugio")
        return Step.FAMILY
    if step == Step.FAMILY:
        if answer == "yes":
            return ("reg.rt_familia", "reg.como_postular", "reg.documentos")
        return Step.JOB
    if step == Step.JOB:
        if answer == "yes":
            return ("reg.rt_trabajo", "reg.como_postular", "reg.documentos")
        return ("reg.residencia_temporal", "reg.mercosur", "reg.ingreso_visa")
    raise ValueError(step)


def start_button(t: Texts) -> Button:
    return Start().button(t._("Guíame según mi caso"))


def with_start_button(ctx: Context, reply: Reply) -> Reply:
    """The reply with the orientation offered as its first button."""
    return replace(reply, buttons=((start_button(ctx.t),), *reply.buttons))


# Broad "how do I get my papers?" questions start the orientation at once (product.md,
# "Orientation"): a message that names papers or regularizing and otherwise only greets, says
# who is asking ("mwen se ayisyen", "soy venezolana") or asks in general words (get, need,
# how, help, here). "Qué papeles necesito para la definitiva" names something else: answered.
# The words that make a question broad, as written (folded): papers, regularizing, staying in
# Chile. Not their lexicon token: "papeles" shares it with "antecedentes" and "requisitos",
# which ask for something precise.
_PAPERS = re.compile(
    r"\b(?:papeles|papel|papers|paper|papiers|papier|papye|regulariz\w*|regularis\w*|"
    r"regilariz\w*|legaliz\w*|(?:quedarme|quedarnos|quedar|stay|rete|rester)\b.*\b(?:chile|chili))\b"
)
_GENERIC_WORDS = """
    sacar saco saca obtener obtengo conseguir consigo tener tengo arreglar arreglo tramitar
    jwenn gen fe fè ranje avoir obtenir get got obtain sort
    need necesito necesita bezwen besoin quiero queria want vle veux voudrais
    ayuda ayudar ayudame help aide aider ede hacer hago faire do
    chile chili aca aqui here isit ici legal legales legalmente mis my mes mwen todo todos all
    pasos paso steps etapes etap empezar start commencer komanse situacion situation sitiyasyon
    saber know savoir konnen konn quisiera gustaria like would voudrais ed
    llevo llevamos hace desde been depuis since ete gen
    anos ano years year ans an lane ane meses mes months month mois mwa semanas semana weeks
    week semaines semaine dias dia days day jours jour jou
    """


@cache
def _broad_vocabulary(normalizer: Normalizer) -> tuple[frozenset[str], frozenset[str]]:
    """The tokens a broad question may have besides what makes it broad, and the tokens of
    thanks (a thanks after it is no question: "¡gracias! ya tengo mis papeles")."""
    about = frozenset(normalizer.tokens("papeles regularizar quedarme rete rester stay"))
    besides = frozenset(normalizer.tokens(_GENERIC_WORDS)) | chatter.who_tokens_of(normalizer)
    thanks = frozenset(normalizer.tokens("gracias thanks merci mesi"))
    return besides | about, thanks


def broad(matcher: Matcher, text: str) -> bool:
    """A broad "how do I get my papers?" question ("mwen se ayisyen, kijan pou m jwenn papye?",
    "how do I get my papers", "hola, necesito ayuda con mis papeles")."""
    if not _PAPERS.search(fold(text)):
        return False
    # A number says how long they have been here ("llevo 3 años acá"), nothing more.
    tokens = {t for t in matcher.normalizer.tokens(text) if not t.isdigit()}
    allowed, thanks = _broad_vocabulary(matcher.normalizer)
    return not tokens & thanks and tokens <= allowed | matcher.greeting_tokens


async def start(ctx: Context) -> list[Reply]:
    ctx.start_flow(FIRST_STEP, {"unsure": []})
    intro = ctx.t._(
        "Hay varios caminos para tener tus papeles en Chile y cuál te sirve depende de tu "
        "situación. Te haré unas pocas preguntas (4 como máximo); puedes responder «No sé» o "
        "salir cuando quieras."
    )
    return [Reply(intro), _ask(ctx, FIRST_STEP)]


def resume(ctx: Context, step: str, data: dict[str, Any]) -> Reply | None:
    """Back at `step` with its answers so far (after /idioma in the middle): its question
    again, in the conversation's language now; None for a step this version lacks."""
    try:
        at = Step(step)
    except ValueError:
        return None
    ctx.start_flow(at, data)
    return _ask(ctx, at)


def _ask(ctx: Context, step: Step) -> Reply:
    t = ctx.t
    question = QUESTIONS[step]
    buttons = [Answer(step, key).button(t._(label)) for key, label in question.answers]
    buttons.append(Answer(step, UNSURE).button(t._("No sé")))
    buttons.append(Leave().button(t._("Salir")))
    return Reply(t._(question.prompt), rows(buttons, per_row=2))


async def _answer(ctx: Context, step: Step, answer: str) -> list[Reply]:
    data: dict[str, Any] = dict(ctx.user.flow_data or {})
    unsure = [str(x) for x in data.get("unsure", [])]
    if answer == UNSURE:
        unsure.append(step)
    outcome = decide(step, answer)
    if isinstance(outcome, Step):
        ctx.next_step(outcome, {**data, "unsure": unsure})
        return [_ask(ctx, outcome)]
    ctx.end_flow()
    return await _finish(ctx, outcome, unsure)


async def _finish(ctx: Context, topics: tuple[str, ...], unsure: list[str]) -> list[Reply]:
    kb = ctx.services.kb
    main, *others = [topic for topic in topics if topic in kb]
    extra = [UNSURE_TOPICS[Step(step)] for step in unsure if UNSURE_TOPICS[Step(step)] in kb]
    offered = list(dict.fromkeys(topic for topic in [*extra, *others] if topic != main))
    intro = ctx.t._("Según tus respuestas, esto es lo que más te sirve:")
    if unsure:
        # Before the colon's sentence, which announces the answer (after it, the two read
        # "…lo que más te sirve: Como no estabas seguro…": a new-user trial, tenth session).
        intro = (
            ctx.t._("Como no estabas seguro de algo, te dejo también los temas que lo aclaran.")
            + " "
            + intro
        )
    [answer] = await topic_reply(ctx, main)
    buttons = [topic_button(ctx, topic) for topic in offered[:4]]
    buttons.append(topic_button(ctx, "contacto.oficina_municipal"))
    buttons.append(Start().button(ctx.t._("Empezar de nuevo")))
    rated = feedback.under(ctx, replace(answer, buttons=rows(buttons)), main, None)
    return [Reply(intro), rated]


async def restart(ctx: Context, press: Start) -> list[Reply]:
    return await start(ctx)


async def answered(ctx: Context, press: Answer) -> list[Reply]:
    """A press for a step the user is not on (an old message, a replayed button) is
    refused, not applied to the current step."""
    if not ctx.at(press.step):
        return await inactive(ctx)
    return await _answer(ctx, press.step, press.answer)


async def inactive(ctx: Context) -> list[Reply]:
    """The answer to an orientation button that is no longer (or never was) a question."""
    return [
        Reply(
            ctx.t._("Esa pregunta ya no está activa. ¿Empezamos la orientación de nuevo?"),
            rows([start_button(ctx.t), _menu_button(ctx.t)]),
        )
    ]


def _menu_button(t: Texts) -> Button:
    return CommandButton("menu").button(t._("Menú principal"))


async def left(ctx: Context, press: Leave) -> list[Reply]:
    return leave(ctx)


def leave(ctx: Context) -> list[Reply]:
    if ctx.in_flow(Step):
        ctx.end_flow()
    return [
        Reply(
            ctx.t._("Listo, salimos de la orientación. Escribe tu pregunta o usa /menu."),
            rows([_menu_button(ctx.t)]),
        )
    ]


# What people type instead of pressing, folded, besides the buttons' own labels in the four
# languages (`_labels`); anything else is a new question.
TYPED = {
    "yes": ("si", "yes", "wi", "oui"),
    "no": ("no", "non"),
    "none": ("ninguna", "ninguno", "none", "aucune", "aucun", "okenn", "pa gen"),
    "minor": ("menor", "menor de edad", "minor", "mineur", "mineure", "timoun", "minè"),
    "fear": ("miedo", "tengo miedo", "afraid", "peur", "j'ai peur", "m pe", "mwen pe"),
    "border": (
        "aeropuerto",
        "por el aeropuerto",
        "en avion",
        "por la frontera con control",
        "airport",
        "by plane",
        "aeroport",
        "par l'aeroport",
        "ayewopo",
        "nan ayewopo",
        "avyon",
    ),
    "irregular": (
        "paso no habilitado",
        "por paso no habilitado",
        "por trocha",
        "trocha",
        "sin papeles por la frontera",
        "without a check",
        "sans passer par le controle",
        "san pase nan kontwol",
    ),
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


@cache
def _labels(step: Step) -> tuple[dict[str, str], dict[str, str]]:
    """Each answer of a step by what may be typed for it, folded: its button's label in every
    language ("con control", "ak kontwol", "through a check"), and those with the TYPED
    words (matched exactly only)."""
    question = QUESTIONS[step]
    labels: dict[str, str] = {}
    for key, label in [*question.answers, (UNSURE, N_("No sé"))]:
        for lang in LANGUAGES:
            labels.setdefault(fold(texts(lang)._(label)), key)
    said = dict(labels)
    for key, words in TYPED.items():
        if key in said.values():
            for word in words:
                said.setdefault(fold(word), key)
    return labels, said


# A misspelt label is that label only with the same words and the same negation: "no temo
# volver" is not "temo volver", "with a check" not "without a check" (the review of
# 2026-12-07: a close ratio read them backwards).
_NEGATIONS = frozenset("no not sin san pa without sans non ni nunca never".split())


def _misspelt(text: str, labels: dict[str, str]) -> str | None:
    words = text.split()
    negated = _NEGATIONS.intersection(words)
    alike = [
        label
        for label in labels
        if len(label.split()) == len(words) and _NEGATIONS.intersection(label.split()) == negated
    ]
    close = process.extractOne(text, alike, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
    return labels[close[0]] if close is not None else None


async def typed(ctx: Context) -> list[Reply]:
    """A step's answer typed: a number picks that option; a button's label in any of the four
    languages, a close misspelling of one ("con contro"), or a usual way to say it ("sí", "no
    sé", "por el aeropuerto") answers; anything else leaves the orientation and is read as a
    question. (Before, a typed label was read as a question: "con control" was answered with
    the page for those who entered without control.)"""
    step = Step(ctx.user.flow_step or "")  # the router calls this for the flow's steps only
    question = QUESTIONS[step]
    keys = [key for key, _ in question.answers] + [UNSURE]
    text = fold(ctx.text)
    answer = None
    if text.isdigit() and 1 <= int(text) <= len(keys):
        answer = keys[int(text) - 1]
    elif text:
        labels, said = _labels(step)
        answer = said.get(text)
        if answer is None and len(text) >= 5:
            answer = _misspelt(text, labels)
    if answer is not None:
        return await _answer(ctx, step, answer)
    ctx.end_flow()
    if ctx.ask is None:
        raise RuntimeError("orientation step outside the engine: no question handler")
    return await ctx.ask(ctx)


FLOW = Flow(
    name=Step.flow,
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
    buttons={Start: restart, Leave: left, Answer: answered},
    unknown_button=inactive,
    steps={step: typed for step in Step},
)
