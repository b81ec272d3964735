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
    letters = sum(c.isalpha() for c in fold(text))
    if letters < MIN_LETTERS:
        return None, 0.0
    lang, probability = _identifier().classify(text)
    probability = float(probability)
    return (lang if probability >= MIN_CONFIDENCE else None), probability


def choose(
    chosen: str | None,
    text: str | None,
    client_hint: str | None,
    matched_lang: str | None = None,
) -> str:
    """The answer language: the user's choice (/idioma); else the message's language when
    detected with confidence: py3langid on messages long enough for it, else `matched_lang`,
    the language whose knowledge-base phrasings share the message's language-specific words
    (Matcher.language: "fonasa sans rut?" is French, "visa consular ingreso" Spanish; None
    when the words say nothing); else the client's language if supported; else Spanish."""
    if supported(chosen):
        return supported(chosen)  # type: ignore[return-value]
    if text:
        detected, _ = detect(text)
        if detected:
            return detected
        if matched_lang in LANGUAGES:
            return matched_lang  # type: ignore[return-value]
    return supported(client_hint) or DEFAULT_LANGUAGE
