"""The gettext catalogs: the template lists every message of the source, and every message is
translated in ht, fr and en (`python -m intents.catalogs` refreshes them and lists gaps)."""

from __future__ import annotations

import pytest

from intents import catalogs
from intents.i18n import LANGUAGES


def test_template_lists_exactly_the_messages_of_the_source():
    assert catalogs.template_is_current(), "run: python -m intents.catalogs"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "es"])
def test_every_message_is_translated(lang):
    assert catalogs.untranslated(lang) == []


def test_a_gap_is_reported(tmp_path, monkeypatch):
    po = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    cat = catalogs._read(catalogs.po_path("fr"), "fr")
    first = next(m for m in cat if m.id and isinstance(m.id, str))
    first.string = ""
    po.write_bytes(catalogs._dump(cat))
    monkeypatch.setattr(
        catalogs, "po_path", lambda lang: tmp_path / lang / "LC_MESSAGES" / "messages.po"
    )
    assert catalogs.untranslated("fr") == [first.id]


def test_a_new_language_gets_its_catalog(tmp_path, monkeypatch):
    """Adding a language to knowledge/languages.py and running the tool starts its .po (every
    message untranslated) instead of failing on the missing file."""
    pot = tmp_path / "messages.pot"
    pot.write_bytes(catalogs.POT.read_bytes())
    for lang in LANGUAGES:
        po = tmp_path / lang / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        po.write_bytes(catalogs.po_path(lang).read_bytes())
    monkeypatch.setattr(catalogs, "POT", pot)
    monkeypatch.setattr(
        catalogs, "po_path", lambda lang: tmp_path / lang / "LC_MESSAGES" / "messages.po"
    )
    monkeypatch.setattr(catalogs, "LANGUAGES", (*LANGUAGES, "pt"))
    gaps = catalogs.update()
    assert (tmp_path / "pt" / "LC_MESSAGES" / "messages.po").exists()
    assert len(gaps["pt"]) == len([m for m in catalogs._read(pot) if m.id]) > 300
    assert all(gaps[lang] == [] for lang in LANGUAGES if lang != "es")
