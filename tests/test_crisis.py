"""Someone who writes that they think of ending their life gets a crisis line first (found in
the thirteenth session: the matcher alone read "ya no quiero vivir" as the temporary residence
answer, "I want to kill myself" as a refugee suggestion, "je veux mourir" as travelling while
an application is pending)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intents.crisis import in_crisis
from intents.flows.faq import CRISIS_MESSAGE, CRISIS_TOPIC, SUPPORT_MESSAGE, SUPPORT_TOPICS
from intents.i18n import texts
from knowledge import checks
from knowledge.content import EXAMPLES_DIR
from storage.models import UnansweredQuestion
from tests.conftest import Chat
from tests.fakes.graph_api import ids_of, text_of
from tests.shipped import KB
from tests.test_whatsapp import graph, wa  # noqa: F401  (the WhatsApp fixtures)

CRISIS = {
    "es": [
        "ya no quiero vivir",
        "me quiero matar, no aguanto más",
        "pienso en suicidarme",
        "kiero morir",
        "me qiero matar",
        "no vale la pena vivir",
        "estaría mejor muerto",
        "no quiero estar vivo",  # the final review of the fourteenth session: missed
        "quiero acabar con todo de una vez",
        "quiero terminar con mi vida",
    ],
    "fr": [
        "je veux mourir",
        "j'ai envie de me tuer",
        "je ne veux plus vivre",
        "jveux mourir",
        "j'ai envie d'en finir",
        "plus aucune raison de vivre",
        "je ne veux plus être en vie",
    ],
    "en": [
        "I want to kill myself",
        "i wanna die",
        "I don't want to live anymore",
        "i wanna kms",
        "i feel like ending it",
        "i wish i was dead",
    ],
    "ht": [
        "mwen vle mouri",
        "m ap panse touye tèt mwen",
        "m pa vle viv ankò",
        "mw vle mouri",
        "m pito mouri",
    ],
}
NOT_CRISIS = [
    "me quieren matar en mi país",  # a threat from others: the refugee answer
    "on veut me tuer dans mon pays",
    "they want to kill me back home",
    "yo vle touye m lakay mwen",
    "si me deportan voy a morir de pena",
    "me muero de hambre, donde hay un comedor",
    "m ap mouri grangou",
    "ya no quiero vivir así, sin papeles",  # how one lives, not whether
    "m pa vle viv konsa tout lavi m",
    "I don't want to live here illegally",
    "je ne veux plus vivre caché",
    "quiero vivir en Chile con mi familia",
    # Found by the review of the fourteenth session, caught by the first patterns: threats
    # from others, fear on return, a relative's death, figures of speech, where one lives.
    "mi ex quiere hacerme daño, me amenaza, donde denuncio",
    "mon ex veut me faire du mal",
    "quieren quitarme la vida si vuelvo",
    "los pandilleros quieren acabar con mi vida",
    "ils veulent mettre fin à ma vie",
    "mon mari a envie de me tuer",
    "yo vle mete fen nan lavi m",
    "they want to end my life",
    "si je retourne en Haïti je vais mourir",
    "si m retounen Ayiti m pral mouri",
    "mi hermano se suicidó, puedo viajar al funeral?",
    "my brother committed suicide, can I travel to the funeral?",
    "no quiero vivir más en Chile",
    "je ne veux plus vivre avec la peur",
    "I hurt myself at work, does the insurance cover me without papers?",
    "me quiero morir de la vergüenza",
    "quiero morir en mi país, no aquí",
    "quiero acabar con todo el trámite de una vez",
]


@pytest.mark.parametrize("text", [t for ts in CRISIS.values() for t in ts])
def test_the_writer_s_own_crisis_is_recognised(text):
    assert in_crisis(text)


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_threats_from_others_and_how_one_lives_are_not_a_crisis(text):
    assert not in_crisis(text)


def test_no_realistic_question_of_our_sets_is_read_as_a_crisis():
    """Every question people wrote for us (held-out halves, training examples): none says
    this, so none may lose its answer to the crisis reply."""
    files = [*Path(__file__).with_name("data").glob("*.jsonl"), *EXAMPLES_DIR.glob("*.jsonl")]
    read = [
        json.loads(line)["text"]
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(read) > 5000
    assert [t for t in read if in_crisis(t)] == []


def test_the_crisis_reply_states_only_numbers_the_health_answer_backs_with_evidence():
    """The reply is a catalog message, not content: its numbers (*4141, 131, 24) must be ones
    the health-rights answer states, in every language, where `kb check` wants evidence."""
    topic = KB.topic(CRISIS_TOPIC)
    for lang, entry in topic.entries.items():
        for message in (CRISIS_MESSAGE, SUPPORT_MESSAGE):
            said = texts(lang)._(message)
            assert said != message or lang == "es", f"{lang}: not translated"
            assert {"4141", "131"} <= checks.numbers(said), lang
            assert checks.numbers(said) <= checks.numbers(entry.answer), lang
    claims = " ".join(item.claim for item in topic.evidence)
    assert "*4141" in claims and "131" in claims


@pytest.mark.parametrize("lang", sorted(CRISIS))
async def test_a_crisis_gets_the_line_in_its_own_language_and_is_not_logged(chat: Chat, lang):
    said = CRISIS[lang][0]
    out = await chat.say(said)
    assert "*4141" in out and "131" in out
    assert {"es": "Siento", "fr": "désolé", "en": "sorry", "ht": "regrèt"}[lang] in out
    payloads = [b.payload for b in chat.console._buttons]
    assert payloads == [f"kb:{CRISIS_TOPIC}"]
    assert not any(p.startswith("fb:") for p in payloads)  # no 👍 / 👎 under it
    async with chat.app.sessions() as s:
        logged = (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar()
    assert logged == 0
    out = await chat.press(f"kb:{CRISIS_TOPIC}")  # the health rights, same language
    assert "*4141" in out and KB.topic(CRISIS_TOPIC).entry(lang).answer[:40] in out


async def test_a_question_in_the_same_message_is_one_button_away(chat: Chat):
    said = "ya no quiero vivir, me rechazaron la solicitud de residencia temporal"
    out = await chat.say(said)
    assert "*4141" in out
    payloads = [b.payload for b in chat.console._buttons]
    assert len(payloads) == 2 and payloads[1] == f"kb:{CRISIS_TOPIC}"
    assert payloads[0].startswith("kb:reg."), payloads


async def test_on_whatsapp_a_kreyol_crisis_gets_the_kreyol_line(wa, graph):  # noqa: F811
    phone = "56900000047"
    await wa.say(phone, "bonswa, mwen fatige, mwen vle mouri")
    [sent] = await graph.wait(phone, 1)
    assert text_of(sent) == texts("ht")._(CRISIS_MESSAGE)
    assert ids_of(sent) == [f"kb:{CRISIS_TOPIC}"]
    assert graph.problems == []


async def test_a_crisis_after_a_thumbs_down_is_not_stored_as_feedback(chat: Chat):
    """The feedback step stored "ya no quiero vivir" as what the user was looking for and said
    "Gracias, lo anoté" (the review of the fourteenth session): the guard comes first."""
    from storage.models import AnswerFeedback

    await chat.say("me atienden en el consultorio si no tengo papeles?")
    await chat.press(f"fb:down:{CRISIS_TOPIC}")
    out = await chat.say("ya no quiero vivir")
    assert "*4141" in out and "anoté" not in out
    async with chat.app.sessions() as s:
        rows = list((await s.execute(select(AnswerFeedback))).scalars())
    assert [row.looking_for for row in rows] == [None]
    out = await chat.say("me atienden en el consultorio si no tengo papeles?")
    assert "FONASA" in out  # the step ended: a question again


async def test_a_long_crisis_message_gets_the_line_not_too_long(chat: Chat):
    story = "llegué hace dos años y todo salió mal con los papeles y el trabajo. " * 40
    out = await chat.say(story + "ya no quiero vivir")
    assert len(story) > 2000 and "muy largo" in out  # read up to 2,000 characters
    out = await chat.say("ya no quiero vivir. " + story)
    assert "*4141" in out and "muy largo" not in out


async def test_support_goes_on_after_the_crisis_reply_until_a_clear_question(chat: Chat):
    """After the crisis line, "I have no papers and no money" got "not sure I understood" and
    "who can I talk to" the "no reliable information" fallback, logged (a new-user trial of
    the fourteenth session)."""
    out = await chat.say("I can't take this anymore, I'm thinking of ending it all")
    assert "*4141" in out
    for said in ("I have no papers and no money", "who can I talk to"):
        out = await chat.say(said)
        assert out.startswith(texts("en")._(SUPPORT_MESSAGE)), out
        payloads = [b.payload for b in chat.console._buttons]
        assert {f"kb:{t}" for t in SUPPORT_TOPICS} <= set(payloads), payloads
    async with chat.app.sessions() as s:
        logged = (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar()
    assert logged == 0
    out = await chat.say("can my kids go to school in Chile without papers?")  # clear: answered
    assert "fb:up:derechos.educacion" in [b.payload for b in chat.console._buttons]
    out = await chat.say("who can I talk to")  # support over: the usual reply
    assert not out.startswith(texts("en")._(SUPPORT_MESSAGE))


async def test_support_ends_quietly_after_a_while(app):
    from datetime import UTC, datetime, timedelta

    from intents.engine import Engine
    from intents.messages import Incoming

    clock = [datetime(2026, 12, 8, 10, 0, tzinfo=UTC)]
    engine = Engine(app.sessions, app.engine.services, clock=lambda: clock[0])
    first = await engine.handle(Incoming("console", "77", "77", text="ya no quiero vivir"))
    assert "*4141" in first[0].text
    clock[0] += timedelta(minutes=10)
    support = await engine.handle(Incoming("console", "77", "77", text="no se que hacer"))
    assert support[0].text == texts("es")._(SUPPORT_MESSAGE)
    clock[0] += timedelta(hours=2)
    later = await engine.handle(Incoming("console", "77", "77", text="no se que hacer"))
    assert "*4141" not in later[0].text and "expiró" not in later[0].text


@pytest.mark.parametrize(
    ("said", "lang"),
    [
        ("ya no aguanto más, no tengo papeles y la visa no sale", "es"),
        ("je n'en peux plus, mon titre de séjour est expiré", "fr"),
        ("I can't take it anymore, my visa application was rejected", "en"),
        ("m pa kapab ankò, kanè m ekspire", "ht"),
    ],
)
async def test_distress_gets_a_word_of_care_and_the_line_then_the_answer(app, said, lang):
    """ "ya no aguanto más", "estoy desesperada" got a menu or the answer alone (the second
    new-user trial of the fourteenth session): no crisis reply, but the line first."""
    from intents.crisis import distressed
    from intents.flows.faq import DISTRESS_MESSAGE

    assert distressed(said) and not in_crisis(said)
    chat = Chat(app, user=said[:20], lang=None)
    out = await chat.say(said)
    assert out.startswith(texts(lang)._(DISTRESS_MESSAGE)), out
    assert len(out) > len(texts(lang)._(DISTRESS_MESSAGE)) + 20  # and then the answer
    async with chat.app.sessions() as s:
        logged = (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar()
    assert logged == 0


def test_distress_is_not_read_into_everyday_exasperation():
    from intents.crisis import distressed

    for said in (
        "no puedo más con este trámite",
        "no aguanto más de la espera de la visa",
        "no puedo mas de 90 dias como turista?",  # the final review: read as distress
        "ya no puedo mas pagar el arriendo",
        "I can't go on vacation?",
    ):
        assert not distressed(said), said


async def test_distress_at_a_flow_step_is_not_stored_and_gets_the_line(chat: Chat):
    """ "estoy desesperada, ya no aguanto más" at the 👎 step was stored as what the user
    looked for and answered "Gracias, lo anoté" (the final review of the fourteenth session)."""
    from intents.flows.faq import DISTRESS_MESSAGE
    from storage.models import AnswerFeedback

    await chat.say("me atienden en el consultorio si no tengo papeles?")
    await chat.press(f"fb:down:{CRISIS_TOPIC}")
    out = await chat.say("estoy desesperada, ya no aguanto más")
    assert out.startswith(texts("es")._(DISTRESS_MESSAGE)) and "anoté" not in out
    assert "quedó registrada" not in out  # not logged, so not said to be
    async with chat.app.sessions() as s:
        rows = list((await s.execute(select(AnswerFeedback))).scalars())
        logged = (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar()
    assert [row.looking_for for row in rows] == [None] and logged == 0


async def test_pressing_a_button_during_the_support_keeps_it(chat: Chat):
    await chat.say("ya no quiero vivir")
    await chat.press(f"kb:{CRISIS_TOPIC}")
    out = await chat.say("no se que hacer")
    assert out.startswith(texts("es")._(SUPPORT_MESSAGE)), out
