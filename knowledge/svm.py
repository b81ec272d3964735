"""The textbook classifier: TF-IDF word (1-2) and character (2-5, within words) n-grams of the
folded text and a linear SVM (scikit-learn's LinearSVC), trained on the knowledge phrasings and
the training examples, with the out-of-scope ones as a class of their own. No lexicon, no
stemming, no typo correction.

It is the baseline the matcher is measured against (knowledge/baseline.py), and, since the
thirteenth session, the matcher's second opinion on scope: when the matcher judges a message
out of scope by a narrow lead and this model names a topic, that topic is offered (see
`Matcher.SCOPE_DOUBT`).

Scoring one text re-does the vectorizers' and the SVM's arithmetic with numpy on the fitted
weights (as knowledge/classifier.py does), about ten times faster than sklearn's `transform`
and `decision_function` per call; the fit can be kept in a cache directory like the
re-ranker's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from knowledge import normalize
from knowledge.classifier import fit_key, read_arrays, tfidf_row, write_arrays
from knowledge.content import KnowledgeBase
from knowledge.normalize import fold

log = logging.getLogger(__name__)
C = 1.0


def training_data(kb: KnowledgeBase, out_of_scope: str) -> tuple[list[str], list[str]]:
    """Every title and phrasing with its topic, every out-of-scope example and every training
    example (knowledge/examples) with its label (`out_of_scope` for the out-of-scope ones)."""
    texts, labels = [], []
    for topic in kb.topics.values():
        for entry in topic.entries.values():
            for text in (entry.title, *entry.phrasings):
                texts.append(text)
                labels.append(topic.id)
    for examples in kb.out_of_scope.values():
        texts += examples
        labels += [out_of_scope] * len(examples)
    for topic_id, _, text in kb.examples:
        texts.append(text)
        labels.append(topic_id or out_of_scope)
    return texts, labels


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(preprocessor=fold, ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(
        preprocessor=fold, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
    )
    return words, chars


class Svm:
    def __init__(
        self, texts: Sequence[str], labels: Sequence[str], *, cache: Path | None = None
    ) -> None:
        """Fit on (texts, labels), or load the fit from `cache` when it holds this one."""
        words, chars = _vectorizers()
        self._word_terms = words.build_analyzer()
        self._char_terms = chars.build_analyzer()
        path = None
        if cache is not None:
            # The vocabulary is of folded terms: the folding's code is part of the fit.
            code = [Path(__file__), Path(normalize.__file__)]
            key = fit_key(["svm", C], zip(labels, texts, strict=True), code)
            path = cache / f"svm-{key}.npz"
            if self._load(path):
                return
        self._fit(texts, labels)
        if path is not None:
            write_arrays(
                path,
                labels=np.array(self.labels),
                words=np.array(sorted(self._word_index, key=self._word_index.__getitem__)),
                chars=np.array(sorted(self._char_index, key=self._char_index.__getitem__)),
                word_idf=self._word_idf,
                char_idf=self._char_idf,
                weights=self._weights,
                intercept=self._intercept,
            )

    def _fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        words, chars = _vectorizers()
        features = hstack([words.fit_transform(texts), chars.fit_transform(texts)])
        model = LinearSVC(C=C, random_state=0).fit(features, list(labels))  # reproducible
        self.labels: list[str] = [str(label) for label in model.classes_]
        self._word_index = dict(words.vocabulary_)
        self._char_index = dict(chars.vocabulary_)
        self._word_idf = words.idf_.astype(np.float32)
        self._char_idf = chars.idf_.astype(np.float32)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # two classes: one hyperplane, positive for the second class
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        self._weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._intercept = intercept.astype(np.float32)

    def _load(self, path: Path) -> bool:
        names = ("labels", "words", "chars", "word_idf", "char_idf", "weights", "intercept")
        data = read_arrays(path, *names)
        if data is None:
            return False
        n_words, n_chars, n_labels = len(data["words"]), len(data["chars"]), len(data["labels"])
        if (
            data["word_idf"].shape != (n_words,)
            or data["char_idf"].shape != (n_chars,)
            or data["weights"].shape != (n_words + n_chars, n_labels)
            or data["intercept"].shape != (n_labels,)
        ):
            log.warning("fit cache inconsistent, training again: %s", path)
            return False
        self.labels = [str(label) for label in data["labels"]]
        self._word_index = {str(term): i for i, term in enumerate(data["words"])}
        self._char_index = {str(term): i for i, term in enumerate(data["chars"])}
        self._word_idf = data["word_idf"].astype(np.float32)
        self._char_idf = data["char_idf"].astype(np.float32)
        self._weights = np.ascontiguousarray(data["weights"], dtype=np.float32)
        self._intercept = data["intercept"].astype(np.float32)
        return True

    def decide(self, text: str) -> tuple[str, float]:
        """The label with the highest decision value, and that value."""
        word_ids, word_values = tfidf_row(self._word_terms(text), self._word_index, self._word_idf)
        offset = len(self._word_index)
        char_ids, char_values = tfidf_row(
            self._char_terms(text), self._char_index, self._char_idf, offset
        )
        ids = word_ids + char_ids
        scores = self._intercept.copy()
        if ids:
            scores += np.asarray(word_values + char_values, dtype=np.float32) @ self._weights[ids]
        best = int(scores.argmax())
        return self.labels[best], float(scores[best])
