"""Find a comuna named in free text (typo- and accent-tolerant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.normalize import STOP_WORDS, fold

MIN_SCORE = 90


def find_comuna(text: str, comunas: Sequence[tuple[str, str]]) -> str | None:
    """The cut of the comuna whose name appears in `text`; None when none or ambiguous.

    Names are matched as whole words ("la florida" in "la muni de la florida"), longest name
    first so "San Pedro de la Paz" wins over "San Pedro"; a name of 7 letters or more also
    by rapidfuzz's partial ratio (≥ 90), which forgives a typo.
    """
    return _index(comunas).find(text)


class ComunaNames:
    """Comuna names folded once, searched in a message: the whole-word check only for the
    names whose first word the message has, the fuzzy check in one rapidfuzz call over all
    long names. The result is the plain search's, each name in turn (tests/test_places.py
    compares them): a long message used to cost about a millisecond here."""

    def __init__(self, comunas: Sequence[tuple[str, str]]) -> None:
        named = [(cut, fold(name)) for cut, name in comunas]
        named = [(cut, folded) for cut, folded in named if len(folded) >= 4]
        self._cuts = [cut for cut, _ in named]
        self._folded = [folded for _, folded in named]
        self._by_first_word: dict[str, list[int]] = {}
        for i, folded in enumerate(self._folded):
            self._by_first_word.setdefault(folded.split(" ", 1)[0], []).append(i)
        self._long = [i for i, folded in enumerate(self._folded) if len(folded) >= 7]
        self._long_names = [self._folded[i] for i in self._long]

    def find(self, text: str) -> str | None:
        folded = f" {fold(text)} "
        scores: dict[int, float] = {}
        for word in set(folded.split()):
            for i in self._by_first_word.get(word, ()):
                if f" {self._folded[i]} " in folded:
                    scores[i] = 100.0
        # partial_ratio aligns the shorter string inside the longer whichever comes first.
        for _, score, j in process.extract(
            folded, self._long_names, scorer=fuzz.partial_ratio, score_cutoff=MIN_SCORE, limit=None
        ):
            scores.setdefault(self._long[j], score)
        best: tuple[int, float, str] | None = None
        for i in sorted(scores):  # the names' order breaks ties, as the plain search does
            candidate = (len(self._folded[i]), scores[i], self._cuts[i])
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        return best[2] if best else None


_INDEXES: dict[int, tuple[Sequence[tuple[str, str]], ComunaNames]] = {}


def _index(comunas: Sequence[tuple[str, str]]) -> ComunaNames:
    """The folded names of a list of comunas, made once per list (the app's is built at
    start); the entry keeps the list alive, so its id is not reused while it is cached."""
    found = _INDEXES.get(id(comunas))
    if found is not None and found[0] is comunas:
        return found[1]
    if len(_INDEXES) >= 16:
        _INDEXES.clear()
    index = ComunaNames(comunas)
    _INDEXES[id(comunas)] = (comunas, index)
    return index


# Spanish spelling folded to sound: "kilikura" and "quilicura", "vina" and "biña" meet.
_SOUNDS = (
    ("qu", "k"),
    ("ce", "se"),
    ("ci", "si"),
    ("c", "k"),
    ("z", "s"),
    ("v", "b"),
    ("ll", "y"),
    ("gue", "ge"),
    ("gui", "gi"),
    ("h", ""),
    ("x", "ks"),
)
FUZZY_SCORE = 85


def sound(text: str) -> str:
    """A folded name as it sounds in Spanish, so a name typed by ear still matches."""
    folded = fold(text)
    for written, heard in _SOUNDS:
        folded = folded.replace(written, heard)
    return folded


@dataclass(frozen=True)
class Place:
    """A place named by the user: a comuna ("comuna", cut), a region ("region", code) or the
    country ("pais", "00")."""

    kind: str
    code: str
    name: str


@dataclass(frozen=True)
class PlaceSearch:
    found: Place | None
    closest: tuple[Place, ...] = ()  # when nothing matched well enough


class Gazetteer:
    """Comunas and regions by every name people use for them, searched exactly, by whole
    words inside a sentence, then by sound and edit distance (rapidfuzz)."""

    def __init__(
        self,
        comunas: Sequence[tuple[str, str]],
        regions: Sequence[tuple[str, str]],
        country_words: Sequence[str] = (
            # Chile in the four languages ("konbyen ayisyen ki nan Chili" got no figure).
            "chile",
            "chili",
            "pais",
            "pays",
            "peyi",
            "country",
            "nacional",
            "national",
            "nasyonal",
            "total",
        ),
    ) -> None:
        self.comunas = [Place("comuna", cut, name) for cut, name in comunas]
        self.regions = [Place("region", code, name) for code, name in regions]
        self.country = Place("pais", "00", "Chile")
        self._names: list[tuple[str, Place]] = []  # (folded alias, place), comunas first
        for place in self.comunas:
            self._names.append((fold(place.name), place))
        for place in self.regions:
            for alias in region_aliases(place.name):
                self._names.append((fold(alias), place))
        self._country_words = {fold(w) for w in country_words}
        self._sounds = [sound(name) for name, _ in self._names]
        self._comuna_names = ComunaNames([(p.code, p.name) for p in self.comunas])
        # Region names said in a sentence, longest first (a stable sort: ties keep their order).
        self._region_names = [
            (alias, place)
            for alias, place in sorted(self._names, key=lambda x: -len(x[0]))
            if place.kind == "region" and len(alias) >= 4
        ]

    def by_code(self, code: str) -> Place | None:
        code = code.strip()
        if code.isascii() and code.isdigit():
            if len(code) <= 2 and code.zfill(2) == "00":
                return self.country
            pool = self.regions if len(code) <= 2 else self.comunas
            wanted = code.zfill(2) if len(code) <= 2 else code.zfill(5)
            return next((p for p in pool if p.code == wanted), None)
        return None

    def search(self, name: str) -> PlaceSearch:
        """`name` is only a place's name (a command's argument)."""
        by_code = self.by_code(name)
        if by_code is not None:
            return PlaceSearch(by_code)
        folded = fold(name)
        wants_region = folded.startswith(("region ", "rejyon ", "rejion "))
        if wants_region:
            folded = folded.split(" ", 1)[1].removeprefix("de ").removeprefix("del ").strip()
        if folded in self._country_words:
            return PlaceSearch(self.country)
        exact = [place for alias, place in self._names if alias == folded]
        if exact:
            regions = [p for p in exact if p.kind == "region"]
            return PlaceSearch(regions[0] if wants_region and regions else exact[0])
        scored = process.extract(sound(folded), self._sounds, scorer=fuzz.ratio, limit=12)
        if scored and scored[0][1] >= FUZZY_SCORE:
            return PlaceSearch(self._names[scored[0][2]][1])
        closest: list[Place] = []
        for _, _, index in scored:
            place = self._names[index][1]
            if place.kind == "comuna" and place not in closest:
                closest.append(place)
        return PlaceSearch(None, tuple(closest[:3]))

    def locate(self, text: str) -> Place | None:
        """The place a sentence names ("¿cuántos migrantes hay en kilikura?"), or None."""
        cut = self._comuna_names.find(text)
        words = fold(text).split()
        folded = f" {' '.join(words)} "
        region_said = any(w in ("region", "rejyon") for w in words)
        if region_said or cut is None:
            for alias, place in self._region_names:
                if f" {alias} " in folded:
                    return place
        if cut is not None:
            return next(p for p in self.comunas if p.code == cut)
        if any(w in self._country_words for w in words if w not in ("total",)):
            return self.country
        # A place typed by ear: every one to three words of the sentence against every name
        # by sound, in one rapidfuzz call; the best score wins, the first one on a tie (as
        # one `extractOne` per group of words did: tests/test_places.py compares them).
        grams = [
            gram
            for size in (1, 2, 3)
            for start in range(len(words) - size + 1)
            if len(gram := " ".join(words[start : start + size])) >= 5 and gram not in STOP_WORDS
        ]
        if not grams or not self._sounds:
            return None
        scores = process.cdist(
            [sound(gram) for gram in grams],
            self._sounds,
            scorer=fuzz.ratio,
            score_cutoff=88,
            dtype=np.float64,
        )
        best: tuple[float, Place] | None = None
        for row in scores:
            j = int(row.argmax())  # the first of the best, as extractOne
            if row[j] >= 88 and (best is None or row[j] > best[0]):
                best = (float(row[j]), self._names[j][1])
        return best[1] if best else None


def region_aliases(name: str) -> list[str]:
    """'Metropolitana de Santiago' -> also 'Metropolitana', 'Región Metropolitana', 'RM';
    'Libertador General Bernardo O'Higgins' -> also "O'Higgins"; 'Aysén del General…' ->
    'Aysén'."""
    aliases = [name]
    short = name
    for prefix in ("Libertador General Bernardo ",):
        short = short.removeprefix(prefix)
    short = short.split(" del ")[0].split(" y de ")[0].split(" de ")[0]
    if short != name:
        aliases.append(short)
    if name.startswith("Metropolitana"):
        aliases += ["Región Metropolitana", "RM", "Santiago de Chile"]
    return aliases
