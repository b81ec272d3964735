"""A linear classifier over the knowledge phrasings: the matcher's learned re-ranker.

TF-IDF over content tokens (after folding, synonyms and stemming; with bigrams) and over
character n-grams (typo- and morphology-tolerant), and a multinomial logistic regression
(scikit-learn) trained on every phrasing, with the out-of-scope examples as a class of
their own. It learns which words tell close topics apart, which idf weights cannot.

Training uses scikit-learn; scoring one question re-does the same arithmetic (tf-idf,
l2 norm, linear scores, softmax) with numpy on the fitted weights, which is several times
faster than going through sklearn's batch-oriented `transform`/`predict_proba` per call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.normalize import fold


def _with_bigrams(words: list[str]) -> list[str]:
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


class Classifier:
    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        tokens: Callable[[str], list[str]],
        *,
        c: float = 8.0,
    ) -> None:
        self._tokens = tokens
        words = TfidfVectorizer(analyzer=lambda t: _with_bigrams(tokens(t)), sublinear_tf=True)
        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            preprocessor=fold,
            min_df=2,
            dtype=np.float32,
        )
        features = hstack([words.fit_transform(texts), chars.fit_transform(texts)])
        model = LogisticRegression(C=c, max_iter=3000, tol=1e-3)
        model.fit(csr_matrix(features), list(labels))
        self.labels: list[str] = [str(label) for label in model.classes_]
        self._char_ngrams = chars.build_analyzer()
        self._word_index = {term: i for term, i in words.vocabulary_.items()}
        offset = len(words.vocabulary_)
        self._char_index = {term: offset + i for term, i in chars.vocabulary_.items()}
        self._idf = np.concatenate([words.idf_, chars.idf_]).astype(np.float32)
        self._weights = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        self._intercept = model.intercept_.astype(np.float32)

    def _block(
        self, terms: Iterable[str], index: Mapping[str, int]
    ) -> tuple[list[int], list[float]]:
        counts = Counter(index[t] for t in terms if t in index)
        ids = list(counts)
        values = [(1.0 + math.log(n)) * float(self._idf[i]) for i, n in counts.items()]
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return ids, [v / norm for v in values]

    def probabilities(self, text: str, tokens: list[str] | None = None) -> dict[str, float]:
        words = tokens if tokens is not None else self._tokens(text)
        word_ids, word_values = self._block(_with_bigrams(words), self._word_index)
        char_ids, char_values = self._block(self._char_ngrams(text), self._char_index)
        ids = word_ids + char_ids
        scores = self._intercept.copy()
        if ids:
            scores += np.asarray(word_values + char_values, dtype=np.float32) @ self._weights[ids]
        scores -= scores.max()
        exp = np.exp(scores)
        probabilities = exp / exp.sum()
        return {
            label: float(p)
            for label, p in zip(self.labels, probabilities, strict=True)
            if p >= 0.005
        }
