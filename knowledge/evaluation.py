"""Retrieval quality on a labelled JSONL file: top-1 accuracy per language, out-of-scope P/R.

`predicted` is the topic the user is shown first: the answer of a full match or the first
suggestion of a partial one; null when the matcher declares the question out of scope.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowledge.content import EXAMPLES_DIR, OUT_OF_SCOPE_LABELS
from knowledge.matcher import Matcher

HELD_OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"


def question_set(name: str) -> Path:
    """One of our question sets by name ("messy8_heldout" or "messy8_heldout.jsonl"): a
    held-out half (tests/data, in a checkout) or a former tuning half, now training examples
    (knowledge/examples, since the eleventh session)."""
    file = name if name.endswith(".jsonl") else f"{name}.jsonl"
    held_out = HELD_OUT_DIR / file
    return held_out if held_out.exists() else EXAMPLES_DIR / file


def load_items(path: Path) -> list[dict[str, Any]]:
    items = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if "text" not in item or "topic" not in item:
                raise ValueError(f"line {number}: needs 'text' and 'topic'")
            if item["topic"] in OUT_OF_SCOPE_LABELS:
                item["topic"] = None
            items.append(item)
    return items


# (text, language of the best-matching phrasing) -> (language detected in the text or None,
# language the answer is given in): how the bot picks the answer's language for a user who
# has not chosen one (intents.language.choose, passed in by the caller).
LanguageChoice = Callable[[str, str | None], tuple[str | None, str]]


def evaluate(
    matcher: Matcher, items: Sequence[dict[str, Any]], language: LanguageChoice | None = None
) -> dict[str, Any]:
    rows = []
    for item in items:
        match = matcher.match(item["text"])
        row = {
            "text": item["text"],
            "lang": item.get("lang", "es"),
            "expected": item["topic"],
            "predicted": match.best,
            "kind": match.kind.value,
            "score": round(match.score, 4),
        }
        if language is not None:
            row["detected"], row["answer_lang"] = language(item["text"], match.lang)
        rows.append(row)
    summary = summarize(rows)
    if language is not None:
        summary["language"] = summarize_language(rows)
    return {"summary": summary, "items": rows}


def summarize_language(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per language: how often detection named the message's language, abstained, or named
    another one, and how often the answer came in the message's language."""
    per_lang: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        stats = per_lang[row["lang"]]
        stats["items"] += 1
        detected = row.get("detected")
        stats[
            "detected" if detected == row["lang"] else "abstained" if detected is None else "wrong"
        ] += 1
        stats["answered"] += row.get("answer_lang") == row["lang"]
    return {
        lang: {
            "items": s["items"],
            "detected": _ratio(s["detected"], s["items"]),
            "abstained": _ratio(s["abstained"], s["items"]),
            "wrong": _ratio(s["wrong"], s["items"]),
            "answered_in_it": _ratio(s["answered"], s["items"]),
        }
        for lang, s in sorted(per_lang.items())
    }


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    per_lang: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    oos_true = oos_predicted = oos_hit = 0
    for row in rows:
        stats = per_lang[row["lang"]]
        correct = row["predicted"] == row["expected"]
        stats["items"] += 1
        stats["correct"] += correct
        if row["expected"] is not None:
            stats["in_scope"] += 1
            stats["top1_correct"] += correct
        else:
            oos_true += 1
        if row["predicted"] is None:
            oos_predicted += 1
            oos_hit += row["expected"] is None
    languages = {
        lang: {
            "items": s["items"],
            "in_scope": s["in_scope"],
            "top1": _ratio(s["top1_correct"], s["in_scope"]),
            "accuracy": _ratio(s["correct"], s["items"]),
        }
        for lang, s in sorted(per_lang.items())
    }
    total_in = sum(s["in_scope"] for s in per_lang.values())
    return {
        "items": len(rows),
        "top1": _ratio(sum(s["top1_correct"] for s in per_lang.values()), total_in),
        "languages": languages,
        "out_of_scope": {
            "items": oos_true,
            "precision": _ratio(oos_hit, oos_predicted),
            "recall": _ratio(oos_hit, oos_true),
        },
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def report(summary: dict[str, Any]) -> str:
    lines = [f"items: {summary['items']}   top-1 accuracy (in scope): {_fmt(summary['top1'])}"]
    for lang, s in summary["languages"].items():
        lines.append(
            f"  {lang}: top-1 {_fmt(s['top1'])} on {s['in_scope']} in-scope items; "
            f"accuracy {_fmt(s['accuracy'])} on all {s['items']}"
        )
    oos = summary["out_of_scope"]
    lines.append(
        f"out of scope ({oos['items']} items): precision {_fmt(oos['precision'])}, "
        f"recall {_fmt(oos['recall'])}"
    )
    if "language" in summary:
        lines.append("answer language (no /idioma chosen, no client hint):")
        for lang, s in summary["language"].items():
            lines.append(
                f"  {lang}: answered in {lang} {_fmt(s['answered_in_it'])}; detection: "
                f"right {_fmt(s['detected'])}, abstained {_fmt(s['abstained'])}, "
                f"wrong {_fmt(s['wrong'])}"
            )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
