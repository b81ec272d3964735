"""The textbook baseline the matcher must beat: TF-IDF word and character n-grams and a
linear SVM (knowledge/svm.py), trained on the same phrasings of the content and the same
training examples (knowledge/examples), with the out-of-scope ones as a class of their own.
No lexicon, no stemming, no typo correction: if the matcher's pipeline does not beat this on
realistic questions, it has not earned its complexity (issue 12, item 8). Used by `sello-bot
eval --baseline`, bench/ablation.py and bench/versus.py.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.content import KnowledgeBase
from knowledge.matcher import OUT_OF_SCOPE, Match, MatchKind
from knowledge.svm import Svm, training_data


class Baseline:
    """Same `match` interface as the Matcher: FULL on a topic, NONE on the out-of-scope
    class (no PARTIAL: an SVM's margin is not a calibrated confidence)."""

    def __init__(self, kb: KnowledgeBase, *, cache: Path | None = None) -> None:
        self._svm = Svm(*training_data(kb, OUT_OF_SCOPE), cache=cache)

    def match(self, text: str) -> Match:
        label, score = self._svm.decide(text)
        if label == OUT_OF_SCOPE:
            return Match(MatchKind.NONE, None, score)
        return Match(MatchKind.FULL, label, score)
