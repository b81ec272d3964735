"""Which language to answer in, and detection of a message's language (py3langid)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, RAW_FLOOR, LanguageIdentifier

from intents.i18n import DEFAULT_LANGUAGE, LANGUAGES, supported
from knowledge.normalize import fold

MIN_CONFIDENCE = 0.97
MIN_LETTERS = 12  # shorter messages ("hola", "ok") say too little about their language


class _WordWalkIdentifier(LanguageIdentifier):
    """py3langid with its byte automaton walked a word at a time, each word's walk remembered.

    py3langid counts its byte n-gram features by walking a deterministic automaton over the
    message's bytes, one Python step per byte through a 40 MB transition table. The walk over
    a word (its bytes and the space after it) from a given state always ends in the same
    state with the same features, so that walk is kept (a bounded dict, emptied when it
    reaches `WALKS` so that the words in use are kept again) and a message costs one lookup
    per word. The counts, hence the scores, are exactly py3langid's (tests/test_language.py
    compares them on every sentence of our question sets and on generated text); only
    `_raw_score`, the walk, is replaced. Written by hand: the library walks bytes only."""

    __slots__ = ("_walks",)
    WALKS = 50_000  # walks kept at most: about 15 MB, 35 MB at worst (WORD_BYTES each)
    WORD_BYTES = 48  # longer runs without a space (links, pasted text) are walked, not kept

    def _raw_score(self, text: bytes) -> Any:
        text = bytes(text)  # py3langid also takes a bytearray or a memoryview
        try:
            walks = self._walks
        except AttributeError:
            walks = self._walks = {}
        features: list[int] = []
        state, start, end = 0, 0, len(text)
        while start < end:
            stop = text.find(b" ", start)
            stop = end if stop < 0 else stop + 1
            key = (state, text[start:stop])
            walked = walks.get(key)
            if walked is None:
                walked = self._walk(state, key[1])
                if stop - start <= self.WORD_BYTES:
                    if len(walks) >= self.WALKS:
                        walks.clear()  # start over: the words in use now are kept again
                    walks[key] = walked
            state = walked[0]
            features.extend(walked[1])
            start = stop
        if features:
            return self._sparse_score(Counter(features), self.nb_ptc)
        # No feature at all: as py3langid (uniform under norm_probs: it abstains).
        fill = 0.0 if self._norm_probs else RAW_FLOOR
        return np.full(len(self.nb_classes), fill, dtype=np.float32)

    def _walk(self, state: int, chunk: bytes) -> tuple[int, tuple[int, ...]]:
        nextmove, rowbase, output = self.tk_nextmove, self._rowbase, self.tk_output
        features = []
        for byte in chunk:
            state = nextmove[rowbase[state] + byte]
            feature = output[state]
            if feature >= 0:
                features.append(feature)
        return state, tuple(features)


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = _WordWalkIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    # The four languages' feature weights as float32 (1.6 MB): py3langid keeps float16, which
    # numpy converts to float32 for every message's product; converting once gives the same
    # scores (float16 to float32 is exact) without that work.
    identifier.nb_ptc = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
    return identifier


def load() -> None:
    """Load the detection model now: at start, rather than on the first long message (half a
    second in which a worker's event loop would answer nothing, not even a webhook's 200)."""
    _identifier()


def detect(text: str) -> tuple[str | None, float]:
    """The message's language among es/ht/fr/en when detection is confident, else None."""
    letters = sum(map(str.isalpha, fold(text)))  # map: no Python frame per character
    if letters < MIN_LETTERS:
        return None, 0.0
    lang, probability = _identifier().classify(text)
    probability = float(probability)
    return (lang if probability >= MIN_CONFIDENCE else None), probability


# Knowledge-base words decide short messages only from this many letters on: "si", "wi", "no"
# or "0" belong to several languages, or to none.
MIN_WORD_LETTERS = 4


def confident(text: str | None, matched_lang: str | None = None) -> str | None:
    """The message's language when it can be told with confidence, else None: py3langid on
    messages long enough for it, else `matched_lang`, the language whose knowledge-base
    phrasings share the message's language-specific words (Matcher.language: "fonasa sans
    rut?" is French, "visa consular ingreso" Spanish; None when the words say nothing).
    Short or ambiguous messages ("ok", "1", "OIM") give None: they never switch a
    conversation's language."""
    if not text:
        return None
    detected, _ = detect(text)
    if detected:
        return detected
    letters = sum(map(str.isalpha, text))
    if matched_lang in LANGUAGES and letters >= MIN_WORD_LETTERS:
        return matched_lang
    return None


# A message of fewer words than this switches a conversation's detected language only when
# py3langid is confident of it: on the knowledge base's words alone, "merci", "hola", "no sé"
# or "ok gracias" (the everyday words of every language spoken in Chile) set the language of a
# conversation that has none, never switch one (product.md: a short message never does).
SWITCH_WORDS = 3


def switches(text: str | None, detected: str) -> bool:
    """Whether `detected`, the confident language of `text`, may replace the language a
    conversation already has: py3langid's own verdict always may; the knowledge base's words
    (`confident`'s second way) only in a message of SWITCH_WORDS different words or more."""
    if not text:
        return False
    if detect(text)[0] == detected:
        return True
    # Distinct words of three letters or more: "ok ok ok", "si si gracias" say no more than
    # "ok" or "gracias".
    words = {w for w in (re.sub(r"[^a-z]", "", word) for word in fold(text).split()) if len(w) >= 3}
    return len(words) >= SWITCH_WORDS


def followed(kept: str | None, text: str | None, detected: str | None) -> str | None:
    """The detected language a conversation keeps after `text` (whose confident language is
    `detected`): people change language, and it follows them, unless the message is too short
    to switch one it already has (`switches`)."""
    if detected and detected != kept and (kept is None or switches(text, detected)):
        return detected
    return kept


def conversation(chosen: str | None, detected: str | None, client_hint: str | None) -> str:
    """The conversation's language (product.md): the user's /idioma choice; else the
    language of their last confidently detected message (kept with the user); else the
    client's language if supported; else Spanish."""
    return supported(chosen) or supported(detected) or supported(client_hint) or DEFAULT_LANGUAGE


def choose(
    chosen: str | None,
    text: str | None,
    client_hint: str | None,
    matched_lang: str | None = None,
) -> str:
    """The answer language of one message with no history (the `ask` and `eval` commands):
    as `conversation`, with this message's confident language as the detected one."""
    return conversation(chosen, confident(text, matched_lang), client_hint)
