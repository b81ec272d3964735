"""Free-text questions in the FAQ flow (issue 12, item 5): two questions in one message."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from intents.answers import MAX_MESSAGE, SMALL_TALK, _footer
from intents.i18n import texts
from storage.models import UnansweredQuestion, User
from tests.conftest import Chat
from tests.shipped import KB, MATCHER

TWO = (
    "hola, se me vencio el carnet, como lo renuevo. y tambien quiero saber si puedo "
    "trabajar con la solicitud en tramite"
)


def _payloads(chat: Chat) -> list[str]:
    return [b.payload for b in chat.console._buttons]


async def test_two_questions_answer_the_main_one_and_offer_the_other_as_a_button(chat: Chat):
    await chat.say(TWO)
    payloads = _payloads(chat)
    assert payloads[0] == "kb:reg.trabajo_en_tramite"  # the other question, first
    assert "fb:up:reg.cedula_vencida" in payloads  # the main one was answered
    out = await chat.press("kb:reg.trabajo_en_tramite")
    assert "fb:up:reg.trabajo_en_tramite" in _payloads(chat) and out


async def test_the_other_question_is_offered_once_when_it_is_also_a_related_topic(chat: Chat):
    """The French fines button came twice: offered as the other question and as a related
    topic of the overstay answer (a new-user trial, tenth session)."""
    said = "je suis entré comme touriste il y a 1 an et mon visa a expiré. jai une amende?"
    found = MATCHER.match(said)
    if found.also is None or found.also not in KB.topic(found.topic).related:
        pytest.fail(f"the matcher changed: pick another pair ({found})")
    await chat.say(said)
    payloads = _payloads(chat)
    assert payloads[0] == f"kb:{found.also}" and payloads.count(f"kb:{found.also}") == 1


LOST = "perdi mi carnet, como saco otro?"


async def test_a_short_follow_up_is_read_with_the_question_it_follows(chat: Chat):
    """ "y cuánto me sale sacarla de nuevo", "y Temuco?" right after an answer got the fallback
    and were logged as unanswered (a new-user trial, tenth session)."""
    topic = MATCHER.match(LOST).topic
    follow = "y cuanto me sale sacarla de nuevo"
    if topic is None or MATCHER.match(follow).best is not None:
        pytest.fail("the matcher changed: pick another pair")
    await chat.say(LOST)
    await chat.say(follow)
    assert f"fb:up:{topic}" in _payloads(chat)
    await chat.say("Quilicura tiene el sello?")
    out = await chat.say("y Temuco?")
    assert "Temuco no figura en nuestro directorio" in out
    out = await chat.say("y Recoleta?")  # the follow-up of a follow-up
    assert "Recoleta no figura" in out
    async with chat.app.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar() == 0


async def test_a_follow_up_is_not_another_question_nor_late(chat: Chat):
    await chat.say(LOST)
    out = await chat.say("y para viajar a peru?")  # another question: not the ID card again
    # Its own reading: out of scope narrowly, so a travel topic offered as "did you mean…?"
    # (the scope SVM's second opinion, thirteenth session), or, by a wider margin since the
    # twentieth round's examples (0.11 over the 0.1 doubt), the fallback: never the ID card.
    assert "¿Te refieres a…?" in out or "No tengo información confiable" in out
    assert not [p for p in _payloads(chat) if p.endswith("reg.cedula_duplicado")]
    # Out of scope with conviction but with a weak topic reading (0.36, under the 0.4 that
    # made a follow-up "understood": a review of the eleventh session).
    await chat.say(LOST)
    out = await chat.say("y para viajar a argentina?")
    assert "No tengo información confiable" in out
    await chat.say(LOST)
    async with chat.app.sessions() as s, s.begin():
        user = (await s.execute(select(User).where(User.external_id == "1"))).scalar_one()
        recent = user.last_answer["recent"]
        old = datetime.fromisoformat(recent[0]["at"]) - timedelta(minutes=31)
        user.last_answer = {"recent": [{**recent[0], "at": old.isoformat()}, *recent[1:]]}
    out = await chat.say("y cuanto me sale sacarla de nuevo")  # half an hour later
    assert "No tengo información confiable" in out


@pytest.mark.parametrize(
    ("health", "follow"),
    [
        ("eske m ka ale lopital si m pa gen papye?", "konbyen sa koute?"),
        ("puedo ir al consultorio sin papeles?", "y eso cuánto cuesta?"),
        ("est-ce que je peux aller à l'hôpital sans papiers ?", "et ça coûte combien ?"),
        ("can I see a doctor without papers?", "how much does that cost?"),
    ],
)
async def test_a_follow_up_that_points_back_is_about_the_latest_answer(chat: Chat, health, follow):
    """ "konbyen sa koute?" after the health answer got the migration fees: placed alone, a
    cost question is the fees' (a new-user trial of the tenth session). A short message that
    points back ("sa", "eso", "ça", "that") is read with the question it follows."""
    assert MATCHER.match(health).topic == "derechos.salud"
    alone = MATCHER.match(follow)
    assert alone.topic == "reg.aranceles"  # what it gets alone, and without a latest answer
    await chat.say(follow)
    assert _answered(chat) == {"reg.aranceles"}
    await chat.say(health)
    await chat.say(follow)
    assert _answered(chat) == {"derechos.salud"}


@pytest.mark.parametrize(
    ("health", "said"),
    [
        ("eske m ka ale lopital si m pa gen papye?", "ki sa m bezwen pou kanè a?"),  # "what"
        ("eske m ka ale lopital si m pa gen papye?", "mèsi anpil, sa ede m"),  # thanks
        ("eske m ka ale lopital si m pa gen papye?", "sa k fè sello migrante a?"),
        ("eske m ka ale lopital si m pa gen papye?", "konbyen sa koute pou m fè kat idantite?"),
        ("puedo ir al consultorio sin papeles?", "gracias, eso me sirvió mucho"),
        ("puedo ir al consultorio sin papeles?", "que es el sello migrante? sirve eso?"),
        ("puedo ir al consultorio sin papeles?", "y cuánto cuesta la prórroga?"),
        ("can I see a doctor without papers?", "thanks a lot, that helps!"),
        ("can I see a doctor without papers?", "is it possible to get a work visa?"),
        ("est-ce que je peux aller à l'hôpital sans papiers ?", "merci, ça m'aide beaucoup"),
    ],
)
async def test_a_message_of_its_own_keeps_its_answer_after_another(chat: Chat, health, said):
    """Thanks, and questions that name their own subject, are not the latest answer again
    even with "sa", "eso", "it", "ça" in them (a review of the twelfth session: 24 of 47 such
    pairs got the previous answer)."""
    alone = MATCHER.match(said)
    assert alone.topic not in (None, "derechos.salud")
    await chat.say(health)
    out = await chat.say(said)
    assert "derechos.salud" not in _answered(chat)
    if alone.topic in SMALL_TALK:
        assert "fb:up:" not in " ".join(_payloads(chat)) and out


async def test_one_question_offers_no_other(chat: Chat):
    await chat.say("se me vencio el carnet, como lo renuevo?")
    payloads = _payloads(chat)
    assert "fb:up:reg.cedula_vencida" in payloads
    assert "kb:reg.trabajo_en_tramite" not in payloads


# The review of 2026-12-07 (issue 12, item 5): messages as people write them.


def _answered(chat: Chat) -> set[str]:
    return {p.split(":")[2] for p in _payloads(chat) if p.startswith("fb:up:")}


def _offered(chat: Chat) -> set[str]:
    return {p.removeprefix("kb:") for p in _payloads(chat) if p.startswith("kb:")}


@pytest.mark.parametrize(
    ("said", "topic"),
    [
        ("Bonjou, kijan pou m fè kanè a?", "reg.cedula"),
        ("ok gracias, y cuanto demora la cedula?", "reg.cedula"),
        ("buenas tardes, como saco el carnet", "reg.cedula"),
        ("hola, cuánto demora el carnet?", "reg.cedula"),  # unclear: offered, not answered
        ("thanks! and how long does the ID card take?", "reg.cedula"),
    ],
)
async def test_a_greeting_or_thanks_before_a_question_does_not_hide_it(app, said, topic):
    """The greeting's words outweighed the question's: only the greeting (or "you're
    welcome") came back. Now the question is answered, or (unclear) one press away."""
    chat = Chat(app, user=said[:20], lang=None)
    await chat.say(said)
    assert topic in _answered(chat) | _offered(chat)


@pytest.mark.parametrize("said", ["hola", "buenas tardes", "muchas gracias por la información"])
async def test_a_greeting_alone_is_still_a_greeting(said):
    assert MATCHER.match(said).topic in ("bot.saludo", "bot.gracias")


@pytest.mark.parametrize(
    ("said", "main", "other"),
    [
        (
            "Can I see a doctor without papers? Also how do I apply for refuge?",
            "derechos.salud",
            "reg.refugio",
        ),
        (
            "Eske pitit mwen ka ale lekòl? Epi konbyen kanè a koute?",
            "derechos.educacion",
            "reg.aranceles",
        ),
        ("mi hijo puede ir al colegio? y como pido refugio?", "derechos.educacion", "reg.refugio"),
    ],
)
async def test_two_questions_in_sentences_answer_one_and_offer_the_other(app, said, main, other):
    """The second sentence was dropped when it was a little unclear on its own, and a
    message of two clear sentences that was unclear as a whole got only suggestions. Which one
    is answered is the whole message's reading (since the training examples, the Spanish one
    reads as a refuge question first); the other is one press away."""
    chat = Chat(app, user=said[:20], lang=None)
    await chat.say(said)
    [answered] = _answered(chat)
    assert answered in (main, other)
    assert ({main, other} - {answered}) <= _offered(chat)


@pytest.mark.parametrize(
    "said",
    [
        "Hola, me llamo Jean, soy haitiano y llegué hace 2 años",
        "Bonjou, mwen rele Pierre, mwen soti Ayiti",
        "Buenas, soy Carlos, venezolano, vivo en Santiago hace un año",
        "Soy Venezolana",  # a capitalised nationality is no name (the final review)
        "Je suis Haïtien",
    ],
)
async def test_a_self_introduction_is_greeted_and_not_logged_as_a_question(app, said):
    """It got "I'm not sure I understood… [Greeting] [None of these]" and went, name and all,
    into the unanswered questions."""
    from sqlalchemy import func, select

    from storage.models import UnansweredQuestion

    chat = Chat(app, user=said[:20], lang=None)
    await chat.say(said)
    assert "kb:none" not in _payloads(chat)
    async with app.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UnansweredQuestion)) == 0


