"""Small things a user notices (issue 12, item 6)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intents.i18n import texts
from storage.models import UnansweredQuestion, User
from tests.conftest import Chat
from tests.shipped import KB


async def test_caso_for_someone_not_enrolled_explains_who_and_how(chat: Chat):
    out = await chat.say("/caso")
    assert "contacto municipal" in out and "/registro" in out and "código" in out
    assert "no está disponible para tu perfil" not in out


async def test_caso_explained_in_the_users_language(app):
    kreyol = Chat(app, user="k1", lang="ht")
    out = await kreyol.say("/caso")
    assert "kontak minisipal" in out and "/registro ABC123" in out


@pytest.mark.parametrize(
    ("command", "lang", "needle"),
    [
        ("/miscasos", "es", "contacto municipal"),
        ("/encargado", "es", "contacto municipal"),
        ("/encargado", "fr", "contact municipal"),
        ("/miscasos", "ht", "kontak minisipal"),
    ],
)
async def test_miscasos_and_encargado_for_someone_not_enrolled_explain_who_and_how(
    app, command, lang, needle
):
    """A bare "not available for your profile" before (a new-user trial, tenth session)."""
    out = await Chat(app, user=f"{command}-{lang}", lang=lang).say(command)
    assert needle in out and "/registro ABC123" in out, out


async def test_greetings_and_thanks_carry_no_source_line(chat: Chat):
    for said in ("hola", "gracias", "mesi anpil", "thanks"):
        out = await chat.say(said)
        assert "Fuente" not in out and "Sous" not in out and "Source" not in out, out
    out = await chat.say("me atienden en el consultorio si no tengo papeles?")
    assert "Fuente" in out


async def test_a_typed_number_picks_only_from_the_latest_buttons(chat: Chat):
    menu = await chat.say("/menu")
    assert "[1]" in menu
    out = await chat.say("/cancelar")  # a reply without buttons
    assert "[1]" not in out
    out = await chat.say("1")  # no buttons on screen: just text, not the menu's first option
    assert out.startswith("Escribe tu pregunta o usa /menu.")


async def test_zero_question_mark_or_an_emoji_are_not_logged_as_questions(chat: Chat):
    for said in ("0", "?", "👍", "🙏🙏", "1"):
        out = await chat.say(said)
        assert "quedó registrada" not in out
    async with chat.app.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UnansweredQuestion)) == 0
    await chat.say("receta de pan amasado con chicharrones")
    async with chat.app.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UnansweredQuestion)) == 1


@pytest.mark.parametrize(
    "said",
    [
        "ok",
        "jajaja",
        "amigo",
        "dale po",
        "kkkkk",
        "soy venezolana",
        "mwen se ayisyen",
        "I'm from Haiti",
        # Yes, no, "I don't know" after an answer (a new-user trial, tenth session).
        "oui",
        "yes",
        "si",
        "byen",
        "oki doki",
        "ta bien",
        "weon no entendi nada jajaja",
        "mwen pa konnen",
        "no sé",
        "je sais pas",
        "I don't know",
    ],
)
async def test_chatter_and_a_bare_self_introduction_are_no_questions(app, said):
    """A new-user trial of 2026-12-07: these got the fallback (or "did you mean: thanks and
    goodbye?") and went into the unanswered questions."""
    chat = Chat(app, user=f"chatter-{said}", lang=None)
    out = await chat.say(said)
    for lang in ("es", "ht", "fr", "en"):  # no "I don't know", no "did you mean…"
        t = texts(lang)
        assert t._("Ninguna de estas") not in out and t._("Tu pregunta quedó") not in out, out
    async with chat.app.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UnansweredQuestion)) == 0


@pytest.mark.parametrize(
    ("said", "lang"),
    [
        ("in English please", "en"),
        ("pero en español porfa", "es"),
        ("habla español?", "es"),
        ("an kreyòl souple", "ht"),
        ("en français svp", "fr"),
    ],
)
async def test_asking_for_a_language_in_words_switches_to_it(app, said, lang):
    chat = Chat(app, user=f"asks-{lang}-{len(said)}", lang="es" if lang != "es" else "en")
    out = await chat.say(said)
    assert texts(lang)._("Listo, te escribiré en español.") in out, out
    async with chat.app.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UnansweredQuestion)) == 0


