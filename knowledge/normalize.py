"""Text normalization for matching: accent folding, tokens, stop words, synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1{2,}")

# Function words of es, fr, en and ht that carry no topic. Folded (no accents).
STOP_WORDS = frozenset(
    """
    a al algo algun alguna alguno algunos ante antes aqui asi aun cada casi como con contra cual
    cuales cuando cuanto de del desde donde dos el ella ellas ello ellos en entre era eres es esa
    ese eso esta estan estas este esto estos estoy fue ha hace hacer han has hay he la las le les
    lo los me mi mis mucho muy nada ni nos nosotros o otra otro para pero poco por porque puede
    puedo que quien se sea ser si sin sobre soy su sus tambien tan te tener tengo ti tiene tienen
    todo tu tus un una uno unos usted ustedes va vamos y ya yo oye po pa poh cachai sabis
    sabes bueno porfa favor ahi
    au aux avec ce ces cet cette dans des du elle elles est et etre il ils je la le les leur lui
    ma mais me meme mes moi mon ne nos notre nous on ou par pas peut pour qu que qui sa se ses
    son sont sur ta te tes toi ton tu un une vos votre vous y faire fait comment quoi quel quelle
    quels quelles est-ce puis dois peux veux
    an and are as at be been but by can could do does for from had has have how i if in into is
    it its me my of on or our so than that the their them then there these they this to too us
    was we what when where which who why will with would you your am an should get
    ak ap bay de e epi fe gen i kijan ki kote ka konn la li m mwen n nan nou ou pa pou sa se sou
    t te tou yo yon kisa eske ske pouki poukisa vle dwe kapab kounya tanpri
    """.split()
)


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: 'Ñuñoa ¿Cédula?' -> 'nunoa cedula'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = _REPEATS.sub(r"\1\1", stripped)  # "holaaaa" -> "holaa"
    return _NON_WORD.sub(" ", stripped).strip()


STEM_LENGTH = 7


def stem(token: str) -> str:
    """A language-neutral stem, applied to both sides: plurals trimmed, then the word cut to
    its first 7 letters, which unites most Romance/English derivations ("residencia",
    "residente", "résidence" -> "residen"; "certificado", "certification" -> "certifi")."""
    if len(token) > 4 and token.endswith("es") and token[-3] in "nlrdsz":
        token = token[:-2]
    elif len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    return token[:STEM_LENGTH]


class Normalizer:
    """Turns text into the content tokens the matcher indexes."""

    def __init__(self, synonyms: Mapping[str, str] | None = None) -> None:
        self._phrases: dict[str, str] = {}
        self._words: dict[str, str] = {}
        for variant, canonical in (synonyms or {}).items():
            folded_variant, folded_canonical = fold(variant), fold(canonical)
            if " " in folded_variant:
                self._phrases[folded_variant] = folded_canonical
            elif folded_variant:
                self._words[folded_variant] = folded_canonical
        # One alternation, longest first, so "residencia definitiva" wins over "residencia".
        alternatives = sorted(self._phrases, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, alternatives)) + r")\b")
            if alternatives
            else None
        )

    def tokens(self, text: str) -> list[str]:
        folded = fold(text)
        if self._pattern is not None:
            folded = self._pattern.sub(lambda m: self._phrases[m.group(0)], folded)
        out: list[str] = []
        for word in folded.split():
            word = self._words.get(word, word)
            for part in word.split():
                if part in STOP_WORDS or (len(part) < 2 and not part.isdigit()):
                    continue
                out.append(stem(part))
        return out
