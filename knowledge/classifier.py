"""A linear classifier over the knowledge phrasings: the matcher's learned re-ranker.

TF-IDF over content tokens (after folding, synonyms and stemming; with bigrams) and over
character n-grams (typo- and morphology-tolerant), and a multinomial logistic regression
(scikit-learn) trained on every phrasing, with the out-of-scope examples as a class of
their own. It learns which words tell close topics apart, which idf weights cannot.

Training uses scikit-learn; scoring one question re-does the same arithmetic (tf-idf,
l2 norm, linear scores, softmax) with numpy on the fitted weights, which is several times
faster than going through sklearn's batch-oriented `transform`/`predict_proba` per call.

Training takes several seconds, so the fitted numbers can be kept in a cache directory (plain
numpy arrays, no pickle: a tampered file can change matching, never run code), keyed by a
hash of everything that determines them: the phrasings, their labels, their tokens, the
parameters, this module's source and scikit-learn's version. A second process (another
worker, a restart) with the same content loads them instead of training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import sklearn
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.normalize import fold


def _with_bigrams(words: list[str]) -> list[str]:
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


log = logging.getLogger(__name__)
KEEP = 3  # cached fits kept in the cache directory
# The fit's stopping tolerance (bench/stability.py). At 1e-3, until 2026-12-07, the optimizer
# stopped early enough that a small content change swung unrelated answers: dropping 5
# phrasings of one topic changed 10-15 of the 1,780 tuning questions' answers; at 1e-4, 1-5.
# Training takes longer (33 -> 56 s of CPU for the shipped content, once: the fit is cached).
TOL = 1e-4


def _char_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        sublinear_tf=True,
        preprocessor=fold,
        min_df=2,
        dtype=np.float32,
    )


class Classifier:
    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        tokens: Callable[[str], list[str]],
        *,
        c: float = 8.0,
        cache: Path | None = None,
        known: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Fit on (texts, labels), or load the fit from `cache` when it holds this one.
        `known`: the tokens of each text, when the caller has them already."""
        self._tokens = tokens
        self._char_ngrams = _char_vectorizer().build_analyzer()
        token_lists = [list(t) for t in known] if known is not None else [tokens(t) for t in texts]
        key = _key(texts, labels, token_lists, c) if cache is not None else ""
        path = cache / f"classifier-{key}.npz" if cache is not None else None
        if path is not None and self._load(path):
            return
        self._fit(texts, labels, token_lists, c)
        if path is not None:
            self._save(path)

    def _fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        token_lists: Sequence[list[str]],
        c: float,
    ) -> None:
        words = TfidfVectorizer(analyzer=_with_bigrams, sublinear_tf=True)
        chars = _char_vectorizer()
        features = hstack([words.fit_transform(token_lists), chars.fit_transform(texts)])
        model = LogisticRegression(C=c, max_iter=10_000, tol=TOL)
        model.fit(csr_matrix(features), list(labels))
        self.labels: list[str] = [str(label) for label in model.classes_]
        self._word_index = {term: i for term, i in words.vocabulary_.items()}
        offset = len(words.vocabulary_)
        self._char_index = {term: offset + i for term, i in chars.vocabulary_.items()}
        self._idf = np.concatenate([words.idf_, chars.idf_]).astype(np.float32)
        self._weights = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        self._intercept = model.intercept_.astype(np.float32)

    def _save(self, path: Path) -> None:
        words = sorted(self._word_index, key=self._word_index.__getitem__)
        chars = sorted(self._char_index, key=self._char_index.__getitem__)
        write_arrays(
            path,
            labels=np.array(self.labels),
            words=np.array(words),
            chars=np.array(chars),
            idf=self._idf,
            weights=self._weights,
            intercept=self._intercept,
        )

    def _load(self, path: Path) -> bool:
        data = read_arrays(path, "labels", "words", "chars", "idf", "weights", "intercept")
        if data is None:
            return False
        labels, words, chars = data["labels"], data["words"], data["chars"]
        idf, weights, intercept = data["idf"], data["weights"], data["intercept"]
        n = len(words) + len(chars)
        if (
            idf.shape != (n,)
            or weights.shape != (n, len(labels))
            or intercept.shape != (len(labels),)
        ):
            log.warning("fit cache inconsistent, training again: %s", path)
            return False
        self.labels = [str(label) for label in labels]
        self._word_index = {str(term): i for i, term in enumerate(words)}
        self._char_index = {str(term): len(words) + i for i, term in enumerate(chars)}
        self._idf = idf.astype(np.float32)
        self._weights = np.ascontiguousarray(weights, dtype=np.float32)
        self._intercept = intercept.astype(np.float32)
        return True

    def probabilities(self, text: str, tokens: list[str] | None = None) -> dict[str, float]:
        words = tokens if tokens is not None else self._tokens(text)
        word_ids, word_values = tfidf_row(_with_bigrams(words), self._word_index, self._idf)
        char_ids, char_values = tfidf_row(self._char_ngrams(text), self._char_index, self._idf)
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


def tfidf_row(
    terms: Iterable[str], index: Mapping[str, int], idf: np.ndarray, offset: int = 0
) -> tuple[list[int], list[float]]:
    """One vectorizer's row as scikit-learn's TfidfVectorizer (sublinear tf) makes it: 1 + log
    of each known term's count, times its idf, l2-normalized; columns shifted by `offset`."""
    counts = Counter(index[t] for t in terms if t in index)
    values = [(1.0 + math.log(n)) * float(idf[i]) for i, n in counts.items()]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [offset + i for i in counts], [v / norm for v in values]


def write_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Keep a fit's arrays in `path` (numpy's npz, no pickle), atomically; only the `KEEP`
    newest files of the same kind (the name's part before the first "-") are kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # whole or not at all, even with two workers at once
        kind = path.name.split("-", 1)[0]
        stale = sorted(path.parent.glob(f"{kind}-*.npz"), key=lambda p: p.stat().st_mtime)
        for old in stale[:-KEEP]:  # older contents' fits (a few, for rolling upgrades)
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("fit cache not written (%s): %s", path, exc)


def read_arrays(path: Path, *names: str) -> dict[str, np.ndarray] | None:
    """The arrays `write_arrays` kept, or None (absent, damaged: the caller trains again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in names}
    except (OSError, ValueError, KeyError) as exc:
        if path.exists():
            log.warning("fit cache unreadable, training again (%s): %s", path, exc)
        return None


def fit_key(parameters: Sequence[object], rows: Iterable[object], code: Sequence[Path] = ()) -> str:
    """What determines a fit: this module's code and the caller's (`code`), scikit-learn's
    version, the parameters and every training row (as JSON)."""
    running = hashlib.sha256()
    for source in (Path(__file__), *code):
        running.update(source.read_bytes())
    running.update(json.dumps([sklearn.__version__, *parameters], ensure_ascii=False).encode())
    for row in rows:
        running.update(json.dumps(row, ensure_ascii=False).encode())
    return running.hexdigest()[:32]


def _key(
    texts: Sequence[str], labels: Sequence[str], token_lists: Sequence[list[str]], c: float
) -> str:
    """What determines the fit: the data, its tokens (so a lexicon change counts), the
    parameters, this module's code and scikit-learn's version."""
    rows = zip(labels, texts, token_lists, strict=True)
    return fit_key([c], ([label, text, tokens] for label, text, tokens in rows))
