"""Group similar unanswered questions for the content team (`sello-bot kb unanswered`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from knowledge.normalize import Normalizer

SIMILAR = 70  # token-set similarity (0-100) at which two questions are "the same question"


@dataclass
class Group:
    example: str
    texts: list[str] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    guesses: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.texts)


def group(
    questions: Sequence[tuple[str, str, str | None]], normalizer: Normalizer | None = None
) -> list[Group]:
    """(text, lang, best topic guess) -> groups, largest first (leader clustering)."""
    normalizer = normalizer or Normalizer()
    groups: list[tuple[str, Group]] = []
    for text, lang, guess in questions:
        key = " ".join(sorted(set(normalizer.tokens(text)))) or text.casefold()
        target = None
        for leader, candidate in groups:
            if fuzz.token_set_ratio(key, leader) >= SIMILAR:
                target = candidate
                break
        if target is None:
            target = Group(example=text)
            groups.append((key, target))
        target.texts.append(text)
        target.languages[lang] += 1
        if guess:
            target.guesses[guess] += 1
    return sorted((g for _, g in groups), key=lambda g: -g.count)
