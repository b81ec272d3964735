"""Ablation of the matcher: remove one stage at a time, re-measure on the realistic sets,
beside the textbook baseline (knowledge/baseline.py). Prints top-1 (in scope), out-of-scope
precision/recall and the share of answers in the question's language, per set.

A stage earns its place when removing it costs accuracy on the realistic sets (real_*,
messy_*, written_*: tests/data/README.md). Held-out halves are reported in aggregate only.

Run: python bench/ablation.py [--sets real_tuning messy_tuning ...] [--only STAGE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intents.language import choose  # noqa: E402
from knowledge import content, normalize  # noqa: E402
from knowledge.baseline import Baseline  # noqa: E402
from knowledge.evaluation import evaluate, load_items, question_set  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from storage.directory import seed_place_names  # noqa: E402

SETS = [
    "real_tuning",
    "real_heldout",
    "messy_tuning",
    "messy_heldout",
    "written_tuning",
    "written_heldout",
    "real2_tuning",
    "real2_heldout",
    "messy2_tuning",
    "messy2_heldout",
    "written2_tuning",
    "written2_heldout",
    "real3_tuning",
    "real3_heldout",
    "messy3_tuning",
    "messy3_heldout",
    "written4_tuning",
    "written4_heldout",
    "messy4_tuning",
    "messy4_heldout",
    "real5_tuning",
    "real5_heldout",
    "written5_tuning",
    "written5_heldout",
    "messy5_tuning",
    "messy5_heldout",
    "real6_tuning",
    "real6_heldout",
    "written6_tuning",
    "written6_heldout",
    "messy6_tuning",
    "messy6_heldout",
    "messy7_tuning",
    "messy7_heldout",
    "written8_tuning",
    "written8_heldout",
    "messy8_tuning",
    "messy8_heldout",
    "written9_tuning",
    "written9_heldout",
    "messy9_tuning",
    "messy9_heldout",
    "real9_tuning",
    "real9_heldout",
    "written10_tuning",
    "written10_heldout",
    "messy10_tuning",
    "messy10_heldout",
    "written11_tuning",
    "written11_heldout",
    "messy11_tuning",
    "messy11_heldout",
    "written12_tuning",
    "written12_heldout",
    "messy12_tuning",
    "messy12_heldout",
    "written13_tuning",
    "written13_heldout",
    "messy13_tuning",
    "messy13_heldout",
    "real14_tuning",
    "real14_heldout",
    "messy14_tuning",
    "messy14_heldout",
    "written14_tuning",
    "written14_heldout",
    "real15_tuning",
    "real15_heldout",
    "messy15_tuning",
    "messy15_heldout",
    "written15_tuning",
    "written15_heldout",
    "real16_tuning",
    "real16_heldout",
    "messy16_tuning",
    "messy16_heldout",
    "written16_tuning",
    "written16_heldout",
    "real17_tuning",
    "real17_heldout",
    "written17_tuning",
    "written17_heldout",
    "real18_tuning",
    "real18_heldout",
    "messy18_tuning",
    "messy18_heldout",
    "written18_tuning",
    "written18_heldout",
    "real19_tuning",
    "real19_heldout",
    "messy19_tuning",
    "messy19_heldout",
    "written19_tuning",
    "written19_heldout",
    "real20_tuning",
    "real20_heldout",
    "messy20_tuning",
    "messy20_heldout",
    "written20_tuning",
    "written20_heldout",
]


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = inspect.getattr_static(obj, name)  # a staticmethod stays one when restored
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


_COMBINE = Matcher.combine


# Each stage: how to build the matcher without it (a context active while building AND
# matching, since normalization runs on both sides).
Variant = Callable[[], contextlib.AbstractContextManager[None]]
STAGES: dict[str, tuple[Variant, dict[str, Any]]] = {
    "full matcher": (contextlib.nullcontext, {}),
    "- lexicon (synonyms)": (contextlib.nullcontext, {"synonyms": False}),
    "- stemming": (lambda: patched(normalize, "stem", lambda token: token), {}),
    "- typo correction": (
        lambda: patched(Matcher, "_correct_uncached", lambda self, token: None),
        {},
    ),
    "- place tokens": (contextlib.nullcontext, {"places": False}),
    "- shorthand expansion": (lambda: patched(normalize, "SHORTHAND", {}), {}),
    "- direction of countries": (
        lambda: patched(normalize, "_directions", lambda words, people=(): list(words)),
        {},
    ),
    "- candidate preselection (re-rank all)": (
        lambda: patched(Matcher, "CANDIDATES", 100_000),
        {},
    ),
    # Without the learned models: the re-ranker, the scope SVM's second opinion and its
    # tie-break on long messages.
    "- learned re-ranker": (contextlib.nullcontext, {"learn": False}),
    "- scope second opinion (the SVM)": (
        lambda: patched(Matcher, "SCOPE_DOUBT", float("-inf")),
        {},
    ),
    "- long-message tie-break (the SVM)": (
        lambda: patched(Matcher, "TIE_BREAK_WORDS", 10**9),
        {},
    ),
    "- retrieval (learned model alone)": (lambda: patched(Matcher, "BLEND", 1.0), {}),
    "- language detection": (
        lambda: patched(Matcher, "language", lambda self, text: None),
        {},
    ),
}


def measure(model: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    def language(text: str, matched: str | None) -> tuple[str | None, str]:
        return None, choose(None, text, None, matched)

    summary = evaluate(model, items, language)["summary"]
    answered = sum(
        s["answered_in_it"] * s["items"] for s in summary["language"].values() if s["items"]
    )
    summary["answer_lang"] = answered / summary["items"]
    return summary


def row(name: str, results: dict[str, dict[str, Any]]) -> str:
    cells = []
    for summary in results.values():
        oos = summary["out_of_scope"]
        cells.append(
            f"{summary['top1']:.3f} {oos['precision'] or 0:.2f}/{oos['recall'] or 0:.2f} "
            f"{summary['answer_lang']:.2f}"
        )
    return f"{name:40} " + " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--only", nargs="+", help="stages to run (names as printed)")
    args = parser.parse_args()
    kb = content.load()
    sets = {name: load_items(question_set(name)) for name in args.sets}
    print(f"{'stage removed':40} " + " | ".join(f"{n:>22}" for n in sets))
    print(f"{'':40} " + " | ".join(f"{'top1 oosP/oosR lang':>22}" for _ in sets))
    print(
        row("baseline (tf-idf + LinearSVC)", {n: measure(Baseline(kb), s) for n, s in sets.items()})
    )
    cache = Path(tempfile.mkdtemp(prefix="ablation-"))
    for name, (variant, options) in STAGES.items():
        if args.only and name not in args.only:
            continue
        with variant():
            used = kb if options.get("synonyms", True) else dataclasses.replace(kb, synonyms={})
            places = seed_place_names() if options.get("places", True) else ()
            model = Matcher(used, places=places, learn=options.get("learn", True), cache=cache)
            print(row(name, {n: measure(model, s) for n, s in sets.items()}), flush=True)


if __name__ == "__main__":
    main()
