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

from knowledge.content import LANGUAGES, KnowledgeBase, Topic
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


# How each language groups the thousands of a number: as the bot's own figures print them
# (babel: "10.000", "10 000", "10,000"). A law or decree keeps its Chilean name ("Ley 21.325")
# in every language; a phone number's groups ("600 600 26 26", "800 123 456"), a RUT
# ("12.345.678-9") and a decimal ("0,125") are not thousands.
_THOUSANDS = {"es": ".", "en": ",", "fr": " \u00a0\u202f", "ht": " \u00a0\u202f"}
_SPACES = " \u00a0\u202f"
_GROUPED = re.compile(r"(?<![\d.,])[1-9]\d{0,2}(?:([.,\u00a0\u202f ])\d{3})+(?![\d.,]\d)(?!\d)")
_NAMED_NUMBER = re.compile(
    r"(?i)\b(ley|leyes|lwa|loi|law|decreto|d[ée]cret|dekr[eè]|decree|dfl|n[°º]|n\.º|no\.?)\b"
)


def misgrouped(lang: str, text: str) -> list[str]:
    """The numbers of a text whose thousands are not grouped the way `lang` writes them
    ("CLP 118.604" in Kreyòl, where the bot prints 118 604)."""
    expected = _THOUSANDS.get(lang)
    if expected is None:
        return []
    text = _URL.sub(" ", text)
    found = []
    for m in _GROUPED.finditer(text):
        separator = m.group(1)
        if separator in expected:
            continue
        if separator in _SPACES and lang in ("es", "en"):
            continue  # es and en never group with a space: a phone number's groups
        if _NAMED_NUMBER.search(text[max(0, m.start() - 30) : m.start()]):
            continue  # "Ley 21.325", "Lwa 20.609 ak 21.325", "Décret suprême 1.930"
        if re.match(r"[ \u00a0]?\d|-[\dkK]", text[m.end() :]):
            continue  # a phone number's next group, or a RUT's check digit
        found.append(m.group(0))
    return found


def numbers(text: str) -> set[str]:
    """The numbers of a text whatever their notation: "CLP 33.026", "33 026 CLP" and
    "33,026" are one number; an "HH:00" time counts as its hour ("8:00" = "8h")."""
    text = re.sub(r"(\d{1,2}):00\b", r"\1", _URL.sub(" ", text))
    return {re.sub(r"\D", "", n) for n in _NUMBER.findall(text)}


_LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}[.)](?=\s)")
# How an answer says, in the passage itself, that a point is not confirmed.
UNCONFIRMED_MARKERS = (
    "no esta confirmad",
    "no lo tenemos confirmad",
    "no los tenemos confirmad",
    "no la tenemos confirmad",
    "no las tenemos confirmad",
    "no tenemos confirmad",
    "sin confirmar",
    "no encontramos",
    "no conocemos",
)
REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fact:
    """One checkable fact of an answer: a number (in any notation, `value` its digits), a
    link, or a name of `KnowledgeBase.facts_vocabulary` (`value` its first variant)."""

    kind: str  # "number", "link" or "name"
    value: str


def _spaced(text: str) -> str:
    return " ".join(text.split())


def answer_facts(text: str, vocabulary: Collection[tuple[str, ...]] = ()) -> set[Fact]:
    """The facts of a text that need evidence: every number (amounts, fees, days, years,
    percentages, law and article numbers, dates, phones), every link, and every name of the
    vocabulary. Commands (/caso) and the numbers of a numbered list ("1. ...") are not facts."""
    found = {Fact("link", url) for url in urls(text)}
    bare = _LIST_MARKER.sub(" ", _COMMAND.sub(" ", _URL.sub(" ", text)))
    found |= {Fact("number", n) for n in numbers(bare)}
    folded = f" {fold(text)} "
    for variants in vocabulary:
        if any(f" {fold(v)} " in folded for v in variants):
            found.add(Fact("name", variants[0]))
    return found


def _file_text(path: str) -> str | None:
    """The text of an evidence file (a path from the repository root), None if absent."""
    target = (REPOSITORY / path).resolve()
    return target.read_text(encoding="utf-8") if target.is_file() else None


def _quoted(quote: str, text: str) -> bool:
    """Whether `text` contains `quote` (spacing and case aside); "…" in a quote marks a cut,
    so each piece between cuts must be in the text."""
    haystack = _spaced(text).casefold()
    pieces = [_spaced(p).casefold() for p in quote.split("…")]
    return all(p in haystack for p in pieces if p)


