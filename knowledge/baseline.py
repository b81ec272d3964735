"""The textbook baseline the matcher must beat: TF-IDF word and character n-grams and a
linear SVM (scikit-learn's LinearSVC), trained on the same phrasings of the content and the
same training examples (knowledge/examples), with the out-of-scope ones as a class of their
own. No lexicon, no stemming, no typo correction: if the matcher's pipeline does not beat
this on realistic questions, it has not earned its complexity (issue 12, item 8). Used by
`sello-bot eval --baseline` and bench/ablation.py.
"""

from __future__ import annotations

from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from knowledge.content import KnowledgeBase
from knowledge.matcher import OUT_OF_SCOPE, Match, MatchKind
from knowledge.normalize import fold


class Baseline:
    """Same `match` interface as the Matcher: FULL on a topic, NONE on the out-of-scope
    class (no PARTIAL: an SVM's margin is not a calibrated confidence)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        texts, labels = [], []
        for topic in kb.topics.values():
            for entry in topic.entries.values():
                for text in (entry.title, *entry.phrasings):
                    texts.append(text)
                    labels.append(topic.id)
        for examples in kb.out_of_scope.values():
            texts += examples
            labels += [OUT_OF_SCOPE] * len(examples)
        for topic_id, _, text in kb.examples:  # the same training examples as the matcher's
            texts.append(text)
            labels.append(topic_id or OUT_OF_SCOPE)
        self._words = TfidfVectorizer(preprocessor=fold, ngram_range=(1, 2), sublinear_tf=True)
        self._chars = TfidfVectorizer(
            preprocessor=fold, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        )
        features = hstack([self._words.fit_transform(texts), self._chars.fit_transform(texts)])
        self._model = LinearSVC(C=1.0).fit(features, labels)

    def match(self, text: str) -> Match:
        features = hstack([self._words.transform([text]), self._chars.transform([text])])
        scores = self._model.decision_function(features)[0]
        best = int(scores.argmax())
        label = str(self._model.classes_[best])
        if label == OUT_OF_SCOPE:
            return Match(MatchKind.NONE, None, float(scores[best]))
        return Match(MatchKind.FULL, label, float(scores[best]))
