"""The languages the assistant speaks, declared once.

The content (knowledge/content.py), the catalogs and formatting (intents/i18n.py), language
detection, the language picker, the Telegram command menu and the command words per language
all read this list. It lives in `knowledge` because knowledge imports nothing of ours, so both
layers can import it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One spoken language.

    code: ISO 639-1, as in the catalogs' directories and the content's keys; name: in the
    language itself, as the language buttons show it; locale: babel's locale for its dates and
    numbers; typed: the words people type to choose it ("/idioma kreyol"), in any language,
    folded (no accents, lower case).
    """

    code: str
    name: str
    locale: str
    typed: tuple[str, ...]


SPOKEN: tuple[Language, ...] = (
    Language(
        "es",
        "Español",
        "es_CL",  # Chilean Spanish for dates and numbers
        ("es", "espanol", "castellano", "spanish", "espagnol", "panyol"),
    ),
    Language(
        "ht",
        "Kreyòl ayisyen",
        "ht",
        ("ht", "kreyol", "creole", "kreyol ayisyen", "criollo", "haitian", "creole haitien"),
    ),
    Language("fr", "Français", "fr", ("fr", "francais", "french", "frances", "franse")),
    Language("en", "English", "en", ("en", "english", "ingles", "anglais", "angle")),
)

LANGUAGES: tuple[str, ...] = tuple(language.code for language in SPOKEN)
# The source language: the texts' msgids and the content's reference entries are Spanish.
DEFAULT_LANGUAGE = "es"
LANGUAGE_NAMES: dict[str, str] = {language.code: language.name for language in SPOKEN}
