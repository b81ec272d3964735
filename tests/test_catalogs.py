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