def _same_link(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def check_evidence(topic: Topic, kb: KnowledgeBase, today: date) -> list[str]:
    """Errors of a topic's evidence: each fact of the Spanish answer (`answer_facts`) must be
    inside the claim of an evidence item or of an `unconfirmed` passage, claims must be
    passages of the answer, an evidence item needs a quote, an https link and a read date not
    in the future (or a project file containing the quote), and an unconfirmed passage must
    say so and name, in the answer, who can confirm. A link is also backed by being the
    topic's source or an evidence link. Translations carry the same numbers and links as the
    Spanish (checked elsewhere), so checking the Spanish covers them."""
    errors: list[str] = []
    where = f"{topic.id}.es"
    if "es" not in topic.entries:
        return errors  # reported as a missing entry
    answer = _spaced(topic.entries["es"].answer)
    folded_answer = fold(answer)
    covered: set[Fact] = set()
    links = {topic.source}
    for item in topic.evidence:
        claim = _spaced(item.claim)
        if not claim or claim not in answer:
            errors.append(f"{where}: evidence claim {item.claim!r} is not a passage of the answer")
        else:
            covered |= answer_facts(claim, kb.facts_vocabulary)
        if not item.quote.strip():
            errors.append(f"{where}: evidence for {item.claim!r} has no quote")
        if item.file:
            text = _file_text(item.file)
            if text is None:
                # The project's shared folder (../shared) is not always beside the repository.
                if not item.file.startswith("../shared/"):
                    errors.append(f"{where}: evidence file {item.file!r} does not exist")
            elif not _quoted(item.quote, text):
                errors.append(f"{where}: the quote for {item.claim!r} is not in {item.file}")
            continue
        links.add(item.url)
        if not _well_formed(item.url):
            errors.append(
                f"{where}: evidence for {item.claim!r} needs an https link, not {item.url!r}"
            )
        if item.read is None:
            errors.append(f"{where}: evidence for {item.claim!r} needs a read date (YYYY-MM-DD)")
        elif item.read > today:
            errors.append(f"{where}: evidence for {item.claim!r} read {item.read}, in the future")
    for item in topic.unconfirmed:
        claim = _spaced(item.claim)
        if not claim or claim not in answer:
            errors.append(
                f"{where}: unconfirmed claim {item.claim!r} is not a passage of the answer"
            )
            continue
        if not any(marker in fold(claim) for marker in UNCONFIRMED_MARKERS):
            errors.append(
                f"{where}: unconfirmed claim {item.claim!r} does not say it is unconfirmed"
            )
            continue
        if not item.who or fold(item.who) not in folded_answer:
            errors.append(
                f"{where}: unconfirmed claim {item.claim!r}: the answer must name who can "
                f"confirm it ({item.who!r})"
            )
            continue
        covered |= answer_facts(claim, kb.facts_vocabulary)
    for fact in sorted(
        answer_facts(topic.entries["es"].answer, kb.facts_vocabulary),
        key=lambda f: (f.kind, f.value),
    ):
        if fact in covered:
            continue
        if fact.kind == "link" and any(_same_link(fact.value, link) for link in links):
            continue
        errors.append(f"{where}: {fact.kind} {fact.value!r} has no evidence")
    return errors


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    unreviewed: dict[str, list[str]] = field(default_factory=dict)  # lang -> topic ids
    stale: list[str] = field(default_factory=list)  # topics last reviewed too long ago
    counts: dict[str, int] = field(default_factory=dict)


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
    evidenced = 0
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
            for number in misgrouped(lang, entry.answer):
                report.errors.append(
                    f"{where}.{lang}: {number!r} is not written as {lang} groups thousands"
                )
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
        report.errors.extend(check_evidence(topic, kb, today))
        if reference is not None:
            evidenced += len(answer_facts(reference.answer, kb.facts_vocabulary))
    report.unreviewed = dict(unreviewed)
    report.counts = {
        "facts": evidenced,
        "topics": len(kb.topics),
        "phrasings": phrasings,
        "out_of_scope": sum(len(v) for v in kb.out_of_scope.values()),
        "examples": len(kb.examples),
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
    """Phrasings and training examples copied from, or near-copies of, evaluation sentences.

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
    # A training example near a held-out sentence (the same writer's two takes on one
    # question, split into both halves) would inflate the held-out figure the same way.
    own += [
        (f"examples:{topic_id or 'out_of_scope'}", lang, text)
        for topic_id, lang, text in kb.examples
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
