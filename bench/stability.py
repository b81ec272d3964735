"""How much the matcher's answers move when the content changes a little.

Drops a few phrasings of one topic in one language (drawn at random), rebuilds the matcher and
counts the tuning halves' questions whose answer (kind and topic) changed. A change to one
topic should move the answers about that topic, not unrelated ones: an optimizer stopped too
early (the learned re-ranker's tolerance, knowledge/classifier.py `TOL`) moved 10-15 of 1,780
here at 1e-3, 1-5 at 1e-4 (seeds 1-3). Held-out halves are not read.

Run: python bench/stability.py [--drop 5] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import content  # noqa: E402
from knowledge.content import KnowledgeBase  # noqa: E402
from knowledge.evaluation import load_items  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from storage.directory import seed_place_names  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "knowledge" / "examples"


def perturbed(kb: KnowledgeBase, seed: int, drop: int) -> tuple[KnowledgeBase, str]:
    """The knowledge base with `drop` phrasings of one topic's language removed."""
    rng = random.Random(seed)
    topic_id = rng.choice(sorted(kb.topics))
    topic = kb.topics[topic_id]
    lang = rng.choice(sorted(topic.entries))
    entry = topic.entries[lang]
    phrasings = list(entry.phrasings)
    for _ in range(min(drop, len(phrasings) - 1)):
        phrasings.pop(rng.randrange(len(phrasings)))
    kept = type(entry.phrasings)(phrasings)
    entries = {**topic.entries, lang: dataclasses.replace(entry, phrasings=kept)}
    topics = {**kb.topics, topic_id: dataclasses.replace(topic, entries=entries)}
    return dataclasses.replace(kb, topics=topics), f"{topic_id}.{lang}"


def answers(matcher: Matcher, texts: list[str]) -> list[tuple[object, object]]:
    return [(m.kind, m.topic) for m in map(matcher.match, texts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drop", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    texts = [
        item["text"] for path in sorted(DATA.glob("*_tuning.jsonl")) for item in load_items(path)
    ]
    kb, places = content.load(), seed_place_names()
    start = time.process_time()
    reference = answers(Matcher(kb, places=places, cache=Path(tempfile.mkdtemp())), texts)
    print(f"built in {time.process_time() - start:.0f} s of CPU; {len(texts)} tuning questions")
    for seed in args.seeds:
        changed_kb, where = perturbed(kb, seed, args.drop)
        other = Matcher(changed_kb, places=places, cache=Path(tempfile.mkdtemp()))
        moved = sum(a != b for a, b in zip(reference, answers(other, texts), strict=True))
        print(f"  {args.drop} phrasings of {where} dropped: {moved} answers changed")


if __name__ == "__main__":
    main()
