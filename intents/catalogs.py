"""Maintenance of the gettext catalogs: extract the messages from the source with babel, merge
them into the .pot and the .po files, and list what is still untranslated.

    python -m intents.catalogs          # refresh messages.pot and every .po, list the gaps

A language added to knowledge/languages.py gets its .po here, every message untranslated.

The files keep babel's own layout (width 100, sorted, no source locations), so a refresh
changes only the lines of the messages that changed.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from intents.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "intents", "knowledge", "storage")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
WIDTH = 100
POT = LOCALE_DIR / f"{DOMAIN}.pot"
TEMPLATES = ROOT / "bot" / "console" / "templates"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every translatable message of the source, as a template."""
    catalog = Catalog(project="sello-bot", copyright_holder="Sello Migrante")
    for source in SOURCES:
        for _, _, message, _, _ in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(message)
    # The web console's templates (Jinja2's i18n extension: `{{ _("…") }}`).
    for _, _, message, _, _ in extract_from_dir(
        TEMPLATES,
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    ):
        catalog.add(message)
    return catalog


def _read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang if lang not in (None, "ht") else None, domain=DOMAIN)


def _new(lang: str) -> Catalog:
    """An empty catalog for a language just added to knowledge/languages.py (babel's CLDR may
    not know it: Haitian Creole has no plural rules there)."""
    try:
        Locale.parse(lang)
        locale: str | None = lang
    except (ValueError, UnknownLocaleError):
        locale = None
    return Catalog(
        locale=locale, domain=DOMAIN, project="sello-bot", copyright_holder="Sello Migrante"
    )


def _dump(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=WIDTH, no_location=True, sort_output=True)
    return out.getvalue()


def template_is_current() -> bool:
    """The committed .pot lists exactly the messages of the source."""
    current = {m.id for m in _read(POT) if m.id}
    return current == {m.id for m in extract() if m.id}


def untranslated(lang: str) -> list[str]:
    """Messages of the template with no translation in `lang` (Spanish is the source)."""
    if lang == DEFAULT_LANGUAGE:
        return []
    catalog = _read(po_path(lang), lang)
    missing = []
    for message in _read(POT):
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found is not None else None
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            key = message.id if isinstance(message.id, str) else message.id[0]
            missing.append(key)
    return missing


def update() -> dict[str, list[str]]:
    """Write the fresh template and merge it into every catalog; the gaps per language."""
    template = extract()
    old = _read(POT)
    template.header_comment = old.header_comment
    template.creation_date = old.creation_date
    POT.write_bytes(_dump(template))
    for lang in LANGUAGES:
        path = po_path(lang)
        catalog = _read(path, lang) if path.exists() else _new(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.write_bytes(_dump(catalog))
    return {lang: untranslated(lang) for lang in LANGUAGES}


def main() -> int:
    gaps = update()
    for lang, missing in gaps.items():
        for message in missing:
            print(f"{lang}: untranslated: {message}")
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
