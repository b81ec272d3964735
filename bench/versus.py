"""The matcher against the textbook baseline (knowledge/baseline.py), question by question,
on the tuning halves only (tests/data/README.md: held-out halves are never read item by item).

Prints, per half, how many in-scope questions each gets right (top-1 as `sello-bot eval`
counts it: the answer or the first suggestion), out-of-scope recall, and with `--list` the
questions where one is right and the other wrong, each of the matcher's losses put in a class:

- none: the matcher declared the question out of scope (or below the PARTIAL floor);
- retrieval over classifier: the classifier's first topic was right, the blend was not;
- classifier over retrieval: retrieval's first topic was right, the blend was not;
- both wrong: neither component had the right topic first.

`--content-at COMMIT` matches against the knowledge content as it was at a git commit (read
with `git archive`; the code is today's). The tuning halves were read to write content, so
today's figures on them are optimistic; matched against the content from before they were
read (be14caa for all six realistic halves, a1d0ace for the second round), they behave like
questions nobody wrote content for: a proxy for the held-out halves that uses tuning halves
only. On 2026-12-07 the matcher and the baseline were level there (546 / 546 of 607 at
be14caa, 273 / 279 of 318 at a1d0ace) while today's content gives 1,364 / 1,325 of 1,392.

Since the eleventh session the tuning halves are training examples (knowledge/examples) of
both models: on today's content their figures are training accuracy. `--content-at` a commit
from before that (95031ab or older) still matches them as unseen questions.

Run: python bench/versus.py [--sets NAME ...] [--list] [--content-at COMMIT]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import content  # noqa: E402
from knowledge.baseline import Baseline  # noqa: E402
from knowledge.evaluation import load_items, question_set  # noqa: E402
from knowledge.matcher import OUT_OF_SCOPE, Matcher  # noqa: E402
from storage.directory import seed_place_names  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TUNING = [
    "questions_tuning",
    "real_tuning",
    "messy_tuning",
    "written_tuning",
    "real2_tuning",
    "messy2_tuning",
    "written2_tuning",
    "real3_tuning",
    "messy3_tuning",
    "written4_tuning",
    "messy4_tuning",
    "real5_tuning",
    "written5_tuning",
    "messy5_tuning",
    "real6_tuning",
    "written6_tuning",
    "messy6_tuning",
    "messy7_tuning",
    "written8_tuning",
    "messy8_tuning",
    "written9_tuning",
    "messy9_tuning",
    "real9_tuning",
    "written10_tuning",
    "messy10_tuning",
    "written11_tuning",
    "messy11_tuning",
    "written12_tuning",
    "messy12_tuning",
    "written13_tuning",
    "messy13_tuning",
    "real14_tuning",
    "messy14_tuning",
    "written14_tuning",
    "real15_tuning",
    "messy15_tuning",
    "written15_tuning",
    "real16_tuning",
    "messy16_tuning",
    "written16_tuning",
    "real17_tuning",
    "written17_tuning",
    "real18_tuning",
    "messy18_tuning",
    "written18_tuning",
    "real19_tuning",
    "messy19_tuning",
    "written19_tuning",
    "real20_tuning",
    "messy20_tuning",
    "written20_tuning",
]


def content_at(commit: str) -> content.KnowledgeBase:
    """The knowledge base of `commit` (its content and, from the eleventh session on, its
    training examples), extracted to a temporary directory."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", commit, "knowledge/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    folders = [f for f in ("knowledge/content", "knowledge/examples") if f in listed]
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, *folders],
        check=True,
        capture_output=True,
    ).stdout
    target = Path(tempfile.mkdtemp(prefix="content-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    examples = target / "knowledge" / "examples"
    return content.load(target / "knowledge" / "content", examples if examples.is_dir() else None)


def loss_class(matcher: Matcher, text: str, expected: str, predicted: str | None) -> str:
    if predicted is None:
        return "none"
    terms = matcher._query_terms(matcher.normalizer.tokens(text))
    retrieved = [label for label, _, _ in matcher.retrieve(text, terms) if label != OUT_OF_SCOPE]
    retrieval_first = retrieved[0] if retrieved else None
    classifier_first = None
    if matcher._classifier is not None:
        corrected = [t for t, _, _ in terms if t is not None]
        probabilities = matcher._classifier.probabilities(text, corrected)
        classifier_first = max(probabilities, key=probabilities.__getitem__, default=None)
    if classifier_first == expected:
        return "retrieval over classifier"
    if retrieval_first == expected:
        return "classifier over retrieval"
    return "both wrong"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=TUNING)
    parser.add_argument("--list", action="store_true", help="print the disagreements")
    parser.add_argument("--content-at", metavar="COMMIT", help="content of a git commit")
    args = parser.parse_args()
    if any("heldout" in name or "blind" in name for name in args.sets):
        parser.error("held-out sets are measured in aggregate only: use sello-bot eval")
    kb = content_at(args.content_at) if args.content_at else content.load()
    matcher = Matcher(kb, places=seed_place_names())
    baseline = Baseline(kb)
    totals: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for name in args.sets:
        counts: Counter[str] = Counter()
        lines = []
        for item in load_items(question_set(name)):
            text, expected = item["text"], item["topic"]
            found, other = matcher.match(text), baseline.match(text).best
            if expected is None:
                counts["oos"] += 1
                counts["oos matcher"] += found.best is None
                counts["oos baseline"] += other is None
                continue
            right, other_right = found.best == expected, other == expected
            counts["in scope"] += 1
            counts["matcher"] += right
            counts["baseline"] += other_right
            if right == other_right:
                continue
            if right:
                counts["matcher only"] += 1
                lines.append(f"  M+ B- {expected} (baseline: {other}) | {text}")
            else:
                kind = loss_class(matcher, text, expected, found.best)
                classes[kind] += 1
                counts["baseline only"] += 1
                lines.append(
                    f"  M- B+ {expected} (matcher: {found.kind.value} {found.best}; {kind}) | {text}"
                )
        totals.update(counts)
        print(
            f"{name:18} matcher {counts['matcher']:4} / baseline {counts['baseline']:4} of "
            f"{counts['in scope']:4} in scope (only one right: matcher {counts['matcher only']}, "
            f"baseline {counts['baseline only']}); out of scope {counts['oos matcher']} / "
            f"{counts['oos baseline']} of {counts['oos']}",
            flush=True,
        )
        if args.list:
            print("\n".join(lines))
    print(
        f"{'total':18} matcher {totals['matcher']:4} / baseline {totals['baseline']:4} of "
        f"{totals['in scope']:4}; out of scope {totals['oos matcher']} / "
        f"{totals['oos baseline']} of {totals['oos']}"
    )
    print(
        "matcher's losses where the baseline was right: "
        + ", ".join(f"{kind} {n}" for kind, n in classes.most_common())
    )


if __name__ == "__main__":
    main()
