"""Gettext catalogs (babel), language codes, and locale-aware formatting."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from knowledge.languages import DEFAULT_LANGUAGE, LANGUAGES, SPOKEN
from knowledge.languages import LANGUAGE_NAMES as LANGUAGE_NAMES  # re-exported for the flows

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# The locale used for dates and numbers (declared with each language in knowledge/languages.py).
FORMAT_LOCALES = {language.code: language.locale for language in SPOKEN}
CHILE = ZoneInfo("America/Santiago")
# Babel's CLDR data has no Haitian Creole dates (it prints "2026 M12 1"): Kreyòl month names,
# day first as in Haiti ("1 desanm 2026").
KREYOL_MONTHS = (
    "janvye",
    "fevriye",
    "mas",
    "avril",
    "me",
    "jen",
    "jiyè",
    "out",
    "septanm",
    "oktòb",
    "novanm",
    "desanm",
)


def supported(code: str | None) -> str | None:
    """'fr-FR' -> 'fr'; None for languages the bot does not speak."""
    if not code:
        return None
    short = code.replace("_", "-").split("-")[0].lower()
    return short if short in LANGUAGES else None


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog; compiled from the .po in memory when no .mo was built."""
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return Translations(f, domain=DOMAIN)
    if po.exists():
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang if lang != "ht" else None, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def _format_locale(lang: str) -> Locale:
    try:
        return Locale.parse(FORMAT_LOCALES.get(lang, "es_CL"))
    except Exception:  # a locale babel's CLDR lacks
        return Locale.parse("fr")


@lru_cache(maxsize=1024)
def _long_date(lang: str, value: date) -> str:
    return format_date(value, format="long", locale=_format_locale(lang))


@dataclass(frozen=True)
class Texts:
    """Translation functions bound to one language: `t._("…")`, `t.ngettext(…)`."""

    lang: str

    def _(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.lang).ngettext(singular, plural, n)

    def date(self, value: date | datetime) -> str:
        if self.lang == "ht":
            return f"{value.day} {KREYOL_MONTHS[value.month - 1]} {value.year}"
        if type(value) is date:  # a topic's review date, under most answers: formatted once
            return _long_date(self.lang, value)
        return format_date(value, format="long", locale=_format_locale(self.lang))

    def datetime(self, value: datetime) -> str:
        """Local time in Chile (stored times are UTC; SQLite returns them naive)."""
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if self.lang == "ht":
            local = aware.astimezone(CHILE)
            return f"{self.date(local)} {local:%H:%M}"
        return format_datetime(
            aware, format="short", tzinfo=CHILE, locale=_format_locale(self.lang)
        )

    def number(self, value: float) -> str:
        return format_decimal(value, locale=_format_locale(self.lang))

    def percent(self, value: float) -> str:
        """A share (0.507 -> "50,7 %" in es_CL), one decimal at most."""
        return format_percent(
            round(value, 3), locale=_format_locale(self.lang), decimal_quantization=False
        )


def texts(lang: str | None) -> Texts:
    return Texts(supported(lang) or DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message
