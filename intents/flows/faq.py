"""Questions in free text: the knowledge base answers, suggests, or says who can help."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from intents import chatter, crisis
from intents.answers import SMALL_TALK, TopicButton, topic_button, topic_reply
from intents.context import Context
from intents.flows import feedback, language, orientation
from intents.flows.menu import main_menu
from intents.i18n import N_
from intents.masking import mask_personal
from intents.messages import Reply, rows
from intents.payloads import Payload
from intents.router import Flow
from intents.steps import FlowStep
from knowledge.matcher import OUT_OF_SCOPE, Match, Matcher, MatchKind
from knowledge.normalize import PLACE, fold, stem
from storage import questions


class Step(FlowStep, flow="faq"):
    SUGGESTED = "suggested"  # suggestions shown; the question kept for the one pressed
    LISTENING = "listening"  # after a crisis reply: what is not a clear question gets support


class NoneOfThese(Payload, prefix="kb:none"):
    """None of the suggested topics: the fallback answer. (A topic's own button,
    "kb:TOPIC", is `answers.TopicButton`.)"""


async def question(ctx: Context) -> list[Reply]:
    text = ctx.text
    if crisis.in_crisis(text[: crisis.READ]):  # "ya no quiero vivir": a crisis line first
        return [crisis_reply(ctx, text)]  # (in a group; in a private chat the engine's guard)
    if not crisis.distressed(text[: crisis.READ]):
        return await _question(ctx, text, log=True)
    # "ya no aguanto más, no tengo papeles": a word of care and the line, then the answer
    # (a new-user trial of the fourteenth session: it got a menu, or the answer alone);
    # not logged, as a crisis is not.
    replies = await _question(ctx, text, log=False)
    return [Reply(ctx.t._(DISTRESS_MESSAGE)), *replies]


DISTRESS_MESSAGE = N_(
    "Siento que estés pasando por un momento tan difícil. Si necesitas hablar con alguien, "
    "el *4141 atiende gratis y de forma confidencial las 24 horas."
)


async def _question(ctx: Context, text: str, *, log: bool) -> list[Reply]:
    if len(text) > ctx.services.max_text:
        return [
            Reply(
                ctx.t._(
                    "Tu mensaje es muy largo ({n} caracteres). Escribe tu pregunta en menos "
                    "de {max} caracteres."
                ).format(n=ctx.t.number(len(text)), max=ctx.t.number(ctx.services.max_text))
            )
        ]
    asked_for = language.requested(text)
    if asked_for is not None:  # "in English please", "habla español?"
        return await language.set_language(ctx, asked_for)
    if orientation.broad(ctx.services.matcher, text):
        return await orientation.start(ctx)  # "kouman pou m jwenn papye?": the guided questions
    if chatter.chatter_only(text):  # "ok", "jajaja": nothing to answer, nothing to log
        return [Reply(ctx.t._("Escribe tu pregunta o usa /menu."), main_menu(ctx).buttons)]
    if chatter.introduces_only(ctx.services.matcher, text):  # "soy venezolana": hello
        return await greet(ctx)
    match = ctx.match if ctx.match is not None else ctx.services.matcher.match(text)
    follow_up = _follow_up(ctx, text, match)
    if follow_up is not None:
        # "y cuánto me sale?", "y Temuco?" right after an answer: read with the question that
        # answer was for (a new-user trial of the tenth session: they got the fallback).
        match, text = follow_up
    ctx.services.observer.matched(match.kind.value)
    lang = ctx.lang  # the conversation's language, this message's included (the engine)
    if match.kind is MatchKind.FULL and match.topic == "bot.saludo":
        return await greet(ctx, match.also)
    if match.kind is MatchKind.FULL and match.topic:
        if follow_up is None:
            replies = await answer(ctx, match.topic)
        else:  # the new message names the comuna asked about; the pair is what was asked
            again = _just_answered(ctx, match.topic)
            topic = ctx.services.kb.topics.get(match.topic)
            dynamic = topic is not None and topic.dynamic
            # "y Temuco?" after Puente Alto's: the comuna's line, not the introduction again.
            replies = await answer(
                ctx, match.topic, ctx.text, remembered=text, brief=again and dynamic
            )
            if again and not dynamic:
                # The same answer again ("cuántos días tengo?", "et pour ma femme ?"): said so,
                # not sent as if new (a new-user trial of the fourteenth session).
                replies.insert(0, Reply(ctx.t._("Lo que tengo sobre eso es lo mismo de antes:")))
        if match.also in ctx.services.kb:
            # Two questions in one message: the main one answered, the other one button away.
            # First, and only once: it may also be one of the answer's related topics (a
            # French fines button twice, a new-user trial of the tenth session).
            first = replies[0]
            other = topic_button(ctx, match.also)
            kept = tuple(
                row
                for row in (
                    tuple(b for b in row if b.payload != other.payload) for row in first.buttons
                )
                if row
            )
            replies[0] = replace(first, buttons=((other,), *kept))
        return replies
    if follow_up is None and names_only_a_place(ctx.services.matcher, text):
        # "puente alto" after the municipal-office answer, which invites it, got "no reliable
        # information" (a new-user trial of the fourteenth session): whether it has the Sello.
        return await answer(ctx, PLACE_TOPIC, asked=text, brief=_just_answered(ctx, PLACE_TOPIC))
    if not worth_logging(text):
        # "0", "?", "👍": nothing the content team could learn from; no "I don't know".
        return [Reply(ctx.t._("Escribe tu pregunta o usa /menu."), main_menu(ctx).buttons)]
    # Kept for the content team without knowing who asked: no user id, and identity
    # numbers, phones and e-mail addresses masked (never a message of distress).
    if log:
        await questions.log_unanswered(
            ctx.session,
            text=mask_personal(text)[0],
            lang=lang,
            channel=ctx.incoming.channel,
            best_topic=match.best,
            score=round(match.score, 4),
            now=ctx.now,
        )
    if match.kind is MatchKind.PARTIAL:
        # Keep the question: a suggestion pressed next is answered with it in mind (a comuna
        # it names, for the dynamic answers).
        ctx.start_flow(Step.SUGGESTED, {"question": text[:500]} if log else {})
        buttons = [topic_button(ctx, topic_id) for topic_id in match.suggestions]
        if any(topic_id.startswith("reg.") for topic_id in match.suggestions):
            # An unclear question about papers: the guided orientation is the best first try.
            buttons.insert(0, orientation.start_button(ctx.t))
        buttons.append(NoneOfThese().button(ctx.t._("Ninguna de estas")))
        return [
            Reply(ctx.t._("No estoy seguro de haber entendido. ¿Te refieres a…?"), rows(buttons))
        ]
    pointer = out_of_scope_pointer(text)
    if not log:  # distress: not kept, so not said to be
        return [fallback(ctx, logged=False)]
    if pointer is not None:  # "visa para estados unidos?": who can tell, then the usual
        usual = fallback(ctx)
        return [replace(usual, text=f"{ctx.t._(pointer)}\n\n{usual.text}")]
    return [fallback(ctx)]


FOLLOW_UP_WORDS = 8  # a follow-up is short: "y cuánto me sale sacarla de nuevo?"
FOLLOW_UP_WITHIN = timedelta(minutes=30)  # ... and comes soon after the answer it follows
FOLLOW_UP_OUT_OF_SCOPE = 0.6  # read as out of scope this surely, a message stays so


# Words that point back at what was just said ("y eso cuánto cuesta?", "konbyen sa koute?",
# "how long does it take?"), folded. A very short message with one, that alone asks only what
# something costs or how long it takes, is about the latest answer: "konbyen sa koute?" after
# the health answer was answered with the migration fees (a new-user trial of the tenth
# session). Only then: "sa", "it", "ça" are also "what", a dummy subject, a possessive, and a
# message that names its own subject or thanks ("mèsi anpil, sa ede m") keeps its own answer
# (a review of the twelfth session found both redirected to the latest answer).
REFERS_BACK = frozenset({"eso", "esto", "ello", "ca", "cela", "ceci", "sa", "that", "it", "this"})
ASKS_ONLY_HOW_MUCH_OR_HOW_LONG = frozenset({"reg.aranceles", "reg.estado_tramite"})
POINTING_WORDS = 5  # "how much does that cost?"; "cuánto cuesta eso de la residencia?" names it


def refers_back(text: str) -> bool:
    words = fold(text).split()
    # Kreyòl "ki sa" is "what", not "that": "ki sa m bezwen pou kanè a?" asks anew.
    return any(
        word in REFERS_BACK and not (word == "sa" and i and words[i - 1] == "ki")
        for i, word in enumerate(words)
    )


# "et pour ma femme qui est au Sénégal ?" right after the family-reunion answer asks the same
# for someone else; alone it read as the women's-support answer (found in the thirteenth
# session). A message that opens by adding someone of the family ("y para mi esposa", "and
# what about my kids", "e pou madanm mwen") is read with the question it follows when that
# pair is about the latest answer; "y para viajar a Perú?" adds a purpose, not a person, and
# keeps its own reading. Folded words.
FOR_SOMEONE_OPENERS = (
    ("y", "para"), ("y", "pa"), ("y", "en", "el", "caso", "de"), ("y",),
    ("et", "pour"), ("et", "dans", "le", "cas", "de"), ("et",),
    ("and", "for"), ("and", "what", "about"), ("what", "about"), ("how", "about"), ("and",),
    ("e", "pou"), ("epi", "pou"), ("e",), ("epi",),
)  # fmt: skip
FAMILY = frozenset(
    """
    esposa esposo marido mujer pareja conyuge hijo hija hijos hijas hijito hijita nino nina
    ninos ninas guagua guaguas bebe mama madre papa padre padres hermano hermana hermanos
    hermanas familia familiares suegra suegro abuela abuelo abuelos nieto nieta sobrino
    sobrina polola pololo novia novio senora
    femme mari epoux epouse conjoint conjointe fils fille filles enfant enfants mere pere
    parents frere freres soeur soeurs famille copine copain
    wife husband spouse partner son sons daughter daughters kid kids child children baby
    mother mom mum father dad parents brother brothers sister sisters family girlfriend
    boyfriend
    madanm pitit timoun piti manman fre fanmi
    """.split()
)
FOR_SOMEONE_WITHIN = 3  # the person comes within three words of the opener: "y para mi esposa"


# "cuántos días tengo?" right after the rejection answer asks that answer's deadline (it got the
# tourist stay's 90 days), "y cuánto cuesta?" after the lost-card answer that card's cost (it
# got the general fee table): a new-user trial of the fourteenth session. A message of a few
# words asking how much, how long or how many is read with the question it follows when that
# pair is about the latest answer. Folded text.
_HOW_MUCH_OR_LONG = re.compile(
    r"\b(?:cuanto|cuanta|cuantos|cuantas|combien|konbyen|kombyen|how (?:much|long|many)|"
    r"plazo|plazos|demora|tarda|delai|delais|"
    # ... or where to go, whom to call ("a dónde llamo?" after the women's-support answer got
    # the fallback: the second trial of the fourteenth session)
    r"donde|adonde|a quien|where|who|ou|qui|kote|kiyes|ki moun)\b"
)


# ... and nothing else: "y cuánto cuesta la prórroga?" names its own subject and keeps its answer.
_BARE_ASK_WORDS = frozenset(
    """
    y e et and epi o ou or pero mais but entonces alors so
    cuanto cuanta cuantos cuantas cuesta cuestan sale salen vale valor costo precio dias dia
    tiempo tengo tiene tenemos demora demoran tarda tardan plazo plazos hay es son el la los las
    me se lo eso esto con en a de para mas o
    combien coute coutent ca cela ce de jours jour temps faut il j ai a est le la les pour delai
    delais prend en donde adonde quien llamo llamar voy ir denuncio denunciar aviso acudo
    where who call go report do should can to ou qui appelle appeler vais aller porte plainte
    dois kote kiyes moun rele ale fe plent
    how much long many days day does do it take takes cost costs i have is the that this for
    time we
    konbyen sa koute jou tan li pran m mwen gen genyen pou ki e
    """.split()
)


def asks_how_much_or_long(text: str) -> bool:
    """Only how much, how long or how many: "cuántos días tengo?", "y cuánto cuesta?"."""
    folded = fold(text)
    return _HOW_MUCH_OR_LONG.search(folded) is not None and all(
        word in _BARE_ASK_WORDS for word in folded.split()
    )


def asks_for_someone(text: str) -> bool:
    words = fold(text).split()
    for opener in FOR_SOMEONE_OPENERS:
        if tuple(words[: len(opener)]) == opener:
            after = words[len(opener) : len(opener) + FOR_SOMEONE_WITHIN]
            return any(word in FAMILY for word in after)
    return False


def _follow_up(ctx: Context, text: str, match: Match) -> tuple[Match, str] | None:
    """A short message the matcher cannot place alone, or one that points back at the latest
    answer to ask what it costs or how long it takes ("y eso cuánto cuesta?"), soon after that
    answer, read together with its question (or, for a pressed topic, its title): the pair's
    match and the pair's text (the new message first: a comuna it names is the one asked
    about), when the pair is clearly about one topic (for a message placed alone: the latest
    answer's); else None."""
    if len(fold(text).split()) > FOLLOW_UP_WORDS or not worth_logging(text):
        # words: a lone "?" is none; "👍" typed re-sent the latest answer (second trial)
        return None
    pointing_back = match.kind is MatchKind.FULL
    short = len(fold(text).split()) <= POINTING_WORDS
    # Asks about the latest answer whatever it reads as alone: the same for someone of the
    # family, or only how much, how long, where or whom ("a dónde llamo?").
    about_latest = asks_for_someone(text) or (short and asks_how_much_or_long(text))
    if (
        pointing_back
        and not (match.topic in ASKS_ONLY_HOW_MUCH_OR_HOW_LONG and short and refers_back(text))
        and not about_latest
    ):
        return None
    last = feedback.latest(ctx)
    if last is None or not last.get("topic") or not _within(ctx, last.get("at"), FOLLOW_UP_WITHIN):
        return None
    before = last.get("question")
    if not before:
        topic = ctx.services.kb.topics.get(str(last["topic"]))
        entry = topic.entries.get(str(last.get("lang") or ctx.lang)) if topic else None
        before = entry.title if entry is not None else None
    if not before:
        return None
    together = f"{text} {before}"
    matcher = ctx.services.matcher
    found = matcher.match(together)
    if found.kind is not MatchKind.FULL or found.topic in SMALL_TALK:
        return None
    if pointing_back:
        # Placed alone, it keeps its own answer unless the pair is about the latest one.
        if found.topic != last["topic"] or found.topic == match.topic:
            return None
        return replace(found, also=None), together
    # Understood alone: a suggestion, a topic read as clearly as a second question would be
    # offered (the PARTIAL floor, 0.18, was too close: "y cuánto me sale sacarla de nuevo"
    # reached 0.19 with the thirteenth round's examples and lost its follow-up reading), or
    # out of scope with conviction ("y para viajar a argentina?": 0.96; the cost follow-up is
    # out of scope at 0.46 only because it says nothing alone).
    out_of_scope = next((s for label, s, _ in matcher.rank(text) if label == OUT_OF_SCOPE), 0.0)
    understood = (
        match.best is not None
        or match.score >= matcher.CLAUSE_OFFER
        or out_of_scope >= FOLLOW_UP_OUT_OF_SCOPE
    )
    if found.topic == last["topic"]:
        # The same answer again only for a message that says nothing alone ("y eso cuánto?")
        # or a comuna for a comuna's answer ("y Temuco?"), not for another question the
        # matcher read as out of scope alone ("y para viajar a Perú?"), but for someone else
        # ("and what about my wife?").
        topic = ctx.services.kb.topics.get(found.topic or "")
        if understood and not (topic is not None and topic.dynamic) and not about_latest:
            return None
    elif match.kind is MatchKind.PARTIAL and found.topic not in match.suggestions:
        return None
    elif match.kind is MatchKind.NONE and understood:
        return None  # out of scope alone: it stays so
    return replace(found, also=None), together


async def greet(ctx: Context, also: str | None = None) -> list[Reply]:
    """A greeting: the greeting with the main menu's buttons, one message (it was the
    greeting with its related buttons, then the menu asking "how can I help?" again: eight
    buttons and the same question twice, a new-user trial of 2026-12-07); a question asked
    with it ("hola, me pueden ayudar con la visa?") is its first button."""
    [hello] = await answer(ctx, "bot.saludo")
    menu = main_menu(ctx).buttons
    if also in ctx.services.kb:
        menu = ((topic_button(ctx, also),), *menu)
    return [Reply(hello.text, menu)]


CRISIS_TOPIC = "derechos.salud"  # its answer carries the same lines, with their evidence
CRISIS_MESSAGE = N_(
    "Siento mucho que estés pasando por esto. No estás solo ni sola.\n"
    "• Si piensas en quitarte la vida, llama ahora al *4141, la línea de prevención "
    "del suicidio del Ministerio de Salud: gratuita, confidencial, las 24 horas.\n"
    "• Si estás en peligro inmediato, llama al SAMU (131) o ve a la urgencia más "
    "cercana: te atienden con o sin papeles.\n"
    "Aquí sigo para tus preguntas cuando quieras."
)


def crisis_reply(ctx: Context, text: str) -> Reply:
    """Someone who says they think of ending their life: the Ministry of Health's crisis line
    and the emergency number, before anything else; the health rights one button away, and a
    question asked in the same message ("ya no quiero vivir, me rechazaron la visa") another.
    The numbers are the ones `CRISIS_TOPIC` states with its evidence (a test holds them
    together). The message is not logged: it is health data about its writer."""
    buttons = [topic_button(ctx, CRISIS_TOPIC)]
    rest = crisis.rest(text[: ctx.services.max_text])  # "ya no quiero vivir" alone: nothing
    match = ctx.services.matcher.match(rest)
    if (
        match.kind is MatchKind.FULL
        and match.topic in ctx.services.kb
        and match.topic not in SMALL_TALK | {CRISIS_TOPIC}
    ):
        buttons.insert(0, topic_button(ctx, match.topic))
    if ctx.incoming.private:  # in a group: the sender's private step is not overwritten
        ctx.start_flow(Step.LISTENING, {"at": ctx.now.isoformat()})
    return Reply(ctx.t._(CRISIS_MESSAGE), rows(buttons))


CRISIS_WITHIN = timedelta(minutes=20)  # the support lasts while the person keeps writing
SUPPORT_MESSAGE = N_(
    "Aquí sigo contigo. Si necesitas hablar con alguien ahora, llama al *4141: es gratuito, "
    "confidencial y atiende las 24 horas; si estás en peligro, al SAMU (131). Para tus papeles "
    "y otras dudas, la oficina municipal de migrantes de tu comuna te puede orientar en "
    "persona. También puedes escribirme tu pregunta con otras palabras."
)
SUPPORT_TOPICS = (CRISIS_TOPIC, "contacto.oficina_municipal")


async def after_crisis(ctx: Context) -> list[Reply]:
    """Step `listening`, right after a crisis reply: a clear question gets its answer (and the
    step ends); anything else ("I have no papers and no money", "who can I talk to", "no sé
    qué hacer") gets the lines again with the people who can help, and whatever the matcher
    half understood as buttons, never "no reliable information" and never logged (a new-user
    trial of the fourteenth session: support ended after the first reply)."""
    data = ctx.user.flow_data or {}
    if not _within(ctx, data.get("at"), CRISIS_WITHIN) or not ctx.text:
        ctx.end_flow()
        return await question(ctx)
    match = ctx.match if ctx.match is not None else ctx.services.matcher.match(ctx.text)
    clear = match.kind is MatchKind.FULL and not (match.topic or "").startswith("bot.")
    if clear or len(ctx.text) > ctx.services.max_text:  # "no sé qué hacer": still support
        ctx.end_flow()
        return await question(ctx)
    offered = [t for t in match.suggestions if t in ctx.services.kb and t not in SMALL_TALK]
    topics = [*offered, *(t for t in SUPPORT_TOPICS if t not in offered)]
    ctx.next_step(Step.LISTENING, {"at": ctx.now.isoformat()})
    return [Reply(ctx.t._(SUPPORT_MESSAGE), rows([topic_button(ctx, t) for t in topics]))]


PLACE_TOPIC = "sello.municipios_adheridos"  # a comuna named alone: is it in the Sello?


def _just_answered(ctx: Context, topic_id: str) -> bool:
    """Whether the user's latest answer, within the follow-up window, was this topic's."""
    last = feedback.latest(ctx)
    return (
        last is not None
        and last.get("topic") == topic_id
        and _within(ctx, last.get("at"), FOLLOW_UP_WITHIN)
    )


def _within(ctx: Context, stamp: object, window: timedelta) -> bool:
    """Whether `stamp`, an ISO time kept in a user's state, is at most `window` ago."""
    try:
        at = datetime.fromisoformat(str(stamp))
    except ValueError:
        return False
    return ctx.now - at <= window


def names_only_a_place(matcher: Matcher, text: str) -> bool:
    """The message is a comuna or region of the directory and nothing else ("Puente Alto",
    "y Temuco?")."""
    tokens = [t for t in matcher.normalizer.tokens(text) if t not in matcher.greeting_tokens]
    return bool(tokens) and all(t == stem(PLACE) for t in tokens)  # as the matcher reads it


def worth_logging(text: str) -> bool:
    """A message with at least one letter and two letters or digits: "0", "?" or an emoji
    alone are not questions for the content team."""
    return any(map(str.isalpha, text)) and sum(map(str.isalnum, text)) >= 2


# What real people ask beyond the assistant's scope (issue 12: other countries' visas, banking
# products, Chilean taxes): each got only the "no reliable information" text (a new-user trial
# of the fourteenth session); a mature assistant says who can tell. Folded text; a message is
# read so only once the matcher has judged it out of scope.
_FOREIGN_VISA = re.compile(r"\b(?:visa|visas|visado|visados|vize|viza)\b")
_ANOTHER_COUNTRY = re.compile(
    # a country the visa is for: "visa para estados unidos", "a visa for canada", "visa pou
    # kanada" (not "mi mamá que vive en Argentina": she may be coming to Chile)
    r"\b(?:para|pa|a|al|to|for|pour|aux|au|pou|de|del|d)\s+"
    r"(?:(?:ir|viajar|travel|go|aller|ale|vwayaje)\s+(?:a|al|to|en|au|aux|nan)\s+)?"
    r"(?:le |la |l |los |the )?"
    r"(?:estados unidos|eeuu|ee uu|united states|etats unis|ozetazini|etazini|canada|"
    r"kanada|espana|spain|espagne|mexico|argentina|peru|brasil|brazil|bresil|europa|europe|"
    r"schengen|francia|france|lafrans|reino unido|united kingdom|uk|inglaterra|england|"
    r"australia|alemania|germany|allemagne|italia|italy|italie|japon|japan|china)\b"
)
_TAXES = re.compile(
    r"\b(?:impuesto\w*|sii|boletas? de honorarios|declaracion de renta|operacion renta|tax|"
    r"taxes|income tax|impots?|enpo|taks)\b"
)
_CREDIT = re.compile(
    r"\b(?:prestamo\w*|loan\w*|credit cards?|hipotec\w*|mortgage\w*|tarjetas? de credito|"
    r"credito (?:de consumo|hipotecario|bancario|automotriz)|(?:pedir|sacar|solicitar) un credito)\b"
)
# A visa to come to Chile is in scope: "visa para mi mamá que vive en Argentina", "qué visa
# necesita para venir" (the review of the fourteenth session).
_TO_CHILE = re.compile(r"\b(?:chile|chili|venir|vengan|entrar|come|enter|vini|antre)\b")
OUT_OF_SCOPE_POINTERS = (
    (
        lambda folded: bool(
            _FOREIGN_VISA.search(folded)
            and _ANOTHER_COUNTRY.search(folded)
            and not _TO_CHILE.search(folded)
        ),
        N_(
            "Las visas para viajar a otro país las decide ese país: consulta su embajada o "
            "consulado. Yo oriento sobre los trámites migratorios en Chile."
        ),
    ),
    (
        lambda folded: bool(_TAXES.search(folded)),
        N_("Los impuestos en Chile los ve el Servicio de Impuestos Internos (SII)."),
    ),
    (
        lambda folded: bool(_CREDIT.search(folded)),
        N_(
            "Créditos, préstamos y tarjetas los decide cada banco o institución financiera: "
            "pregunta directamente allí."
        ),
    ),
)


def out_of_scope_pointer(text: str) -> str | None:
    """Who can tell, for an out-of-scope question of a kind people often ask; else None."""
    folded = fold(text)
    return next((message for applies, message in OUT_OF_SCOPE_POINTERS if applies(folded)), None)


def fallback(ctx: Context, *, logged: bool = True) -> Reply:
    if not logged:
        return Reply(
            ctx.t._(
                "No tengo información confiable sobre eso. Puedo orientarte sobre regularización "
                "migratoria, tus derechos en Chile (salud, escuela) y el Sello Migrante. Para "
                "otras consultas: ChileAtiende (101) o https://serviciomigraciones.cl."
            ),
            main_menu(ctx).buttons,
        )
    return Reply(
        ctx.t._(
            "No tengo información confiable sobre eso. Puedo orientarte sobre regularización "
            "migratoria, tus derechos en Chile (salud, escuela) y el Sello Migrante. Para otras "
            "consultas: ChileAtiende (101) o https://serviciomigraciones.cl. Tu pregunta quedó "
            "registrada para mejorar mis respuestas."
        ),
        main_menu(ctx).buttons,
    )


def _asked(ctx: Context) -> str | None:
    """The question the suggestions were for, if they were just shown (the step ends)."""
    if not ctx.in_flow(Step) or ctx.user.flow_step != Step.SUGGESTED:
        return None  # the crisis support goes on under a pressed button
    asked = (ctx.user.flow_data or {}).get("question")
    ctx.end_flow()
    return asked


async def topic_pressed(ctx: Context, press: TopicButton) -> list[Reply]:
    asked = _asked(ctx)
    if press.topic not in ctx.services.kb:
        return await stale(ctx)
    return await answer(ctx, press.topic, asked=asked)


async def none_pressed(ctx: Context, press: NoneOfThese) -> list[Reply]:
    _asked(ctx)
    return [fallback(ctx)]


async def stale(ctx: Context) -> list[Reply]:
    """A topic button this version does not have (a topic removed since it was sent)."""
    _asked(ctx)
    return [Reply(ctx.t._("Ese botón ya no está disponible."), main_menu(ctx).buttons)]


async def answer(
    ctx: Context,
    topic_id: str,
    asked: str | None = None,
    remembered: str | None = None,
    *,
    brief: bool = False,
) -> list[Reply]:
    """A topic's answer (`brief`: a dynamic topic's own part only, its text just sent);
    under the broad regularization answers, the orientation first; under every full answer
    but small talk, the 👍 / 👎 row (and `remembered`, else the question, kept for it: a
    follow-up is remembered with the question it followed)."""
    replies = await topic_reply(ctx, topic_id, asked=asked, brief=brief)
    if topic_id in orientation.ENTRY_TOPICS:
        replies[0] = orientation.with_start_button(ctx, replies[0])
    if topic_id not in SMALL_TALK:
        question = remembered or asked or ctx.text or None
        replies[0] = feedback.under(ctx, replies[0], topic_id, question)
    return replies


async def after_suggestions(ctx: Context) -> list[Reply]:
    """Step `suggested`: the user typed instead of choosing: a new question."""
    ctx.end_flow()
    return await question(ctx)


FLOW = Flow(
    name=Step.flow,
    buttons={TopicButton: topic_pressed, NoneOfThese: none_pressed},
    unknown_button=stale,
    steps={Step.SUGGESTED: after_suggestions, Step.LISTENING: after_crisis},
)
