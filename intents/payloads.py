"""Button payloads: small typed classes, packed and parsed here and nowhere else.

A payload is what a button sends back when pressed ("ofc:take:12"). Each shape is a class,
declared by the flow that handles it, in the spirit of aiogram's `CallbackData`:

    class OfficerTake(Payload, prefix="ofc:take"):
        case_id: int

    OfficerTake(12).pack() == "ofc:take:12"
    OfficerTake.parse("ofc:take:12") == OfficerTake(12)
    OfficerTake.parse("ofc:take:abc") is None

Unlike aiogram's, a prefix may hold the separator: the wire format predates these classes,
and buttons already sent to users (and stored in outbox rows) must keep working, so the
shapes are today's strings byte for byte. Fields follow the prefix in declaration order:

- `int`: a row id, parsed strictly (`storage.ids.parse_id`: ASCII digits, in range);
- a `StrEnum`, or a `Literal[...]` of strings: one of its values;
- `str`: a token of ASCII letters, digits, "_", "." and "-" (never the separator);
- `Annotated[..., OneOf(choices)]` / `Annotated[str, Pattern(regex)]`: narrowed further
  (`OneOf` keeps a reference, so a dict's keys are read, not copied);
- `X | None`: None is the empty string ("menu:" is the main menu).

`parse` returns the payload or None for anything else (another prefix, a part too many or
too few, a bad id, an unknown choice, any form `pack` would not write) and never raises: the text comes from the user's
client and may be forged or replayed. Building a payload with a bad value, or one whose
packed form exceeds Telegram's 64 bytes of callback_data, raises ValueError at once, in the
code that builds it, instead of a button the platform refuses later.

The router (`intents/router.py`) dispatches a pressed payload by its first segment to the
classes the flows declare in `Flow.buttons`; no handler splits a string.
"""

from __future__ import annotations

import re
import types
from collections.abc import Collection
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    Self,
    Union,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
)

from intents.messages import MAX_CALLBACK_BYTES, Button
from storage.ids import parse_id

SEPARATOR = ":"
TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")
_PREFIX_PART = re.compile(r"[a-z0-9_]+")


class OneOf:
    """A field's value must be one of `choices` (any container: a dict means its keys)."""

    def __init__(self, choices: Collection[Any]) -> None:
        self.choices = choices

    def allows(self, value: object) -> bool:
        return value in self.choices

    def __repr__(self) -> str:
        return f"OneOf({list(self.choices)!r})"


class Pattern:
    """A field's value must match `regex` in full (within the token characters)."""

    def __init__(self, regex: str) -> None:
        self.regex = regex
        self._compiled = re.compile(regex)

    def allows(self, value: object) -> bool:
        return isinstance(value, str) and self._compiled.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"Pattern({self.regex!r})"


Constraint = OneOf | Pattern


class _Invalid:
    """Marks a part that does not parse (None is a valid value of optional fields)."""


INVALID = _Invalid()


@dataclass(frozen=True)
class FieldSpec:
    """How one field is packed and parsed, read once from its annotation."""

    name: str
    kind: type  # int, str or a StrEnum
    constraints: tuple[Constraint, ...] = ()
    optional: bool = False

    def valid(self, value: object) -> bool:
        if value is None:
            return self.optional
        if self.kind is int:
            ok = type(value) is int and parse_id(value) == value
        elif issubclass(self.kind, StrEnum):
            ok = isinstance(value, str) and _member(self.kind, value) is not None
        else:
            ok = isinstance(value, str) and TOKEN.fullmatch(value) is not None
        return ok and all(c.allows(value) for c in self.constraints)

    def load(self, raw: str) -> object:
        """The value of one part of a payload, or INVALID."""
        if raw == "" and self.optional:
            return None
        value: object
        if self.kind is int:
            value = parse_id(raw)
        elif issubclass(self.kind, StrEnum):
            value = _member(self.kind, raw)
        else:
            value = raw
        return value if value is not None and self.valid(value) else INVALID

    def dump(self, value: object) -> str:
        return "" if value is None else str(value)


def _member(kind: type[StrEnum], value: str) -> StrEnum | None:
    try:
        return kind(value)
    except ValueError:
        return None


def _spec(name: str, hint: Any) -> FieldSpec:
    optional = False
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        if len(args) != 2 or type(None) not in args:
            raise TypeError(f"payload field {name}: only `X | None` unions can be packed")
        optional = True
        hint = next(a for a in args if a is not type(None))
    constraints: tuple[Constraint, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        constraints = tuple(e for e in extras if isinstance(e, OneOf | Pattern))
    if get_origin(hint) is Literal:
        values = get_args(hint)
        if not all(isinstance(v, str) for v in values):
            raise TypeError(f"payload field {name}: a Literal of strings only")
        return FieldSpec(name, str, (OneOf(frozenset(values)), *constraints), optional)
    if hint is int or hint is str or (isinstance(hint, type) and issubclass(hint, StrEnum)):
        return FieldSpec(name, hint, constraints, optional)
    raise TypeError(f"payload field {name}: {hint!r} cannot be packed")


@dataclass_transform(frozen_default=True)
class Payload:
    """Base of the button payload classes: `class X(Payload, prefix="a:b"): field: int`.

    Subclasses become frozen dataclasses (equal when their fields are). Override
    `__post_init__` (calling super()'s) for a rule across fields, raising ValueError."""

    prefix: ClassVar[str]
    group: ClassVar[str]  # the prefix's first segment: what the router dispatches on
    specs: ClassVar[tuple[FieldSpec, ...]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        parts = prefix.split(SEPARATOR)
        if not all(_PREFIX_PART.fullmatch(part) for part in parts):
            raise ValueError(f"{cls.__name__}: bad payload prefix {prefix!r}")
        cls.prefix = prefix
        cls.group = parts[0]
        dataclass(frozen=True)(cls)
        hints = get_type_hints(cls, include_extras=True)
        cls.specs = tuple(_spec(f.name, hints[f.name]) for f in fields(cls))  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        for spec in self.specs:
            value = getattr(self, spec.name)
            if not spec.valid(value):
                raise ValueError(f"{type(self).__name__}.{spec.name}: bad value {value!r}")

    def pack(self) -> str:
        """The wire form; ValueError over Telegram's 64 bytes of callback_data."""
        parts = [self.prefix, *(spec.dump(getattr(self, spec.name)) for spec in self.specs)]
        packed = SEPARATOR.join(parts)
        if len(packed.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button payload over {MAX_CALLBACK_BYTES} bytes: {packed!r}")
        return packed

    @classmethod
    def parse(cls, text: object) -> Self | None:
        """The payload this text packs, or None for anything else; never raises."""
        if not isinstance(text, str) or len(text) > MAX_CALLBACK_BYTES:
            return None
        head = cls.prefix.split(SEPARATOR)
        parts = text.split(SEPARATOR)
        if parts[: len(head)] != head or len(parts) != len(head) + len(cls.specs):
            return None
        values = {}
        for spec, raw in zip(cls.specs, parts[len(head) :], strict=True):
            value = spec.load(raw)
            if value is INVALID:
                return None
            values[spec.name] = value
        try:
            found = cls(**values)
        except ValueError:
            return None
        # Only the form pack() writes: "ofc:take:012" is not a button this bot sent.
        return found if found.pack() == text else None

    def button(self, label: str) -> Button:
        """A button that sends this payload."""
        return Button(label, self.pack())