# The code review of the changes above (2026-12-07).


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bonjour, fonasa?", "fr"),
        ("bonsoir, le fonasa?", "fr"),
        ("bonjou rut", "ht"),
        ("bonjou, fonasa?", "ht"),
        ("hello, fonasa?", "en"),
        ("hi, carnet?", "en"),
    ],
)
def test_the_greeting_still_tells_the_language(text, lang):
    """Matched again without its greeting, "Bonjour, fonasa?" lost its only French word: the
    answer went out in Spanish to a new WhatsApp user."""
    assert MATCHER.match(text).lang == lang


def test_a_long_greeting_only_message_reads_a_bounded_opening(monkeypatch):
    """The opening greeting was looked for in every prefix of the message (quadratic: 350 ms
    for 1,000 characters of "hola y y y…", on the event loop). Counted, not timed."""
    calls = []
    tokens = MATCHER.normalizer.tokens
    monkeypatch.setattr(MATCHER.normalizer, "tokens", lambda t: calls.append(t) or tokens(t))
    for text in ("hola " + "y " * 497, "ok " * 333, "hi " * 333):
        calls.clear()
        MATCHER.match(text[:1000])
        assert len(calls) < 40, len(calls)


@pytest.mark.parametrize(
    "said", ["quiero saber. como saco la cedula", "hola. quiero saber. como saco la cedula"]
)
def test_a_filler_sentence_is_not_offered_as_a_second_question(said):
    found = MATCHER.match(said)
    assert found.topic == "reg.cedula" and found.also is None, found


