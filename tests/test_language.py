"""Which language the bot answers in."""

from __future__ import annotations

import pytest

from intents.language import choose, detect
from tests.conftest import Chat


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Mwen bezwen fè papye rezidans mwen, kisa pou m fè?", "ht"),
        ("Bonjour, comment je peux renouveler mon titre de séjour au Chili ?", "fr"),
        ("How can I get my Chilean identity card after my residence was approved?", "en"),
        ("Hola, quiero saber cómo saco el carnet chileno para mi hijo", "es"),
        ("kijan pou m fe papye", "ht"),
    ],
)
def test_detection_on_real_looking_messages(text, lang):
    assert detect(text)[0] == lang


@pytest.mark.parametrize("text", ["hola", "ok", "merci", "?"])
def test_short_messages_are_not_guessed(text):
    assert detect(text)[0] is None


def test_choice_order():
    kreyol = "Mwen bezwen fè papye rezidans mwen, kisa pou m fè?"
    assert choose("fr", kreyol, "es") == "fr"  # the user's /idioma choice wins
    assert choose(None, kreyol, "es") == "ht"  # then a confidently detected language
    assert choose(None, "mesi", "es", matched_lang="ht") == "ht"  # then the phrasing matched
    assert choose(None, "ok", "en-US") == "en"  # then the client's language
    assert choose(None, "ok", "de") == "es"  # else Spanish
    assert choose(None, None, None) == "es"


async def test_a_kreyol_question_on_a_spanish_phone_gets_a_kreyol_answer(chat: Chat):
    out = await chat.say("Mwen vle konnen si pitit mwen ka ale lekòl menm si li pa gen papye")
    assert "lekòl" in out.lower() or "lekol" in out.lower()
    assert "Fuente" not in out  # the footer is localized too


async def test_the_chosen_language_wins_over_detection(chat: Chat):
    await chat.say("/idioma en")
    out = await chat.say("Mwen vle konnen si pitit mwen ka ale lekòl menm si li pa gen papye")
    assert "Source" in out and "school" in out.lower()
