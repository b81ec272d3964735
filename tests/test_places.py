"""Places named in free text (knowledge/places.py): the indexed searches give exactly what
searching each name in turn gives, on every sentence of our question sets and on generated
text with comuna and region names, typos included."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.normalize import fold
from knowledge.places import Gazetteer, Place, _find_plainly, find_comuna
from storage.directory import SEED

DATA = Path(__file__).parent / "data"

with SEED.open(encoding="utf-8", newline="") as f:
    _ROWS = list(csv.DictReader(f))
COMUNAS = tuple((row["cut"], row["comuna"]) for row in _ROWS)
REGIONS = tuple(sorted({(row["region_code"], row["region_name"]) for row in _ROWS}))
GAZETTEER = Gazetteer(COMUNAS, REGIONS)
SENTENCES = [
    json.loads(line)["text"]
    for path in sorted(DATA.glob("*.jsonl"))
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def _locate_plainly(gazetteer: Gazetteer, text: str) -> Place | None:
    """Gazetteer.locate as it was written before its indexes: the reference."""
    cut = _find_plainly(text, [(p.code, p.name) for p in gazetteer.comunas])
    words = fold(text).split()
    folded = " ".join(words)
    region_said = any(w in ("region", "rejyon") for w in words)
    for alias, place in sorted(gazetteer._names, key=lambda x: -len(x[0])):
        if place.kind == "region" and len(alias) >= 4 and f" {alias} " in f" {folded} ":
            if region_said or cut is None:
                return place
    if cut is not None:
        return next(p for p in gazetteer.comunas if p.code == cut)
    if any(w in gazetteer._country_words for w in words if w not in ("total",)):
        return gazetteer.country
    return gazetteer._locate_by_sound_plainly(words)


def test_the_indexed_searches_find_what_the_plain_ones_find_on_every_sentence_we_have():
    assert len(SENTENCES) > 2000
    found = 0
    for text in SENTENCES:
        expected = _find_plainly(text, COMUNAS)
        assert find_comuna(text, COMUNAS) == expected, text
        assert GAZETTEER.locate(text) == _locate_plainly(GAZETTEER, text), text
        found += expected is not None
    assert found > 50  # the sets do name comunas


def _typo(name: str, where: int) -> str:
    if len(name) < 3:
        return name
    i = where % (len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # two letters swapped


names = st.sampled_from([name for _, name in COMUNAS] + [name for _, name in REGIONS])
words = st.sampled_from(
    ["vivo", "en", "la", "comuna", "de", "region", "cuantos", "migrantes", "hay", "san", "mi"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(words, names, st.builds(_typo, names, st.integers(0, 40)), st.text(max_size=8)),
        max_size=14,
    )
)
def test_the_indexed_searches_find_what_the_plain_ones_find_on_any_text(parts):
    text = " ".join(parts)
    assert find_comuna(text, COMUNAS) == _find_plainly(text, COMUNAS)
    assert GAZETTEER.locate(text) == _locate_plainly(GAZETTEER, text)


def test_a_list_of_comunas_is_indexed_once_and_a_new_list_anew():
    first = [("13110", "La Florida")]
    assert find_comuna("vivo en la florida", first) == "13110"
    second = [("13101", "Santiago")]
    assert find_comuna("vivo en la florida", second) is None
    assert find_comuna("vivo en santiago", second) == "13101"