def test_a_greeting_never_offers_what_the_bot_can_do_as_the_question():
    found = MATCHER.match("hola! como estas? necesito ayuda con mi visa")
    assert not (found.also or "").startswith("bot."), found


@pytest.mark.parametrize(
    "said",
    [
        "Bonjour, j'ai perdu mon passeport, que faire?",
        "buenas tardes, necesito ayuda con mi visa que se me vence la proxima semana",
    ],
)
def test_a_greeting_is_never_the_only_offer_beside_a_question(said):
    """ "Did you mean: Greeting?" came back (a new-user trial, tenth session): the question
    alone is what the message is, out of scope here; a thanks offered stays one."""
    assert MATCHER.match(said).suggestions != ("bot.saludo",)
    assert MATCHER.match("hola juan").topic == "bot.saludo"


def test_every_answer_fits_a_message_with_its_source_line():
    """An answer longer than a message once its source line is added was cut mid-word ("dès
    que vous avez votr…", the French ID-card answer: a new-user trial of 2026-12-07)."""
    too_long = []
    for topic in KB.topics.values():
        for lang, entry in topic.entries.items():
            t = texts(lang)
            tail = "" if topic.id in SMALL_TALK else _footer(t, topic.source, topic.reviewed)
            if len(entry.answer) + len(tail) + 4 > MAX_MESSAGE:
                too_long.append((topic.id, lang, len(entry.answer) + len(tail) + 4))
    assert too_long == []


