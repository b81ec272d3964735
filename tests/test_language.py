"""Which language the bot answers in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from intents.i18n import LANGUAGES
from intents.language import _identifier, choose, detect
from knowledge.evaluation import evaluate
from tests.conftest import Chat
from tests.shipped import MATCHER


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
    # then the language of the message's words in the knowledge base
    assert choose(None, "mesi", "es", matched_lang="ht") == "ht"
    assert choose(None, "ok", "en-US") == "en"  # then the client's language
    assert choose(None, "ok", "de") == "es"  # else Spanish
    assert choose(None, None, None) == "es"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Too short for py3langid: the words the knowledge base uses in each language decide.
        ("fonasa sans rut c possible ?", "fr"),
        ("ki nimewo telefòn extranjeria?", "ht"),
        ("mesi anpil", "ht"),
        ("visa consular ingreso Chile", "es"),
        ("postular residencia online", "es"),
        ("ya gracias chao", "es"),
        ("how much is the fee", "en"),
        ("OIM ACNUR SUBDERE", None),  # names: no language to tell
    ],
)
def test_language_of_short_messages_from_the_knowledge_base(text, lang):
    assert MATCHER.language(text) == lang
    assert MATCHER.match(text).lang == lang


def test_eval_reports_the_answer_language():
    items = [
        {"text": "ki nimewo telefòn extranjeria?", "lang": "ht", "topic": "contacto.sermig"},
        {"text": "OIM ACNUR SUBDERE", "lang": "fr", "topic": "sello.instituciones"},
    ]

    def language(text, matched):
        return detect(text)[0], choose(None, text, None, matched)

    summary = evaluate(MATCHER, items, language)["summary"]["language"]
    assert summary["ht"]["answered_in_it"] == 1.0
    assert summary["fr"] == {
        "items": 1,
        "detected": 0.0,
        "abstained": 1.0,
        "wrong": 0.0,
        "answered_in_it": 0.0,  # no evidence: Spanish, the default
    }


async def test_a_kreyol_question_on_a_spanish_phone_gets_a_kreyol_answer(chat: Chat):
    out = await chat.say("Mwen vle konnen si pitit mwen ka ale lekòl menm si li pa gen papye")
    assert "lekòl" in out.lower() or "lekol" in out.lower()
    assert "Fuente" not in out  # the footer is localized too


async def test_the_chosen_language_wins_over_detection(chat: Chat):
    await chat.say("/idioma en")
    out = await chat.say("Mwen vle konnen si pitit mwen ka ale lekòl menm si li pa gen papye")
    assert "Source" in out and "school" in out.lower()


def test_the_languages_are_declared_once():
    """One list (knowledge/languages.py) for the content, the catalogs and the picker: a
    language added there is known everywhere, and no module keeps its own copy."""
    import ast
    from pathlib import Path

    from intents import i18n
    from intents.flows import language as picker
    from knowledge import content, languages

    assert i18n.LANGUAGES is content.LANGUAGES is languages.LANGUAGES
    assert set(i18n.FORMAT_LOCALES) == set(i18n.LANGUAGE_NAMES) == set(picker.NAMES)
    assert set(picker.NAMES) == set(languages.LANGUAGES)
    root = Path(languages.__file__).parents[1]
    declared = []
    for package in ("bot", "intents", "knowledge", "storage"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == "LANGUAGES" for t in targets):
                        declared.append(path.relative_to(root).as_posix())
    assert declared == ["knowledge/languages.py"]


# The word-at-a-time walk (intents.language._WordWalkIdentifier) must give py3langid's own
# scores exactly: same language, same probability, on every sentence we have and on any text.

_DATA = Path(__file__).parent / "data"


def _library_identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


_LIBRARY = _library_identifier()


def test_the_word_walk_scores_exactly_as_py3langid_on_every_sentence_we_have():
    texts = [
        json.loads(line)["text"]
        for path in sorted(_DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(texts) > 2000
    ours = _identifier()
    for text in texts + [t[:k] for t in texts[:200] for k in (1, 3, 12, 30)]:
        assert ours.classify(text) == _LIBRARY.classify(text), text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["wena", "mwen", "papye", "cédula", "HOLA", "jpeux", "😀", " ", "  ", "\n"])
        | st.text(min_size=0, max_size=12),
        max_size=20,
    )
)
def test_the_word_walk_scores_exactly_as_py3langid_on_any_text(words):
    text = " ".join(words)
    assert _identifier().classify(text) == _LIBRARY.classify(text)


def test_the_word_walks_kept_are_bounded(monkeypatch):
    ours = _identifier()
    monkeypatch.setattr(type(ours), "WALKS", 3)
    ours._walks = {}
    text = "bonjour je suis haitien et je cherche mes papiers"
    assert ours.classify(text) == _LIBRARY.classify(text)
    assert 0 < len(ours._walks) <= 3  # emptied when full, then the latest words kept


def test_the_word_walk_takes_what_py3langid_takes():
    ours = _identifier()
    text = "mwen se ayisyen mwen bezwen papye"
    for form in (text, text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        assert ours.classify(form) == _LIBRARY.classify(text)
    raw = type(ours).from_modelpath(MODEL_DIR / MODEL_FILE)  # norm_probs off
    library_raw = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE)
    assert raw.classify("") == library_raw.classify("")  # no feature: py3langid's floor


def test_a_long_run_without_spaces_is_walked_but_not_kept():
    ours = _identifier()
    ours._walks = {}
    link = "https://serviciomigraciones.cl/" + "x" * 200 + " hola"
    assert ours.classify(link) == _LIBRARY.classify(link)
    assert all(len(chunk) <= ours.WORD_BYTES for _, chunk in ours._walks)
    assert ours._walks  # the short word after it was kept
