"""Places named in free text (knowledge/places.py): the indexed searches give exactly what
searching each name in turn gives, on every sentence of our question sets and on generated
text with comuna and region names, typos included."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from knowledge.normalize import STOP_WORDS, fold
from knowledge.places import MIN_SCORE, Gazetteer, Place, find_comuna, sound
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


# The searches as they were written before their indexes, one name or group of words at a
# time: the references.


def _find_plainly(text: str, comunas: Sequence[tuple[str, str]]) -> str | None:
    folded = f" {fold(text)} "
    best: tuple[int, float, str] | None = None
    for cut, name in comunas:
        name_folded = fold(name)
        if len(name_folded) < 4:
            continue
        if f" {name_folded} " in folded:
            score = 100.0
        else:
            score = fuzz.partial_ratio(name_folded, folded) if len(name_folded) >= 7 else 0.0
        if score >= MIN_SCORE:
            candidate = (len(name_folded), score, cut)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None


def _locate_by_sound_plainly(gazetteer: Gazetteer, words: list[str]) -> Place | None:
    best: tuple[float, Place] | None = None
    for size in (1, 2, 3):
        for start in range(len(words) - size + 1):
            gram = " ".join(words[start : start + size])
            if len(gram) < 5 or gram in STOP_WORDS:
                continue
            found = process.extractOne(
                sound(gram), gazetteer._sounds, scorer=fuzz.ratio, score_cutoff=88
            )
            if found is not None and (best is None or found[1] > best[0]):
                best = (found[1], gazetteer._names[found[2]][1])
    return best[1] if best else None


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
    return _locate_by_sound_plainly(gazetteer, words)


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


def test_an_empty_directory_locates_nothing():
    assert Gazetteer([], []).locate("cuantos migrantes hay en quilicura") is None


def test_chile_named_in_any_language_is_the_country():
    """ "konbyen ayisyen ki nan Chili" got no figure (a new-user trial, tenth session)."""
    for said in (
        "konbyen ayisyen ki nan Chili",
        "combien d'étrangers vivent au Chili ?",
        "how many foreigners live in the country",
        "cuantos haitianos hay en chile",
    ):
        assert GAZETTEER.locate(said) == GAZETTEER.country, said
    assert GAZETTEER.locate("konbyen etranje ki nan Quilicura").name == "Quilicura"
