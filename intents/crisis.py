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

# "No quiero vivir así / en la calle / más en Chile", "m pa vle viv konsa", "I don't want to live
# here illegally": how or where one lives, not whether (one of the held-out chat sets has it).
# Dying "of laughter / shame / hunger" or "in my country" is no wish to die either. Spelling as
# texted: "kiero", "jveux", "mw", "wanna", "kms". Only the writer as the subject: "mi ex quiere
# hacerme daño", "ils veulent mettre fin à ma vie", "yo vle fini ak lavi m" are threats (the
# refugee and violence answers), and "se suicidó", "committed suicide" are about someone else
# (the review of the fourteenth session found all of these caught by the first patterns).
_NOT_HOW = (
    r"(?!(?: mas| ya| plus| anymore| anko| more)? (?:asi|aca|aqui|alla|en(?! este mundo)|con|sin|de|del|escondid\w*|ilegal\w*|como|comme|ainsi|dans(?! ce monde)|"
    r"avec|sans|cache\w*|ici|la bas|like|here|there|in(?! this world)|with|without|illegally|hiding|konsa|nan|isit|"
    r"la|ak|san|tankou|kache)\b)"
)
# dying "of laughter/shame/hunger", "in my country": not a wish to die
_NOT_FIG = (
    r"(?! (?:de|d|of|in) (?:risa|la risa|verguenza|la verguenza|rire|honte|hambre|faim|frio|froid|laughter|shame|hunger)\b"
    r"| (?:laughing|ri|grangou|lakay|nan peyi)\b| (?:en|in|dans) (?:mi|my|mon) (?:pais|tierra|country|homeland|pays)\b)"
)
READ = 2000  # a longer message is read this far: "too long" comes after the crisis line
QES = r"(?:quiero|kiero|qiero|qero|kero|quisiera|kisiera|deseo|prefiero|preferiria|ganas de|deseos de)"
VOY = r"(?:voy a|boy a|pienso en|penso en|pense en|he pensado en|pensando en|intente|trate de)"
ME = r"me (?:quiero|kiero|qiero|qero|kero|quisiera|kisiera|voy a|boy a)"
_PHRASES = {
    "es": (
        rf"(?:{QES}|{VOY}) (?:matarme|suicidarme|quitarme la vida|hacerme dano|ahorcarme|acabar con (?:mi (?:propia )?vida|todo)(?! (?:el|la|los|las|este|esta|mi|mis|ese|esa) (?:tramite|papeles|papeleo|proceso|visa|residencia|espera)\b)|terminar con mi (?:propia )?vida|dejar de existir)",
        rf"{QES} (?:morirme|morir|desaparecer|estar muert[ao]){_NOT_FIG}(?! de\b)",
        rf"{ME} (?:matar|suicidar|quitar la vida|ahorcar|hacer dano)\b",
        rf"me (?:quiero|kiero|qiero|qero|kero|quisiera|kisiera) morir{_NOT_FIG}",
        r"suicidarme|cortarme las venas|me (?:estoy cortando|corto las venas)",
        r"(?:no|ya no|nunca mas) (?:quiero|kiero|qiero|tengo ganas de|deseo) (?:vivir|seguir viviendo|estar viv[oa]s?)"
        + _NOT_HOW,
        r"no (?:le )?(?:veo|encuentro|tiene) sentido (?:a )?(?:mi |la )?(?:vida|vivir)|no vale la pena vivir",
        r"(?:mejor|preferiria) (?:estar |estaria )?muert[ao]|(?:ojala|quisiera) (?:no despertar|no haber nacido|morirme)",
    ),
    "fr": (
        r"(?:(?:je|j) (?:veux|vx|ve|voudrais|pense a|prefere|prefererais)|jveux|jvx|jvoudrais) (?:me tuer|mourir|mourrir|me suicider|disparaitre|me faire du mal|etre mort)"
        + _NOT_FIG,
        r"(?:(?:je|j) (?:veux|vx|vais|voudrais|pense a)|jveux|jvx|jvais) (?:me tuer|me suicider|en finir(?! avec (?!la vie|ma vie|tout)))",
        r"me suicider|mettre fin a mes jours|(?:en finir|finir) avec (?:la|ma) vie",
        r"(?<!\ba )(?<!\bont )envie (?:de|d) (?:mourir|me tuer|en finir|disparaitre)" + _NOT_FIG,
        r"(?:ne veux plus|veux plus|veux pas|ai plus envie de|plus envie de) vivre" + _NOT_HOW,
        r"(?:ne veux plus|veux plus|veux pas) etre en vie",
        r"je me (?:fais du mal|scarifie|mutile)|idees noires|plus (?:de |aucune )?raison de vivre|ma vie n a plus (?:de )?sens",
    ),
    "en": (
        r"kill(?:ing)? my ?self|unalive my ?self|(?:wanna|want to|gonna|going to|finna|bout to|about to|gna) kms",
        r"\b(?:want|wanna|wanted) (?:to |2 )?die\b" + _NOT_FIG + r"(?! (?:my|your) hair)",
        r"\bi (?:just |really |kinda )?(?:want|wanna|m going|am going|m gonna|feel like|m thinking of|m thinking about|ll|will)(?: to)? (?:end(?:ing)? (?:it(?= all|$| tonight| now| today)|my (?:own )?life)|take my (?:own )?life)",
        r"feel like ending it|end it all",
        r"(?:don t|dont|do not|no longer) (?:want|wanna) (?:to )?(?:live|be alive)" + _NOT_HOW,
        r"\b(?:i|i m|im|i am|i ve been|ive been|i keep|want to|wanna|going to|gonna) (?:cutting|cut|hurting|hurt) my ?self(?! at work| on the job| working| while)",
        r"(?:thinking (?:of|about)|plan(?:ning)? (?:to|on)) (?:end(?:ing)?|tak(?:e|ing)) my (?:own )?life|wish i could die|\bi (?:want|wanna) (?:to )?disappear\b",
        r"self ?harm\w*|better off dead|rather be dead|wish i (?:was|were) dead|no reason to live|not worth living",
    ),
    "ht": (
        r"(?:mwen|m|mw) (?:vle|ta vle|anvi|ta renmen|pito|ta pito) mouri" + _NOT_FIG,
        r"touye tet (?:mwen|m|mw)\b|(?:mwen|m|mw) (?:vle|ap|pral) touye tet$",
        r"(?:mwen|m|mw) pa (?:vle|anvi) viv" + _NOT_HOW,
        r"(?:mwen|m|mw) (?:vle|ap|pral|anvi|ta vle) (?:fini ak|mete fen (?:nan|a)) lavi (?:mwen|m|mw)",
        r"(?:mwen|m|mw) (?:vle|anvi) disparet|fe tet (?:mwen|m|mw) mal|pa we rezon pou (?:m|mwen) viv",
    ),
}
# bare "suicid"/"swisid": only when not about someone else who died ("se suicido", "s est suicide", "committed suicide")
_SHARED = (
    r"(?<!\bse )(?<!\bs est )(?<!\bcommitted )(?<!\bfe )(?<!\bfin )(?:suicid|suisid|swisid)\w*",
)


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


