"""The conversation's language: chosen, else last confidently detected (kept), else the
client's, else Spanish; for every kind of message, on every channel."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from intents.i18n import texts
from intents.language import confident
from tests.conftest import Chat, bot_settings
from tests.fakes.graph_api import ids_of, text_of
from tests.shipped import KB, MATCHER
from tests.test_cases import CONTACT_FLORIDA, OFFICER_13, _button, _state
from tests.test_whatsapp import graph, wa  # noqa: F401  (the WhatsApp fixtures)

KREYOL = "Mwen vle konnen si pitit mwen ka ale lekòl menm si li pa gen papye"
FRENCH = "Bonjour, est-ce que mon enfant peut aller à l'école sans papiers au Chili ?"
ENGLISH = "Hello, can my child go to school in Chile even if we have no papers?"
FALLBACK = (
    "No tengo información confiable sobre eso. Puedo orientarte sobre regularización "
    "migratoria, tus derechos en Chile (salud, escuela) y el Sello Migrante. Para otras "
    "consultas: ChileAtiende (101) o https://serviciomigraciones.cl. Tu pregunta quedó "
    "registrada para mejorar mis respuestas."
)


def _in(lang: str, msgid: str) -> str:
    return texts(lang)._(msgid)


def _footer_word(lang: str) -> str:
    return _in(lang, "Fuente: {source} (revisado el {date})").split(":")[0]


def test_kreyol_dates_have_kreyol_month_names():
    t = texts("ht")
    assert t.date(date(2026, 12, 1)) == "1 desanm 2026"
    assert t.date(date(2026, 8, 15)) == "15 out 2026"
    assert "M12" not in t.datetime(datetime(2026, 12, 1, 15, 30))
    assert "desanm" in t.datetime(datetime(2026, 12, 1, 15, 30))
    assert t.number(222649) == "222\u00a0649"  # grouped as in French, not "222649"
    assert texts("es").date(date(2026, 12, 1)) == "1 de diciembre de 2026"


@pytest.mark.parametrize("text", ["ok", "1", "OIM", "0", "si", "?", "👍", "wi"])
def test_short_or_ambiguous_messages_are_never_confident(text):
    assert confident(text, MATCHER.match(text).lang) is None


@pytest.mark.parametrize(("said", "lang"), [(KREYOL, "ht"), (FRENCH, "fr"), (ENGLISH, "en")])
async def test_presses_none_of_these_and_fallback_follow_the_detected_language(
    chat: Chat, said: str, lang: str
):
    # The console client says Spanish (like a phone set to Spanish); the person writes
    # in their own language, and everything after follows it.
    await chat.say(said)
    footer = _footer_word(lang)
    out = await chat.press("kb:derechos.salud")
    assert footer in out and "Fuente" not in out
    out = await chat.press("kb:none")
    assert _in(lang, FALLBACK) in out
    out = await chat.press("menu:reg")
    assert "Fuente" not in out
    out = await chat.say("ok")  # short: keeps the conversation's language
    assert "No estoy seguro" not in out and "No tengo información" not in out
    out = await chat.say("/ayuda")
    assert out == await _help_in(chat, lang)


async def _help_in(chat: Chat, lang: str) -> str:
    other = Chat(chat.app, user=f"help-{lang}", lang=lang)
    return await other.say("/ayuda")


async def test_a_confident_message_in_another_language_switches(chat: Chat):
    await chat.say(KREYOL)
    out = await chat.press("kb:none")
    assert _in("ht", FALLBACK) in out
    await chat.say(ENGLISH)
    out = await chat.press("kb:none")
    assert _in("en", FALLBACK) in out


async def test_the_chosen_language_is_not_switched_by_detection(chat: Chat):
    await chat.say("/idioma fr")
    await chat.say(ENGLISH)
    out = await chat.press("kb:none")
    assert _in("fr", FALLBACK) in out


async def test_without_any_evidence_the_client_language_then_spanish(app):
    english_phone = Chat(app, user="c1", lang="en")
    assert _in("en", FALLBACK) in await english_phone.press("kb:none")
    no_hint = Chat(app, user="c2", lang=None)
    assert FALLBACK in await no_hint.press("kb:none")


async def test_telegram_presses_in_the_detected_language(telegram, run_bot, database_url):
    user = 5550777
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(user, KREYOL, lang="es")
    await telegram.wait_sent(user, 1)
    telegram.press(user, "kb:derechos.salud", lang="es")
    telegram.press(user, "kb:none", lang="es")
    telegram.press(user, "menu:reg", lang="es")
    sent = await telegram.wait_sent(user, 4)
    assert _footer_word("ht") in sent[1].text and "Fuente" not in sent[1].text
    assert sent[2].text == _in("ht", FALLBACK)
    assert "Fuente" not in sent[3].text
    for button in sent[3].buttons:
        topic = button["callback_data"].removeprefix("kb:")
        if topic in KB:
            assert button["text"] == KB.topic(topic).entry("ht").title


async def test_whatsapp_presses_and_list_labels_in_the_detected_language(wa, graph):  # noqa: F811
    hook = wa
    phone = "56900000031"
    await hook.say(phone, FRENCH)
    await graph.wait(phone, 1)
    await hook.press(phone, "kb:derechos.salud")
    sent = await graph.wait(phone, 2)
    assert _footer_word("fr") in text_of(sent[-1])
    await hook.press(phone, "kb:none")
    sent = await graph.wait(phone, 3)
    assert text_of(sent[-1]) == _in("fr", FALLBACK)
    # the main menu as a list: its labels in French too
    await hook.say(phone, "menu")
    sent = await graph.wait(phone, 4)
    action = sent[-1]["interactive"]["action"]
    assert action["button"] == _in("fr", "Ver opciones")
    assert action["sections"][0]["title"] == _in("fr", "Opciones")
    assert "menu:reg" in ids_of(sent[-1])
    assert graph.problems == []


async def test_a_notification_reaches_a_kreyol_speaker_in_kreyol(telegram, run_bot, database_url):
    from tests.test_cases import _seed

    await _seed(database_url)
    await run_bot(bot_settings(database_url, telegram))
    contact = CONTACT_FLORIDA
    telegram.message(contact, "Bonjou, mwen se responsab migrasyon nan komin nan, mwen gen yon ka")
    await telegram.wait_sent(contact, 1)
    telegram.message(contact, "/caso")
    [*_, prompt] = await telegram.wait_sent(contact, 2)
    assert prompt.text == _in(
        "ht", "Nuevo caso Sello (1/4). ¿De qué se trata? Elige una categoría:"
    )
    telegram.press(contact, "case:cat:salud")
    await telegram.wait_sent(contact, 3)
    telegram.message(contact, "Yon fanmi pa jwenn swen nan sant sante a depi de semèn")
    await telegram.wait_sent(contact, 4)
    telegram.press(contact, "case:urg:normal")
    await telegram.wait_sent(contact, 5)
    telegram.press(contact, "case:ok:yes")
    await telegram.wait_sent(contact, 6)
    note = (await telegram.wait_sent(OFFICER_13, 1))[0]
    telegram.press(OFFICER_13, _button([note], "ofc:take:"))
    sent = await telegram.wait_sent(contact, 7)
    from storage.models import Case

    [case] = await _state(database_url, Case)
    expected = _in("ht", "SERMIG está revisando tu caso {number}.").format(number=case.number)
    assert sent[-1].text == expected
    assert [b["text"] for b in sent[-1].buttons] == [_in("ht", "Ver el caso")]


# The review of 2026-12-07 (issue 12): replies made outside the usual pipeline, and short
# words, in the conversation's language.

SLOW_DOWN = "Estás enviando muchos mensajes seguidos. Espera unos segundos y vuelve a escribir."
APOLOGY = "Algo salió mal de mi lado. Intenta de nuevo en un momento."


@pytest.mark.parametrize("hint", [None, "es"])
async def test_telegram_flood_warning_is_in_the_conversations_language(
    telegram, run_bot, database_url, hint
):
    """The warning is made before the user is loaded: it read only the client's hint, so a
    Kreyòl speaker (client without a language, or set to Spanish) was told in Spanish."""
    user = 5551001
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(user, KREYOL, lang=hint)
    await telegram.wait_sent(user, 1)
    for _ in range(30):
        telegram.message(user, "ok", lang=hint)
    await telegram.settle()
    warnings = [s.text for s in telegram.to(user) if s.text in (SLOW_DOWN, _in("ht", SLOW_DOWN))]
    assert warnings == [_in("ht", SLOW_DOWN)]


async def test_whatsapp_flood_warning_is_in_the_conversations_language(wa, graph):  # noqa: F811
    """WhatsApp sends no client language at all: only the stored language can be right."""
    import asyncio

    phone = "56900001001"
    await wa.say(phone, KREYOL)
    await graph.wait(phone, 1)
    await asyncio.gather(*(wa.say(phone, "ok") for _ in range(30)))
    for _ in range(100):
        sent = [text_of(p) for p in graph.to(phone)]
        if any(t in (SLOW_DOWN, _in("ht", SLOW_DOWN)) for t in sent):
            break
        await asyncio.sleep(0.05)
    warnings = [t for t in sent if t in (SLOW_DOWN, _in("ht", SLOW_DOWN))]
    assert warnings == [_in("ht", SLOW_DOWN)]


async def test_whatsapp_apology_after_a_failing_press_is_in_the_conversations_language(
    wa,  # noqa: F811
    graph,  # noqa: F811
    monkeypatch,
):
    """A bug while handling a press: the apology took its language from the message's text
    (a press has none) or the client's hint (WhatsApp has none): always Spanish."""
    import intents.flows.faq as faq

    phone = "56900001002"
    await wa.say(phone, KREYOL)
    await graph.wait(phone, 1)

    def broken(ctx):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(faq, "fallback", broken)
    await wa.press(phone, "kb:none")
    sent = await graph.wait(phone, 2)
    assert text_of(sent[-1]) == _in("ht", APOLOGY)


