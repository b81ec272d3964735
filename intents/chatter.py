"""Messages that are conversation, not questions: a bare self-introduction ("soy venezolana",
"mwen se ayisyen", "I'm from Haiti"), an acknowledgement or a laugh ("ok", "dale", "jajaja",
"amigo"). Before, the first got the "I don't know" fallback (a nationality reads like the
out-of-scope examples about other countries), the others the fallback or a "did you mean:
thanks and goodbye?", and all were logged as unanswered questions (a new-user trial of
2026-12-07). Read with the matcher's own tokens (folding, lexicon, stemming), so the word
lists hold each word once.
"""

from __future__ import annotations

import re
from functools import cache

from knowledge.matcher import Matcher
from knowledge.normalize import Normalizer, fold

# Who is asking: nationalities and origins of the people the assistant serves, and "I just
# arrived". With a greeting and nothing else, a message introduces its writer.
WHO_WORDS = """
    haitiano haitiana haitianos ayisyen ayisyèn haitien haitienne haitian venezolano venezolana
    venezuelan venezuelien venezyelyen colombiano colombiana colombian colombien peruano
    peruana peruvian peruvien boliviano boliviana bolivian dominicano dominicana dominican
    dominicain dominiken cubano cubana cuban cubain ecuatoriano ecuatoriana ecuadorian
    senegalais senegalaise congolais congolaise camerounais camerounaise africano africana
    migrante migrantes migrant migrants migran extranjero extranjera foreigner etranger
    etrangere etranje haiti ayiti venezuela colombia colombie peru perou bolivia bolivie
    cuba ecuador senegal cameroun congo nuevo nueva nouveau nouvelle new llegue recien rive
    arrived arrive fek fenk
    """

# Acknowledgements and fillers that ask nothing.
CHATTER_WORDS = frozenset(
    """
    ok oki okey okay oke okk vale dale ya listo bueno bien perfecto entendido genial ah oh aja
    mmm hmm amigo amiga pana hermano hermana bro dako d accord daccord super cool nice alright
    lol mdr xd po pues pos
    si yes yeah yep yup oui ouais wi byen bon no non nope nop doki ta weon weona wn cachai
    """.split()
)
# "I don't know", "I didn't understand" after an answer: nothing to look up either (a new-user
# trial of the tenth session: these got the fallback and were logged as questions).
_SHRUGS = frozenset(
    phrase.strip()
    for phrase in """
    no se|no entendi|no entendi nada|no cacho|mwen pa konnen|m pa konnen|pa konnen|
    mwen pa konprann|m pa konprann|je sais pas|je ne sais pas|jsp|j ai pas compris|
    je n ai pas compris|i don t know|i dont know|idk|i don t understand|i dont understand
    """.split("|")
)
# A laugh repeats one syllable ("jaja", "jsjs", "hehe"): "hi" or "hija" is no laugh.
_LAUGH = re.compile(r"([jh][aeiu]|js)\1+[jh]?|k{2,}|x+d+")
# The words of an introduction besides who: "soy", "I'm from", "je suis", "mwen se".
_INTRO_WORDS = frozenset(
    """
    soy somos yo i m am im je suis moi mwen se nou nos from de del desde vengo venimos soti
    un una a an aqui aca here ici isit chile chili en in au nan
    vivo vivimos live living habite rete abite hace desde depuis since for ago ano anos year
    years mes meses month months semanas weeks ans mois lane ane mwa me llamo rele appelle my
    name is y and et ak e
    """.split()
)
# A name is the capitalised word after one of these ("soy Carlos", "mwen rele Pierre").
_NAMING_WORDS = frozenset("soy llamo rele appelle is suis".split())


@cache
def who_tokens_of(normalizer: Normalizer) -> frozenset[str]:
    """The tokens for who is asking (shared with the orientation's broad questions)."""
    return frozenset(normalizer.tokens(WHO_WORDS))


def introduces_only(matcher: Matcher, text: str) -> bool:
    """Says who is writing and nothing else ("soy venezolana", "bonjou, mwen se ayisyèn").
    Read word by word, stop words included: "¿qué es un migrante?" or "I'm new, what should I
    do?" ask something (the review of 2026-12-07)."""
    if "?" in text:
        return False
    who = who_tokens_of(matcher.normalizer)
    # ... and where they live: a comuna reads as the matcher's place token ("vivo en Santiago")
    allowed = who | matcher.greeting_tokens | set(matcher.normalizer.tokens("Santiago"))
    saw_who = False
    before = ""
    for written in text.split():
        folded = fold(written).split()
        named = (
            before in _NAMING_WORDS
            and written[:1].isupper()
            and len(folded) == 1
            and not who.intersection(matcher.normalizer.tokens(folded[0]))  # "soy Venezolana"
        )
        if named:
            before = folded[0]
            continue  # "soy Carlos": a name (the lexicon may know "Carlos" from a phrasing)
        for word in folded:
            before = word
            if word in _INTRO_WORDS or word.isdigit():  # "hace 2 años"
                continue
            tokens = matcher.normalizer.tokens(word)
            if not tokens or not set(tokens) <= allowed:
                return False
            saw_who = saw_who or bool(who.intersection(tokens))
    return saw_who


def chatter_only(text: str) -> bool:
    """An acknowledgement, a filler, a laugh or a shrug, and nothing else ("ok", "jajaja",
    "amigo", "oui", "mwen pa konnen")."""
    words = fold(text).split()
    if not words:
        return False
    if all(w in CHATTER_WORDS or _LAUGH.fullmatch(w) for w in words):
        return True
    rest = " ".join(w for w in words if not _LAUGH.fullmatch(w) and w not in _FILLERS)
    return rest in _SHRUGS


_FILLERS = CHATTER_WORDS - {"no", "non"}  # a shrug's own "no" stays in it
