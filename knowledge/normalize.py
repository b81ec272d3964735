"""Text normalization for matching: accent folding, tokens, stop words, synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

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
    sabes bueno porfa favor ahi weon weona wn hueon hueona huevon weonazo sabi pos
    au aux avec ce ces cet cette dans des du elle elles est et etre il ils je la le les leur lui
    ma mais me meme mes moi mon ne nos notre nous on ou par pas peut pour qu que qui sa se ses
    son sont sur ta te tes toi ton tu un une vos votre vous y faire fait comment quoi quel quelle
    quels quelles est-ce puis dois peux veux suis
    an and are as at be been but by can could do does for from had has have how i if in into is
    it its me my of on or our so than that the their them then there these they this to too us
    was we what when where which who why will with would you your am an should get
    ak ap bay de e epi fe gen i kijan ki kote ka konn la li m mwen n nan nou ou pa pou sa se sou
    t te tou yo yon kisa eske ske pouki poukisa vle dwe kapab kounya tanpri kouman konnen
    konen isit
    """.split()
)


# Chat shorthand, expanded before the lexicon so that "en q va" meets "en que va".
# Only forms that mean one thing in every language the bot reads ("d" is French "d'", "k"
# is Kreyòl "ki"/"ka").
SHORTHAND = {
    "q": "que",
    "ke": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "tb": "tambien",
    "tmb": "tambien",
    "xfa": "por favor",
    "xfavor": "por favor",
    "pls": "please",
    "plz": "please",
    "bn": "bien",
    "info": "informacion",
    # French chat: a pronoun glued to its verb, and common abbreviations
    "jai": "j ai",
    "jpeu": "je peux",
    "jpeux": "je peux",
    "jpx": "je peux",
    "jsuis": "je suis",
    "chui": "je suis",
    "jveux": "je veux",
    "jvx": "je veux",
    "jfais": "je fais",
    "jsais": "je sais",
    "jdois": "je dois",
    "jvais": "je vais",
    "pcq": "parce que",
    "stp": "s il te plait",
    "svp": "s il vous plait",
    "cmt": "comment",
    "bjr": "bonjour",
    "slt": "salut",
    "qd": "quand",
    "bcp": "beaucoup",
    "tjrs": "toujours",
}

# A named place (a comuna or region of the directory) becomes this one token: the matcher
# learns "is <place> adhered?" from a few examples instead of learning each name as a topic
# word (and "Lampa" in one situational phrasing does not pull every Lampa question there).
PLACE = "nombrelugar"
# Directory names that are also everyday words or people's names: kept as words.
AMBIGUOUS_PLACES = frozenset(
    """
    nacimiento independencia colina coronel cabildo camarones laja navidad primavera porvenir
    olivar placilla canela corral retiro nogales pica pinto molina castro lautaro freire
    victoria florida concepcion salamanca caldera
    """.split()
) | {
    "la granja",
    "el bosque",
    "lo espejo",
    "la reina",
    "la union",
    "los angeles",
    "santo domingo",
    "la cruz",
    "la estrella",
    "el carmen",
    "sagrada familia",
    "el monte",
    "rio claro",
    "rio negro",
    "rio verde",
    "yerbas buenas",
    "villa alegre",
    "la higuera",
    "santa cruz",
    "santa maria",
    "san pedro",
    "san pablo",
    "san carlos",
}


# Countries: "paisdestino" (lexicon class of other destination countries) and "mercosur"
# (the Mercosur members, a residence route to Chile) mean different things by direction:
# "soy boliviano" or "vengo desde México" is about coming to Chile; "residencia en Argentina"
# or "visa para Estados Unidos" is about going elsewhere, which the bot does not cover.
FOREIGN_DESTINATION = "paisdestino"
COUNTRY_OF_ORIGIN = "paisorigen"
_COUNTRY_CLASSES = frozenset({FOREIGN_DESTINATION, "mercosur"})
_TOWARDS = frozenset("a al para hacia en to in into au aux pour pou nan ir".split())
_FROM = frozenset(
    "desde from soy somos nacionalidad nationality ciudadano ciudadana citizen vengo "
    "venimos depi soti".split()
)
_BORN = frozenset("naci nacio nacido nacida nacidos born ne nee fet".split())
# People, not places: "requisitos para argentinos" is about Argentines coming to Chile, never a
# destination, whatever word comes before. ("argentina" is also the country: not listed.)
DEMONYMS = frozenset(
    """
    argentino argentinos argentinas boliviano boliviana bolivianos bolivianas brasileno
    brasilena brasilenos brasilenas brazilian brazilians paraguayo paraguaya paraguayos
    paraguayas uruguayo uruguaya uruguayos uruguayas argentin argentine argentins argentines
    bolivien bolivienne boliviens bresilien bresilienne bresiliens paraguayen paraguayenne
    uruguayen uruguayenne argentinian argentinians bolivian bolivians paraguayan uruguayan
    """.split()
)


def _directions(words: list[str], people: frozenset[int] = frozenset()) -> list[str]:
    """`people`: positions of words that name people (demonyms), never a destination."""
    out = list(words)
    for i, word in enumerate(words):
        if word not in _COUNTRY_CLASSES or i == 0 or i in people:
            continue
        before = words[i - 1]
        born = i >= 2 and words[i - 2] in _BORN
        if before in _FROM or born:
            out[i] = COUNTRY_OF_ORIGIN if word == FOREIGN_DESTINATION else word
        elif before in _TOWARDS:
            out[i] = FOREIGN_DESTINATION
    return out


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: 'Ñuñoa ¿Cédula?' -> 'nunoa cedula'.
    Cached: one message is folded several times (its tokens, the classifier's
    character n-grams, its language), by the matcher and by the language detection."""
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

    def __init__(
        self, synonyms: Mapping[str, str] | None = None, places: Iterable[str] = ()
    ) -> None:
        self._phrases: dict[str, str] = {}
        self._words: dict[str, str] = {}
        lexicon = dict(synonyms or {})
        for place in places:
            folded = fold(place)
            if len(folded) >= 4 and folded not in AMBIGUOUS_PLACES:
                lexicon.setdefault(folded, PLACE)
        for variant, canonical in lexicon.items():
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

    def variant_stems(self) -> dict[str, str]:
        """One-word lexicon variants, as the matcher's tokens, and the token they stand for
        ("hello" -> "hola"): a typo of a variant ("helo") can be corrected to its meaning
        even though the variant itself never reaches the index."""
        found: dict[str, str] = {}
        for variant, canonical in self._words.items():
            if " " in canonical or canonical in STOP_WORDS or variant in STOP_WORDS:
                continue
            found.setdefault(stem(variant), stem(canonical))
        return found

    def tokens(self, text: str) -> list[str]:
        folded = " ".join(SHORTHAND.get(word, word) for word in fold(text).split())
        if self._pattern is not None:
            folded = self._pattern.sub(lambda m: self._phrases[m.group(0)], folded)
        words: list[str] = []
        people: set[int] = set()
        for word in folded.split():
            if word in DEMONYMS:
                people.add(len(words))
            words += self._words.get(word, word).split()
        out: list[str] = []
        for part in _directions(words, frozenset(people)):
            if part in STOP_WORDS or (len(part) < 2 and not part.isdigit()):
                continue
            out.append(stem(part))
        return out