async def test_terminal_apology_is_in_the_conversations_language(app, monkeypatch):
    import intents.flows.faq as faq

    chat = Chat(app, user="apology", lang=None)
    await chat.say(FRENCH)

    def broken(ctx):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(faq, "fallback", broken)
    chat.console._buttons = [type("B", (), {"payload": "kb:none"})()]
    assert (await chat.console.answer("1")).strip() == _in("fr", APOLOGY)


@pytest.mark.parametrize(
    ("opener", "lang", "short"),
    [
        (KREYOL, "ht", "merci"),  # Haitians write "merci" as often as "mèsi"
        (KREYOL, "ht", "hola"),  # the everyday greeting in Chile, whatever one's language
        (KREYOL, "ht", "no sé"),  # typed during the orientation, as its buttons say
        (ENGLISH, "en", "gracias"),
        (ENGLISH, "en", "chao"),
        (FRENCH, "fr", "ok gracias"),
    ],
)
async def test_a_short_message_does_not_switch_the_conversation(app, opener, lang, short):
    """product.md: a short or ambiguous message never switches the conversation; a single
    word of 4 letters or more did, through the knowledge base's words."""
    chat = Chat(app, user=f"short-{lang}-{short}", lang=None)
    await chat.say(opener)
    await chat.say(short)
    assert (await chat.press("kb:none")).startswith(_in(lang, FALLBACK)[:40])


