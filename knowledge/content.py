"""Load the YAML knowledge content into frozen, validated objects."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from knowledge.languages import DEFAULT_LANGUAGE, LANGUAGES

REFERENCE_LANGUAGE = DEFAULT_LANGUAGE
CONTENT_DIR = Path(__file__).parent / "content"
# Labelled messages as people really write them, kept as training examples (README there):
# the halves of our realistic question sets that are not held out.
EXAMPLES_DIR = Path(__file__).parent / "examples"
# An out-of-scope question is labelled null; the third realistic round (tests/data/README.md)
# wrote the out-of-scope content's name instead. The sets are never edited, so that label is
# read as null (by the examples' loader and by knowledge.evaluation.load_items).
OUT_OF_SCOPE_LABELS = frozenset({"fuera_de_alcance"})
OUT_OF_SCOPE_FILE = "fuera_de_alcance.yaml"
SYNONYMS_FILE = "sinonimos.yaml"


class ContentError(ValueError):
    """The knowledge content is malformed."""


@dataclass(frozen=True)
class Entry:
    """A topic in one language."""

    lang: str
    title: str
    answer: str
    phrasings: tuple[str, ...]
    needs_review: bool = False


@dataclass(frozen=True)
class Evidence:
    """What backs one fact of the Spanish answer: `claim` is the passage of the answer that
    states it, `quote` a verbatim excerpt (in its original language) of the page `url` read on
    `read`. Facts about this bot itself are backed by a project file instead (`file`, a path
    from the repository root, whose text must contain the quote); `read` is then optional.
    `read` is None when missing or not a YYYY-MM-DD date (the check reports it)."""

    claim: str
    quote: str
    url: str = ""
    read: date | None = None
    file: str = ""


@dataclass(frozen=True)
class Unconfirmed:
    """A passage of the answer that itself says a point is not confirmed, and `who` (named in
    the answer) can confirm it. The facts inside the passage need no evidence."""

    claim: str
    who: str


@dataclass(frozen=True)
class Topic:
    id: str
    source: str
    source_name: str
    reviewed: date
    entries: Mapping[str, Entry]
    related: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    dynamic: bool = False
    evidence: tuple[Evidence, ...] = ()
    unconfirmed: tuple[Unconfirmed, ...] = ()

    def entry(self, lang: str) -> Entry:
        """The entry in `lang`, or the Spanish reference when that language is missing."""
        return self.entries.get(lang) or self.entries[REFERENCE_LANGUAGE]


@dataclass(frozen=True)
class KnowledgeBase:
    topics: Mapping[str, Topic]
    out_of_scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)
    # Office, programme and procedure names that count as facts of an answer (`kb check`
    # wants evidence for each); each name with its variants ("ClaveÚnica", "Clave Única").
    facts_vocabulary: tuple[tuple[str, ...], ...] = ()

    # Training examples: (topic id, or None for out of scope; language; text). They train
    # the matcher (and the baseline) beside the phrasings; they are never answers' content.
    examples: tuple[tuple[str | None, str, str], ...] = ()

    def topic(self, topic_id: str) -> Topic:
        return self.topics[topic_id]

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.topics


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContentError(f"{where}: reviewed must be a YYYY-MM-DD date") from exc


def _read_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _evidence(raw: Any, where: str) -> tuple[Evidence, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ContentError(f"{where}: evidence must be a list of mappings")
    return tuple(
        Evidence(
            claim=str(item.get("claim") or "").strip(),
            quote=str(item.get("quote") or "").strip(),
            url=str(item.get("url") or "").strip(),
            read=_read_date(item.get("read")) if item.get("read") else None,
            file=str(item.get("file") or "").strip(),
        )
        for item in raw
    )


def _unconfirmed(raw: Any, where: str) -> tuple[Unconfirmed, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ContentError(f"{where}: unconfirmed must be a list of mappings")
    return tuple(
        Unconfirmed(
            claim=str(item.get("claim") or "").strip(), who=str(item.get("who") or "").strip()
        )
        for item in raw
    )


def _entry(raw: Mapping[str, Any], lang: str, where: str) -> Entry:
    for key in ("title", "answer", "phrasings"):
        if not raw.get(key):
            raise ContentError(f"{where}.{lang}: missing {key}")
    phrasings = raw["phrasings"]
    if not isinstance(phrasings, list) or not all(isinstance(p, str) for p in phrasings):
        raise ContentError(f"{where}.{lang}: phrasings must be a list of strings")
    return Entry(
        lang=lang,
        title=str(raw["title"]).strip(),
        answer=str(raw["answer"]).strip(),
        phrasings=tuple(p.strip() for p in phrasings if p.strip()),
        needs_review=bool(raw.get("needs_review", False)),
    )


def _topic(raw: Mapping[str, Any], where: str) -> Topic:
    topic_id = raw.get("id")
    if not topic_id:
        raise ContentError(f"{where}: a topic without id")
    where = f"{where}:{topic_id}"
    entries = {lang: _entry(raw[lang], lang, where) for lang in LANGUAGES if raw.get(lang)}
    if REFERENCE_LANGUAGE not in entries:
        raise ContentError(f"{where}: the Spanish reference (es) is missing")
    return Topic(
        id=str(topic_id),
        source=str(raw.get("source", "")).strip(),
        source_name=str(raw.get("source_name", "")).strip(),
        reviewed=_as_date(raw.get("reviewed"), where),
        entries=entries,
        related=tuple(raw.get("related") or ()),
        actions=tuple(raw.get("actions") or ()),
        dynamic=bool(raw.get("dynamic", False)),
        evidence=_evidence(raw.get("evidence"), where),
        unconfirmed=_unconfirmed(raw.get("unconfirmed"), where),
    )


def load_examples(
    directory: Path, topics: Mapping[str, Topic]
) -> tuple[tuple[str | None, str, str], ...]:
    """Every JSON line of the examples directory: {"text", "lang", "topic"} (topic null: out
    of scope); other fields (source, note) are the writers' and are not read."""
    examples: list[tuple[str | None, str, str]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ContentError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise ContentError(f"{where}: an example is a JSON object")
            text, lang, topic = item.get("text"), item.get("lang"), item.get("topic")
            if topic is not None and not isinstance(topic, str):
                raise ContentError(f"{where}: topic must be a topic id or null")
            if not isinstance(text, str) or not text.strip():
                raise ContentError(f"{where}: an example needs a text")
            if lang not in LANGUAGES:
                raise ContentError(f"{where}: language {lang!r} is not one of {LANGUAGES}")
            if topic in OUT_OF_SCOPE_LABELS:
                topic = None
            if topic is not None and topic not in topics:
                raise ContentError(f"{where}: topic {topic!r} does not exist")
            examples.append((topic, lang, text.strip()))
    return tuple(examples)


def load(directory: Path = CONTENT_DIR, examples: Path | None = None) -> KnowledgeBase:
    """Read every YAML file of the content directory, and the training examples (`examples`;
    by default the shipped ones with the shipped content, none with another directory)."""
    topics: dict[str, Topic] = {}
    out_of_scope: dict[str, list[str]] = {}
    synonyms: dict[str, str] = {}
    vocabulary: list[tuple[str, ...]] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for raw in data.get("topics") or ():
            topic = _topic(raw, path.name)
            if topic.id in topics:
                raise ContentError(f"{path.name}: topic {topic.id} defined twice")
            topics[topic.id] = topic
        for lang, outside in (data.get("out_of_scope") or {}).items():
            out_of_scope.setdefault(lang, []).extend(str(e) for e in outside)
        for canonical, variants in (data.get("synonyms") or {}).items():
            for variant in _as_list(variants):
                synonyms[str(variant)] = str(canonical)
        for name in data.get("facts_vocabulary") or ():
            vocabulary.append(tuple(str(v) for v in _as_list(name)))
    if examples is None and directory == CONTENT_DIR:
        examples = EXAMPLES_DIR
    return KnowledgeBase(
        topics=topics,
        out_of_scope={lang: tuple(v) for lang, v in out_of_scope.items()},
        synonyms=synonyms,
        facts_vocabulary=tuple(vocabulary),
        examples=load_examples(examples, topics) if examples is not None else (),
    )


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else [value]