async def test_a_kreyol_date_in_an_answer_is_all_kreyol(app):
    """ "(le 13 desanm 2015)": the French article in a Kreyòl sentence (a new-user trial)."""
    chat = Chat(app, user="ht-date", lang="ht")
    out = await chat.say("eske Quilicura gen Sello Migrante a?")
    assert "(nan dat " in out and "(le " not in out, out


@pytest.mark.parametrize(
    ("lang", "question"),
    [
        ("es", "¿Quilicura tiene el Sello Migrante?"),
        ("ht", "eske Quilicura gen Sello Migrante a?"),
        ("fr", "Est-ce que Quilicura a le Sello Migrante ?"),
        ("en", "Does Quilicura have the Sello Migrante?"),
    ],
)
async def test_a_named_comuna_is_not_asked_for_again(app, lang, question):
    """ "¿Temuco tiene el Sello?" was answered "… tell me your comuna and I'll check"."""
    answer = KB.topic("sello.municipios_adheridos").entry(lang).answer
    opening, asks = answer.split(". ", 1)[0], answer.rsplit(". ", 1)[1]
    out = await Chat(app, user=f"named-{lang}", lang=lang).say(question)
    assert opening in out and "Quilicura" in out and asks not in out, out


async def test_a_greeting_is_one_message_with_the_menu(chat: Chat):
    """It was the greeting with three related buttons, then the menu asking "¿En qué te puedo
    ayudar?" again (eight buttons, the question twice: a new-user trial of 2026-12-07)."""
    out = await chat.say("hola")
    assert out.count("¿En qué te puedo ayudar?") == 1, out
    assert "Regularización y permisos" in out and "Tipos de permiso" not in out, out


async def test_a_long_story_is_read(chat: Chat):
    """A real 1,076-character story was refused as too long (a new-user trial)."""
    story = (
        "hola buenas tardes, disculpe la molestia, les escribo porque llegue a chile hace dos "
        "años con mi esposo y mis dos hijos, en ese tiempo no sabiamos nada. mi esposo "
        "consiguio trabajo en una constructora sin contrato y yo vendo comida en la feria. "
    ) * 5 + "mi hijo de 8 años puede ir al colegio aunque no tenga rut?"
    assert 1000 < len(story) < 2000
    out = await chat.say(story)
    assert "muy largo" not in out and ("IPE" in out or "Derecho a la educación" in out), out


async def test_a_goodbye_first_is_not_thanked_for_help(chat: Chat):
    """ "chao" as the first message got "¡De nada! Me alegra haberte ayudado." (a new-user
    trial): the closing now fits a goodbye as well as a thanks."""
    out = await chat.say("chao")
    assert "haberte ayudado" not in out and "De nada" not in out, out


# The code review of the ninth session's changes (2026-12-07).


async def test_a_nationality_is_not_a_language_request(app):
    chat = Chat(app, user="haitian-en", lang=None)
    out = await chat.say("I'm Haitian")
    assert texts("ht")._("Listo, te escribiré en español.") not in out, out
    async with app.sessions() as s:
        user = (await s.execute(select(User).where(User.external_id == "haitian-en"))).scalar_one()
        assert user.language != "ht"


@pytest.mark.parametrize("said", ["hi", "hija"])
async def test_a_word_like_a_laugh_is_not_chatter(app, said):
    out = await Chat(app, user=f"hi-{said}", lang="en").say(said)
    assert not out.startswith(texts("en")._("Escribe tu pregunta o usa /menu.")), out


@pytest.mark.parametrize(
    "said", ["¿Qué es un migrante?", "I'm new, what should I do?", "¿Y para los venezolanos?"]
)
async def test_a_question_with_a_who_word_is_no_introduction(app, said):
    from intents.chatter import introduces_only
    from tests.shipped import MATCHER

    assert not introduces_only(MATCHER, said)


@pytest.mark.parametrize(
    "said",
    ["necesito mis antecedentes", "¡Gracias! ya tengo mis papeles", "Where can I stay?"],
)
async def test_a_precise_question_or_a_thanks_does_not_start_the_orientation(app, said):
    chat = Chat(app, user=f"notbroad-{said[:10]}", lang=None)
    await chat.say(said)
    assert "ori:situation:minor" not in [b.payload for b in chat.console._buttons]
