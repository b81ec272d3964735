"""Retrieval quality on a labelled JSONL file: top-1 accuracy per language, out-of-scope P/R.

`predicted` is the topic the user is shown first: the answer of a full match or the first
suggestion of a partial one; null when the matcher declares the question out of scope.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.matcher import Matcher


def load_items(path: Path) -> list[dict[str, Any]]:
    items = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if "text" not in item or "topic" not in item:
                raise ValueError(f"line {number}: needs 'text' and 'topic'")
            items.append(item)
    return items


def evaluate(matcher: Matcher, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for item in items:
        match = matcher.match(item["text"])
        rows.append(
            {
                "text": item["text"],
                "lang": item.get("lang", "es"),
                "expected": item["topic"],
                "predicted": match.best,
                "kind": match.kind.value,
                "score": round(match.score, 4),
            }
        )
    return {"summary": summarize(rows), "items": rows}


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
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