FOR_SOMEONE = [
    (
        "Je suis sénégalais avec une résidence temporaire, comment faire venir mon fils au Chili ?",
        "et pour ma femme qui est au Sénégal ?",
    ),
    (
        "tengo residencia temporal, como hago la reunificacion familiar para traer a mi hijo?",
        "y para mi esposa que sigue en venezuela?",
    ),
    ("how can I bring my son to Chile? I have temporary residence", "and what about my wife?"),
]


@pytest.mark.parametrize(("first", "then"), FOR_SOMEONE)
async def test_the_same_question_for_someone_else_keeps_the_topic(chat: Chat, first, then):
    """ "et pour ma femme qui est au Sénégal ?" after the family answer got the women's-support
    answer, read alone (thirteenth session): adding someone of the family asks the same."""
    topic = MATCHER.match(first).topic
    alone = MATCHER.match(then)
    if topic is None or alone.topic == topic:
        pytest.fail(f"the matcher changed: pick another pair ({topic}, {alone})")
    await chat.say(first)
    await chat.say(then)
    assert f"fb:up:{topic}" in _payloads(chat)


async def test_adding_a_purpose_or_a_new_question_is_not_for_someone_else(chat: Chat):
    from intents.flows.faq import asks_for_someone

    assert not asks_for_someone("y para viajar a peru?")
    assert not asks_for_someone("et pour le travail, je peux travailler ?")
    assert asks_for_someone("e pou madanm mwen?")
    await chat.say(FOR_SOMEONE[1][0])
    said = "y mi hija está enferma, la atienden en el consultorio sin papeles?"
    await chat.say(said)  # a new question about someone: its own answer
    assert f"fb:up:{MATCHER.match(said).topic}" in _payloads(chat)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("Me rechazaron la solicitud de residencia temporal, que hago?", "cuantos dias tengo?"),
        ("perdi mi cedula de extranjero", "y cuanto cuesta?"),
    ],
)
async def test_a_short_how_much_or_how_long_reads_with_the_latest_answer(chat: Chat, first, then):
    """ "cuántos días tengo?" after the rejection answer got the tourist stay's 90 days, "y
    cuánto cuesta?" after the lost-card answer the general fee table (a new-user trial of the
    fourteenth session); the same answer comes back said to be the same."""
    topic = MATCHER.match(first).topic
    alone = MATCHER.match(then).topic
    if topic is None or alone == topic:
        pytest.fail(f"the matcher changed: pick another pair ({topic}, {alone})")
    await chat.say(first)
    out = await chat.say(then)
    assert f"fb:up:{topic}" in _payloads(chat)
    assert out.startswith("Lo que tengo sobre eso es lo mismo de antes:")


