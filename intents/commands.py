"""Commands, each declared once, in the `Flow` of the module that handles it.

A `CommandSpec` says everything the rest of the bot needs to know about a command: its word,
its handler, the roles that may use it, its words in each language, whether it takes an
argument, and its line in each listing a user sees. The router routes and enforces the roles
from it; the help (/ayuda and the "what can you do" answer), the Telegram command menu, a
topic's next-step buttons and the privacy text's command list are generated from it.

A declaration is checked when it is built, so a command cannot be half declared: the roles and
the help line must be given (EVERYONE and None are answers, a missing argument is an error),
words must be what a user can type, and a listing line must name its command.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field

from intents.context import Handler
from intents.i18n import N_
from intents.roles import MUNICIPAL, OFFICER, allowed
from knowledge.languages import LANGUAGES
from knowledge.normalize import fold
from storage.states import Role

# What Telegram accepts as a command, and what a typed command folds to.
WORD = re.compile(r"[a-z0-9_]{1,32}")

EVERYONE: frozenset[Role] = frozenset()

# The help's sections, in order: who a command is for (its roles) decides its section, and
# whoever may use the section's commands sees it (admins see every section).
HELP_SECTIONS: tuple[tuple[frozenset[Role], str | None], ...] = (
    (EVERYONE, None),
    (frozenset({MUNICIPAL}), N_("Como contacto municipal:")),
    (frozenset({OFFICER}), N_("Como encargada/o regional:")),
    (frozenset({MUNICIPAL, OFFICER}), None),
)


@dataclass(frozen=True)
class Line:
    """A command's line in one listing (the help, the Telegram menu, the privacy text): a msgid
    and its place. Lines show in the order of their places. Commands that share a line
    ("/suscribir y /baja – …") declare the same one, and it shows once; a line may also name
    commands of other flows (the privacy text's "/idioma, /suscribir, /baja", on /idioma)."""

    text: str
    place: int


@dataclass(frozen=True)
class NextStep:
    """A command a topic may offer as a button (the topic's `actions` in the content).

    offered_to: the roles shown the button; None for the command's own roles. Unlike the
    command itself, the button is shown to admins only when `offered_to` names them.
    """

    label: str
    offered_to: frozenset[Role] | None = None


@dataclass(frozen=True)
class CommandSpec:
    """One command.

    word: what is typed after "/" (also without it, in a private chat); words: its other
    words, per language ("en": ("help",)); takes_argument: "/registro CODE" also works typed
    without "/"; roles: who may use it, EVERYONE for all (admins may use every command); the
    router refuses anyone else, with `refused` (a handler) when the command has a kinder answer
    than the bare refusal; help: its line in the help, in the section of its roles, None when
    not listed; menu: its description and place in the Telegram command menu; privacy: its
    line in the privacy text (what a user can do with their data); next_step: its button
    when a topic offers it.
    """

    word: str
    handler: Handler
    _: KW_ONLY
    roles: Collection[Role]
    help: Line | None
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    takes_argument: bool = False
    menu: Line | None = None
    privacy: Line | None = None
    next_step: NextStep | None = None
    refused: Handler | None = None

    def __post_init__(self) -> None:
        problems = []
        if not WORD.fullmatch(self.word):
            problems.append("the word must be 1-32 of a-z, 0-9, _ (Telegram's rule)")
        try:
            roles = frozenset(Role(role) for role in self.roles)
        except ValueError:
            problems.append(f"unknown role in {sorted(self.roles)}")
            roles = EVERYONE
        object.__setattr__(self, "roles", roles)
        for lang, words in self.words.items():
            if lang not in LANGUAGES:
                problems.append(f"words for {lang!r}, a language the bot does not speak")
            if isinstance(words, str):
                problems.append(f"words for {lang!r} must be a tuple, not a string")
                continue
            problems += [
                f"{word!r} is not a typed word (folded, a-z0-9_)"
                for word in words
                if not WORD.fullmatch(word) or fold(word) != word
            ]
        for listing, line in (("help", self.help), ("privacy", self.privacy)):
            if line is not None and not re.search(rf"/{self.word}\b", line.text):
                problems.append(f"its {listing} line does not name /{self.word}")
        if self.menu is not None and not self.menu.text.strip():
            problems.append("an empty description in the Telegram menu")
        if self.refused is not None and not roles:
            problems.append("`refused` without roles: nobody is refused")
        if problems:
            raise ValueError(f"command {self.word!r}: " + "; ".join(problems))

    @property
    def aliases(self) -> tuple[str, ...]:
        """Its other words, in every language, each once."""
        return tuple(dict.fromkeys(word for words in self.words.values() for word in words))

    def offered(self, role: str) -> bool:
        """Is a user with `role` shown this command as a topic's next step?"""
        if self.next_step is None:
            return False
        offered_to = self.next_step.offered_to
        roles = self.roles if offered_to is None else offered_to
        return not roles or role in roles


class Commands:
    """The declared commands of a set of flows, in priority order, and their listings.

    Raises ValueError when two commands claim the same word, a listed command's roles have no
    help section, or two lines of a listing claim one place.
    """

    def __init__(self, specs: Iterable[CommandSpec]) -> None:
        self.specs = tuple(specs)
        self._by_word: dict[str, CommandSpec] = {}
        problems = []
        for spec in self.specs:
            for word in (spec.word, *spec.aliases):
                other = self._by_word.setdefault(word, spec)
                if other is not spec:
                    problems.append(f"{word!r} is a word of both /{other.word} and /{spec.word}")
        sections = {roles for roles, _ in HELP_SECTIONS}
        problems += [
            f"/{spec.word}: no help section for the roles {sorted(spec.roles)}"
            for spec in self.specs
            if spec.help is not None and spec.roles not in sections
        ]
        for listing in ("help", "menu", "privacy"):
            # A place holds one line (in the help: one per section); only the Telegram menu,
            # one entry per command, cannot share it.
            places: dict[tuple[frozenset[Role], int], tuple[Line, CommandSpec]] = {}
            for spec in self.specs:
                line: Line | None = getattr(spec, listing)
                if line is None:
                    continue
                key = (frozenset(spec.roles) if listing == "help" else EVERYONE, line.place)
                taken, owner = places.setdefault(key, (line, spec))
                if owner is not spec and (taken != line or listing == "menu"):
                    problems.append(f"/{spec.word}: place {line.place} of the {listing} is taken")
        if problems:
            raise ValueError("; ".join(problems))

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs)

    def get(self, word: str) -> CommandSpec | None:
        """The command of a word (its own or one of its words in any language)."""
        return self._by_word.get(word)

    def help_lines(self, role: str) -> list[str]:
        """The help of a role, as msgids: each section it may use, its heading, its lines."""
        found = []
        for roles, heading in HELP_SECTIONS:
            if not allowed(role, roles):
                continue
            lines = _listing(spec.help for spec in self.specs if spec.roles == roles)
            if lines and heading is not None:
                found.append(heading)
            found += lines
        return found

    def menu(self) -> list[tuple[str, str]]:
        """The Telegram command menu: (word, description msgid), in place order."""
        listed = sorted(
            (spec.menu.place, spec.word, spec.menu.text)
            for spec in self.specs
            if spec.menu is not None
        )
        return [(word, text) for _, word, text in listed]

    def privacy_lines(self) -> list[str]:
        """The privacy text's command list, as msgids."""
        return _listing(spec.privacy for spec in self.specs)

    def next_step(self, word: str, role: str) -> str | None:
        """The label msgid of a topic's next-step button for `role`; None when not offered."""
        spec = self._by_word.get(word)
        if spec is None or spec.word != word or spec.next_step is None:
            return None
        return spec.next_step.label if spec.offered(role) else None

    @property
    def next_steps(self) -> frozenset[str]:
        """The words a topic may name as next steps (the content checks use them)."""
        return frozenset(spec.word for spec in self.specs if spec.next_step is not None)


def _listing(lines: Iterable[Line | None]) -> list[str]:
    """The distinct lines in place order."""
    distinct = {line for line in lines if line is not None}
    return [line.text for line in sorted(distinct, key=lambda line: line.place)]
