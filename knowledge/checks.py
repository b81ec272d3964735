"""Quality gates for the knowledge content (`sello-bot kb check`)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import yaml
from rapidfuzz import fuzz, process

from knowledge.content import LANGUAGES, KnowledgeBase
from knowledge.normalize import fold

MAX_ANSWER = 850  # the footer (source, date) brings a message to at most 1000 characters
MAX_TITLE = 24
STALE_AFTER = timedelta(days=180)  # fees, fines, phones and addresses change: re-check

_URL = re.compile(r"https?://[^\s)»\"<>]+")
_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
_NUMBER = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?!\d)|\d+")


def urls(text: str) -> set[str]:
    """The links of a text, without the sentence's closing punctuation."""
    return {u.rstrip(".,;:!?") for u in _URL.findall(text)}


def commands(text: str) -> set[str]:
    return set(_COMMAND.findall(_URL.sub(" ", text)))


def numbers(text: str) -> set[str]:
    """The numbers of a text whatever their notation: "CLP 33.026", "33 026 CLP" and
    "33,026" are one number; an "HH:00" time counts as its hour ("8:00" = "8h")."""
    text = re.sub(r"(\d{1,2}):00\b", r"\1", _URL.sub(" ", text))
    return {re.sub(r"\D", "", n) for n in _NUMBER.findall(text)}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    unreviewed: dict[str, list[str]] = field(default_factory=dict)  # lang -> topic ids
    stale: list[str] = field(default_factory=list)  # topics last reviewed too long ago
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


def check(
    kb: KnowledgeBase,
    required: list[str] | None = None,
    *,
    today: date | None = None,
    actions: Collection[str] | None = None,
) -> Report:
    """Errors: the contract, lengths, links, dates, next steps (`actions`: the commands a
    topic may offer), translations that lose or change a link, a command or a number of the
    Spanish reference, and phrasings shared between topics. Also lists the translations
    awaiting native review and the topics not reviewed in `STALE_AFTER`."""
    report = Report()
    today = today or date.today()
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
        if topic.reviewed > today:
            report.errors.append(f"{where}: reviewed {topic.reviewed} is in the future")
        elif today - topic.reviewed > STALE_AFTER:
            report.stale.append(topic.id)
        if actions is not None:
            for action in topic.actions:
                if action.lstrip("/") not in actions:
                    report.errors.append(f"{where}: action {action!r} is not a known next step")
        reference = topic.entries.get("es")
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
            for url in urls(entry.answer):
                if not _well_formed(url):
                    report.errors.append(f"{where}.{lang}: malformed link {url!r}")
            if reference is not None and lang != "es":
                for name, extract in (
                    ("links", urls),
                    ("commands", commands),
                    ("numbers", numbers),
                ):
                    ours, theirs = extract(entry.answer), extract(reference.answer)
                    if ours != theirs:
                        report.errors.append(
                            f"{where}.{lang}: {name} differ from the Spanish: "
                            f"missing {sorted(theirs - ours)}, extra {sorted(ours - theirs)}"
                        )
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


@dataclass(frozen=True)
class Leak:
    """A phrasing of the content that is (nearly) a sentence of an evaluation file."""

    label: str  # topic id, or "out_of_scope"
    lang: str
    phrasing: str
    sentence: str
    similarity: float


LEAK_MIN_WORDS = 5  # shorter texts ("hola buenas tardes", a programme's name) coincide by nature
LEAK_SIMILARITY = 85.0


def leaks(kb: KnowledgeBase, sentences: list[str]) -> list[Leak]:
    """Phrasings copied from, or near-copies of, evaluation sentences.

    An evaluation file measures how the matcher does on questions it has never seen; a
    phrasing within `LEAK_SIMILARITY` (rapidfuzz ratio of the folded texts) of one of its
    sentences, or contained word for word in one, makes the figure meaningless.
    """
    folded = [fold(s) for s in sentences]
    padded = [f" {s} " for s in folded]
    # A short sentence is a name or a greeting: only a sentence can be copied.
    long = [s if len(s.split()) >= LEAK_MIN_WORDS else "" for s in folded]
    found: list[Leak] = []
    own: list[tuple[str, str, str]] = [
        (topic.id, lang, text)
        for topic in kb.topics.values()
        for lang, entry in topic.entries.items()
        for text in entry.phrasings
    ]
    own += [
        ("out_of_scope", lang, text) for lang, texts in kb.out_of_scope.items() for text in texts
    ]
    for label, lang, text in own:
        key = fold(text)
        if len(key.split()) < LEAK_MIN_WORDS:
            continue
        best = process.extractOne(key, long, scorer=fuzz.ratio, score_cutoff=LEAK_SIMILARITY)
        if best is not None:
            found.append(Leak(label, lang, text, sentences[best[2]], float(best[1])))
            continue
        inside = next((i for i, s in enumerate(padded) if f" {key} " in s), None)
        if inside is not None:
            found.append(Leak(label, lang, text, sentences[inside], 100.0))
    return found