async def test_a_comuna_named_alone_says_whether_it_has_the_sello(chat: Chat):
    """The municipal-office answer invites "ask me whether your comuna has the Sello"; typing
    "puente alto" then got "no reliable information" and was logged (a new-user trial of the
    fourteenth session)."""
    await chat.say("donde queda la oficina municipal de migrantes?")
    out = await chat.say("puente alto")
    assert "Puente Alto no figura en nuestro directorio" in out
    assert "fb:up:sello.municipios_adheridos" in _payloads(chat)
    async with chat.app.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar() == 0
    out = await chat.say("venezuela")  # a country is no comuna
    assert "no figura en nuestro directorio" not in out


@pytest.mark.parametrize(
    ("said", "lang", "who"),
    [
        ("visa para estados unidos, como la saco?", "es", "embajada"),
        ("how can I get a visa for Canada for my holidays?", "en", "embassy"),
        ("tengo que pagar impuestos por mi sueldo?", "es", "(SII)"),
        ("quiero un prestamo del banco pero no tengo cedula", "es", "cada banco"),
    ],
)
async def test_out_of_scope_questions_people_ask_say_who_can_tell(app, said, lang, who):
    """Other countries' visas, taxes, credit: each got only "no reliable information" (a
    new-user trial of the fourteenth session)."""
    if MATCHER.match(said).kind.value != "none":
        pytest.fail(f"the matcher changed: pick another question ({MATCHER.match(said)})")
    chat = Chat(app, user=said[:20], lang=None)
    out = await chat.say(said)
    assert who in out and texts(lang)._(FALLBACK_START) in out


FALLBACK_START = (
    "No tengo información confiable sobre eso. Puedo orientarte sobre regularización "
    "migratoria, tus derechos en Chile (salud, escuela) y el Sello Migrante. Para otras "
    "consultas: ChileAtiende (101) o https://serviciomigraciones.cl. Tu pregunta quedó "
    "registrada para mejorar mis respuestas."
)


async def test_a_second_comuna_gets_its_status_without_the_introduction_again(chat: Chat):
    """Each comuna check repeated the three-paragraph introduction (a new-user trial of the
    fourteenth session): right after it, only the comuna's line and the source."""
    first = await chat.say("puente alto tiene el sello migrante?")
    intro = KB.topic("sello.municipios_adheridos").entry("es").answer[:40]
    assert intro in first
    out = await chat.say("y Temuco?")
    assert "Temuco no figura" in out and intro not in out and "Fuente:" in out
    out = await chat.say("La Pintana")
    assert "La Pintana no figura" in out and intro not in out


async def test_where_to_call_right_after_the_womens_answer_reads_with_it(chat: Chat):
    """ "a dónde llamo?" after the women's-support answer got the fallback (the second new-user
    trial of the fourteenth session)."""
    first = "Mi pareja me pega y me amenaza con que me va a hacer expulsar si lo denuncio"
    topic = MATCHER.match(first).topic
    assert topic == "derechos.mujer", "the matcher changed: pick another question"
    await chat.say(first)
    out = await chat.say("a dónde llamo?")
    assert "1455" in out and "fb:up:derechos.mujer" in _payloads(chat)


async def test_a_typed_thumbs_up_does_not_send_the_answer_again(chat: Chat):
    await chat.say("perdi mi cedula de extranjero")
    out = await chat.say("👍")
    assert "Registro Civil" not in out


async def test_a_new_question_opening_with_y_se_keeps_its_own_answer(chat: Chat):
    """Kreyòl "sè" (sister) folds to "se": "y se puede pedir la definitiva?" was read as the
    fee question for someone else (the final review of the fourteenth session)."""
    said = "y se puede pedir la definitiva?"
    own = MATCHER.match(said).topic
    if own is None:
        pytest.fail("the matcher changed: pick another question")
    await chat.say("cuanto cuesta la residencia temporal?")
    out = await chat.say(said)
    assert f"fb:up:{own}" in _payloads(chat) and "lo mismo de antes" not in out


def test_a_visa_to_come_to_chile_or_phone_credit_gets_no_pointer():
    from intents.flows.faq import out_of_scope_pointer

    for said in (
        "visa para mi mamá que vive en Argentina",
        "mi esposa es de México, qué visa necesita para venir",
        "la visa que se usa para estudiar cuál es",
        "tengo crédito en mi celular",
    ):
        assert out_of_scope_pointer(said) is None, said