@pytest.mark.parametrize(("short", "lang"), [("bonjour", "fr"), ("merci", "fr"), ("hello", "en")])
async def test_a_short_first_message_still_sets_the_language(app, short, lang):
    """With no language yet, the knowledge base's words still set it (nothing is switched)."""
    chat = Chat(app, user=f"first-{short}", lang=None)
    await chat.say(short)
    assert (await chat.press("kb:none")).startswith(_in(lang, FALLBACK)[:40])


@pytest.mark.parametrize("short", ["ta bien", "ok ta bien", "ta malo"])
async def test_short_words_alone_do_not_set_a_language(app, short):
    """A first "ta bien" (Chilean: "OK") set Kreyòl through Kreyòl's "ta" (a new-user trial,
    tenth session): words of one or two letters alone say nothing; Spanish, the default."""
    chat = Chat(app, user=f"first-{short}", lang=None)
    await chat.say(short)
    assert (await chat.press("kb:none")).startswith(_in("es", FALLBACK)[:40])


@pytest.mark.parametrize(
    ("lang", "opener", "description", "mask"),
    [
        (
            "fr",
            FRENCH,
            "Ma voisine avec le RUT 12.345.678-5 n'a pas de rendez-vous",
            "[donnée masquée]",
        ),
        ("en", ENGLISH, "My neighbour with RUT 12.345.678-5 cannot get an appointment", "[hidden]"),
        (
            "ht",
            KREYOL,
            "Vwazen m nan ki gen RUT 12.345.678-5 pa jwenn randevou",
            "[enfòmasyon kache]",
        ),
    ],
)
async def test_a_masked_number_is_shown_in_the_readers_language(
    app, lang, opener, description, mask
):
    """The mask is stored as written ("[dato oculto]"); the case's preview showed it in
    Spanish to every reader."""
    from datetime import UTC, datetime

    from storage import codes

    async with app.sessions() as s, s.begin():
        code = (await codes.issue(s, "13110", datetime.now(UTC))).code
    chat = Chat(app, user=f"mask-{lang}", lang=None)
    await chat.say(opener)
    await chat.say(f"/registro {code}")
    await chat.say("/caso")
    await chat.press("case:cat:salud")
    await chat.say(description)
    out = await chat.press("case:urg:normal")  # step 4/4: the description as it will be stored
    assert mask in out and "[dato oculto]" not in out and "12.345.678" not in out


@pytest.mark.parametrize(
    ("opener", "lang", "short"),
    [
        (KREYOL, "ht", "ok ok ok"),
        (FRENCH, "fr", "ok ok ok"),
        (KREYOL, "ht", "ok muchas gracias"),
        (KREYOL, "ht", "si si gracias"),
    ],
)
async def test_repeated_or_everyday_words_do_not_switch_either(app, opener, lang, short):
    """Counting words let "ok ok ok" switch to English and "ok muchas gracias" to Spanish:
    now distinct words of three letters or more."""
    chat = Chat(app, user=f"rep-{lang}-{short}", lang=None)
    await chat.say(opener)
    await chat.say(short)
    assert (await chat.press("kb:none")).startswith(_in(lang, FALLBACK)[:40])


async def test_a_new_french_speaker_greeting_before_a_keyword_gets_french(app):
    chat = Chat(app, user="fr-new", lang=None)  # WhatsApp: no client language
    reply = await chat.say("Bonjour, fonasa?")
    assert _footer_word("fr") in reply and "Fuente" not in reply, reply[:200]
