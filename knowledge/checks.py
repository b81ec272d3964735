"""Quality gates for the knowledge content (`sello-bot kb check`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

from knowledge.content import LANGUAGES, KnowledgeBase
from knowledge.normalize import fold

MAX_ANSWER = 850  # the footer (source, date) brings a message to at most 1000 characters
MAX_TITLE = 24


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    unreviewed: dict[str, list[str]] = field(default_factory=dict)  # lang -> topic ids
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def contract_ids(topics_yaml: Path) -> list[str]:
    data = yaml.safe_load(topics_yaml.read_text(encoding="utf-8"))
    return [str(t["id"]) for t in data["topics"]]


def _well_formed(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme == "https" and "." in parsed.netloc and " " not in url


def check(kb: KnowledgeBase, required: list[str] | None = None) -> Report:
    report = Report()
    for topic_id in required or ():
        if topic_id not in kb.topics:
            report.errors.append(f"{topic_id}: missing (required by topics.yaml)")
    seen: dict[str, str] = {}
    unreviewed: dict[str, list[str]] = defaultdict(list)
    phrasings = 0
    for topic in kb.topics.values():
        where = topic.id
        if not _well_formed(topic.source):
            report.errors.append(
                f"{where}: source is not a well-formed https link: {topic.source!r}"
            )
        if not topic.source_name:
            report.errors.append(f"{where}: source_name missing")
        for related in topic.related:
            if related not in kb.topics:
                report.errors.append(f"{where}: related topic {related!r} does not exist")
        for lang in LANGUAGES:
            entry = topic.entries.get(lang)
            if entry is None:
                report.errors.append(f"{where}: no {lang} entry")
                continue
            if len(entry.answer) > MAX_ANSWER:
                report.errors.append(
                    f"{where}.{lang}: answer has {len(entry.answer)} characters (max {MAX_ANSWER})"
                )
            if len(entry.title) > MAX_TITLE:
                report.errors.append(f"{where}.{lang}: title over {MAX_TITLE} characters")
            if entry.needs_review:
                unreviewed[lang].append(topic.id)
            for text in entry.phrasings:
                phrasings += 1
                key = fold(text)
                owner = seen.setdefault(key, topic.id)
                if owner != topic.id:
                    report.errors.append(f"{where}.{lang}: phrasing {text!r} also in {owner}")
    report.unreviewed = dict(unreviewed)
    report.counts = {
        "topics": len(kb.topics),
        "phrasings": phrasings,
        "out_of_scope": sum(len(v) for v in kb.out_of_scope.values()),
    }
    return report