# Distress without a word of suicide: "ya no aguanto más", "je n'en peux plus", "I can't take
# it anymore", "m pa kapab ankò", "sería mejor no estar aquí". Not a crisis reply: a word of
# care and the line, then the answer to whatever else the message asks (a new-user trial of the
# fourteenth session found these answered with a menu or the answer alone).
_DISTRESS = (
    r"(?:ya )?no (?:aguanto|soporto) mas(?! (?:de|con|que) (?:la|el|los|las|este|esta)\b)",
    r"no puedo mas$",
    r"estoy (?:muy |tan )?(?:desesperad[oa]|deprimid[oa]|hundid[oa])",
    r"me siento (?:muy |tan )?(?:sol[oa]|desesperad[oa]|deprimid[oa]|perdid[oa])\b",
    r"(?:seria|estaria) mejor no (?:estar|existir)",
    r"(?:je|j) n en peux plus|j en peux plus|je suis (?:a bout|desesperee?|deprimee?)",
    r"i can ?t (?:take (?:it|this) any ?more|go on(?: like this| anymore| living)?$|cope)|i (?:m|am) (?:so |really )?"
    r"(?:desperate|hopeless|depressed)|i feel (?:so |really )?(?:hopeless|desperate)",
    r"(?:mwen|m|mw) pa (?:kapab|ka) (?:anko|sipote anko)|(?:mwen|m|mw) (?:dekouraje|deprime)",
)


@cache
def _distress() -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in _DISTRESS) + r")\b")


def distressed(text: str) -> bool:
    """Whether the message says its writer is at the end of their strength."""
    return _distress().search(fold(text)) is not None
