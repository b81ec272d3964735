"""Messages that say their writer thinks of ending their life or of harming themselves.

They are no migration question, yet the matcher reads some as one ("ya no quiero vivir" got
the temporary residence answer, "I want to kill myself" a refugee suggestion: found in the
thirteenth session). A mature assistant answers them first with a crisis line, so they are
recognised here, before any matching, by the first-person phrases people use in each language
(on folded text: lower case, no accents, punctuation as spaces: "j'ai" is "j ai").

Only the writer's own intent: "me quieren matar", "on veut me tuer", "they want to kill me",
"yo vle touye m" are threats from others (the refugee and violence answers), not this. Such a
message is never logged with the unanswered questions: it is health data about its writer.
"""

from __future__ import annotations

import re
from functools import cache

from knowledge.normalize import fold

# "No quiero vivir así / en la calle / escondido", "m pa vle viv konsa", "I don't want to live
# here illegally": how or where one lives, not whether (one of the held-out chat sets has it).
_NOT_HOW = (
    r"(?! (asi|aca|aqui|alla|en|con|sin|de|del|escondid\w*|ilegal\w*|como|comme|ainsi|dans|"
    r"sans|cache\w*|ici|la bas|like|here|there|in|with|without|illegally|hiding|konsa|nan|isit|"
    r"la|ak|san|tankou|kache)\b)"
)
_PHRASES = {
    "es": (
        r"suicid\w*",
        r"(quiero|quisiera|voy a|pienso en|pensando en|ganas de|deseos de) (matarme|suicidarme)",
        r"(quiero|quisiera|ganas de|deseos de) (morirme|morir)",
        r"me (quiero|voy a) matar",
        r"me quiero morir",
        r"quitarme la vida",
        r"(acabar|terminar) con mi (propia )?vida",
        r"(no|ya no|nunca mas) (quiero|tengo ganas de|deseo) (vivir|seguir viviendo|estar viva?)"
        + _NOT_HOW,
        r"no (le )?(veo|encuentro) sentido a (mi )?(la )?vida",
        r"(hacerme dano|cortarme las venas)",
        r"(mejor|preferiria) (estar|estaria) muert[ao]",
    ),
    "fr": (
        r"(je|j) (veux|vais|voudrais|pense a|pense) (me tuer|mourir|me suicider|en finir)",
        r"me suicider",
        r"mettre fin a (mes jours|ma vie)",
        r"(en finir|finir) avec (la|ma) vie",
        r"envie de (mourir|me tuer|en finir)",
        r"(ne veux plus|veux plus|ai plus envie de|plus envie de) vivre" + _NOT_HOW,
        r"me faire du mal",
    ),
    "en": (
        r"kill(ing)? my ?self",
        r"(i|i m|i am) (want|wanna|wanted) (to )?die",
        r"end it all",
        r"end(ing)? (my|it) (own )?life",
        r"take my (own )?life",
        r"(don t|dont|do not|no longer) want to (live|be alive)" + _NOT_HOW,
        r"hurt(ing)? my ?self",
        r"self ?harm\w*",
        r"better off dead",
        r"no reason to live",
    ),
    "ht": (
        r"swisid\w*",
        r"(mwen|m) (vle|ta vle|pral|prale|anvi) mouri",
        r"touye tet (mwen|m)",
        r"(mwen|m) pa (vle|anvi) viv" + _NOT_HOW,
        r"fini ak lavi (mwen|m)",
        r"mete fen (nan|a) lavi (mwen|m)",
    ),
}
# "suicid" also opens the French and English words ("suicide", "suicidaire", "suicidal").
_SHARED = (r"suicid\w*",)


@cache
def _pattern() -> re.Pattern[str]:
    phrases = [p for ps in _PHRASES.values() for p in ps] + list(_SHARED)
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in phrases) + r")\b")


def in_crisis(text: str) -> bool:
    """Whether the message says its writer thinks of suicide or of harming themselves."""
    return _pattern().search(fold(text)) is not None


def rest(text: str) -> str:
    """The message without its crisis phrases (folded): what else it asks, if anything."""
    return " ".join(_pattern().sub(" ", fold(text)).split())
