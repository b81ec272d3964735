"""Retrieval benchmark: queries/s and p50/p99 latency of the matcher.

1. On the shipped knowledge base, with queries made from its own phrasings, perturbed
   (typos, no accents, extra words).
2. On a synthetic knowledge base of 100,000 phrasings (2,000 topics x 50), built from a
   Zipf-distributed vocabulary, to show the index + re-rank design scales.

Run: python bench/retrieval.py [--synthetic N]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import content  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from knowledge.normalize import fold  # noqa: E402
from storage.directory import seed_place_names  # noqa: E402

FILLER = ["por favor", "hola", "una consulta", "oiga", "necesito saber", "urgente", "gracias"]


def perturb(text: str, rng: random.Random) -> str:
    words = fold(text).split()
    if words and rng.random() < 0.6:  # a typo: drop, double or swap a letter
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            op = rng.choice(["drop", "double", "swap"])
            if op == "drop":
                w = w[:j] + w[j + 1 :]
            elif op == "double":
                w = w[:j] + w[j] + w[j:]
            else:
                w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
            words[i] = w
    if rng.random() < 0.4:
        words.insert(0, rng.choice(FILLER))
    return " ".join(words)


def measure(matcher: Matcher, queries: list[str]) -> dict[str, float]:
    for q in queries[:50]:  # warm-up (typo-correction cache starts cold anyway)
        matcher.match(q)
    timings = []
    start = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        matcher.match(q)
        timings.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    timings.sort()
    return {
        "queries": len(queries),
        "qps": len(queries) / total,
        "p50_ms": 1000 * statistics.median(timings),
        "p99_ms": 1000 * timings[int(len(timings) * 0.99) - 1],
        "max_ms": 1000 * timings[-1],
    }


def synthetic(n_phrasings: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Topics with a few characteristic words each, phrasings mixing them with common words."""
    syllables = [
        "ka",
        "re",
        "mi",
        "to",
        "sa",
        "lu",
        "pe",
        "no",
        "di",
        "ga",
        "ve",
        "ro",
        "chi",
        "ne",
        "tra",
        "mo",
        "si",
        "pa",
        "que",
        "lo",
    ]
    vocab_size = 30_000

    def word(k: int) -> str:
        r = random.Random(k)
        return "".join(r.choice(syllables) for _ in range(r.randint(2, 4))) + str(k % 97)

    vocab = [word(k) for k in range(vocab_size)]
    weights = [1 / (k + 1) for k in range(vocab_size)]  # Zipf
    per_topic = 50
    topics = max(n_phrasings // per_topic, 1)
    rows = []
    for t in range(topics):
        own = rng.sample(vocab[1000:], 6)
        for _ in range(per_topic):
            common = rng.choices(vocab, weights=weights, k=rng.randint(3, 7))
            words = common + rng.sample(own, rng.randint(2, 4))
            rng.shuffle(words)
            rows.append((f"t{t}", "es", " ".join(words)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=3000)
    args = parser.parse_args()
    rng = random.Random(7)

    t0 = time.perf_counter()
    kb = content.load()
    matcher = Matcher(kb, places=seed_place_names())
    build = time.perf_counter() - t0
    phrasings = [p for t in kb.topics.values() for e in t.entries.values() for p in e.phrasings]
    queries = [perturb(rng.choice(phrasings), rng) for _ in range(args.queries)]
    shipped = measure(matcher, queries)
    print(
        f"shipped KB: {len(phrasings)} phrasings, {len(kb.topics)} topics, load+index {build:.2f} s"
    )
    print(
        "  {queries} queries: {qps:.0f} q/s, p50 {p50_ms:.2f} ms, p99 {p99_ms:.2f} ms, "
        "max {max_ms:.2f} ms".format(**shipped)
    )

    rows = synthetic(args.synthetic, rng)
    t0 = time.perf_counter()
    big = Matcher.from_phrasings(rows)
    build = time.perf_counter() - t0
    queries = [perturb(rng.choice(rows)[2], rng) for _ in range(args.queries)]
    scaled = measure(big, queries)
    print(f"synthetic KB: {len(rows)} phrasings, index built in {build:.1f} s")
    print(
        "  {queries} queries: {qps:.0f} q/s, p50 {p50_ms:.2f} ms, p99 {p99_ms:.2f} ms, "
        "max {max_ms:.2f} ms".format(**scaled)
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
