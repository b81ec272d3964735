"""Which language to answer in, and detection of a message's language (py3langid)."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from intents.i18n import DEFAULT_LANGUAGE, LANGUAGES, supported
from knowledge.normalize import fold

MIN_CONFIDENCE = 0.97
MIN_LETTERS = 12  # shorter messages ("hola", "ok") say too little about their language


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def load() -> None:
    """Load the detection model now: at start, rather than on the first long message (half a
    second in which a worker's event loop would answer nothing, not even a webhook's 200)."""
    _identifier()


def detect(text: str) -> tuple[str | None, float]:
    """The message's language among es/ht/fr/en when detection is confident, else None."""
    letters = sum(map(str.isalpha, fold(text)))  # map: no Python frame per character
    if letters < MIN_LETTERS:
        return None, 0.0
    lang, probability = _identifier().classify(text)
    probability = float(probability)
    return (lang if probability >= MIN_CONFIDENCE else None), probability


# Knowledge-base words decide short messages only from this many letters on: "si", "wi", "no"
# or "0" belong to several languages, or to none.
MIN_WORD_LETTERS = 4


def confident(text: str | None, matched_lang: str | None = None) -> str | None:
    """The message's language when it can be told with confidence, else None: py3langid on
    messages long enough for it, else `matched_lang`, the language whose knowledge-base
    phrasings share the message's language-specific words (Matcher.language: "fonasa sans
    rut?" is French, "visa consular ingreso" Spanish; None when the words say nothing).
    Short or ambiguous messages ("ok", "1", "OIM") give None: they never switch a
    conversation's language."""
    if not text:
        return None
    detected, _ = detect(text)
    if detected:
        return detected
    letters = sum(map(str.isalpha, text))
    if matched_lang in LANGUAGES and letters >= MIN_WORD_LETTERS:
        return matched_lang
    return None


def conversation(chosen: str | None, detected: str | None, client_hint: str | None) -> str:
    """The conversation's language (product.md): the user's /idioma choice; else the
    language of their last confidently detected message (kept with the user); else the
    client's language if supported; else Spanish."""
    return supported(chosen) or supported(detected) or supported(client_hint) or DEFAULT_LANGUAGE


def choose(
    chosen: str | None,
    text: str | None,
    client_hint: str | None,
    matched_lang: str | None = None,
) -> str:
    """The answer language of one message with no history (the `ask` and `eval` commands):
    as `conversation`, with this message's confident language as the detected one."""
    return conversation(chosen, confident(text, matched_lang), client_hint)
