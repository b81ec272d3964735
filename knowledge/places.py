"""Find a comuna named in free text (typo- and accent-tolerant)."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

from knowledge.normalize import fold

MIN_SCORE = 90


def find_comuna(text: str, comunas: Sequence[tuple[str, str]]) -> str | None:
    """The cut of the comuna whose name appears in `text`; None when none or ambiguous.

    Names are matched as whole words ("la florida" in "la muni de la florida"), longest name
    first so "San Pedro de la Paz" wins over "San Pedro".
    """
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
