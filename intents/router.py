"""Routing: which flow handles an incoming message, declared by each flow, listed in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from intents.commands import Commands, CommandSpec
from intents.context import Context, Handler
from intents.messages import Reply
from intents.roles import allowed, not_allowed
from knowledge.normalize import fold


@dataclass(frozen=True)
class Flow:
    """What one flow module handles.

    commands: its commands, each declared once with its words, roles and listings
    (intents/commands.py); buttons: payload prefix -> handler ("lang" for "lang:fr");
    steps: step name -> handler, used while the user is inside this flow.
    """

    name: str
    commands: Sequence[CommandSpec] = ()
    buttons: Mapping[str, Handler] = field(default_factory=dict)
    steps: Mapping[str, Handler] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    word: str
    args: str
    slash: bool


def parse_command(text: str | None) -> Command | None:
    """'/registro ABC' or '/menu@SelloBot' -> Command; anything else -> None."""
    if not text:
        return None
    stripped = text.strip()
    if not stripped:
        return None
    head, _, rest = stripped.partition(" ")
    slash = head.startswith("/")
    word = fold(head.lstrip("/").split("@", 1)[0])
    if not word or " " in word:
        return None
    return Command(word=word, args=rest.strip(), slash=slash)


COMMAND_BUTTON = "cmd"


class Router:
    """Resolves commands, buttons and flow steps across the flows, in priority order, and
    enforces each command's roles (typed, or pressed as a next-step button)."""

    def __init__(self, flows: Sequence[Flow]) -> None:
        self.flows = tuple(flows)
        self.commands = Commands(spec for flow in flows for spec in flow.commands)
        self._commands: dict[str, tuple[Flow, Handler]] = {}
        self._takes_args: set[str] = set()
        self._buttons: dict[str, Handler] = {}
        self._button_flows: dict[str, str] = {}
        self._steps: dict[tuple[str, str], Handler] = {}
        for flow in flows:
            for spec in flow.commands:
                for word in (spec.word, *spec.aliases):
                    self._commands[word] = (flow, guarded(spec))
                    if spec.takes_argument:
                        self._takes_args.add(word)
            for prefix, handler in flow.buttons.items():
                self._buttons.setdefault(prefix, handler)
                self._button_flows.setdefault(prefix, flow.name)
            for step, handler in flow.steps.items():
                self._steps[(flow.name, step)] = handler

    def command(self, command: Command) -> Handler | None:
        """The handler of a command; without "/" only a bare word, or a word + one argument
        for commands that take one, counts ("ayuda" yes, "ayuda con mis papeles" no)."""
        found = self._commands.get(command.word)
        if found is None:
            return None
        if not command.slash and command.args:
            if command.word not in self._takes_args or len(command.args.split()) > 1:
                return None
        return found[1]

    def button(self, payload: str) -> tuple[Handler | None, str]:
        """The handler of a button payload and its argument; "cmd:WORD" runs the command
        WORD (a next-step button), exactly as if it had been typed with "/"."""
        prefix, _, rest = payload.partition(":")
        if prefix == COMMAND_BUTTON:
            found = self._commands.get(rest) if rest and rest == fold(rest) else None
            return (found[1] if found else None), ""
        return self._buttons.get(prefix), rest

    def flow_of(self, command: Command | None = None, payload: str | None = None) -> str | None:
        """The name of the flow a command or a button payload belongs to (None: unknown)."""
        if payload is not None:
            prefix, _, rest = payload.partition(":")
            if prefix != COMMAND_BUTTON:
                return self._button_flows.get(prefix)
            found = self._commands.get(rest)
            return found[0].name if found else None
        if command is not None:
            found = self._commands.get(command.word)
            return found[0].name if found else None
        return None

    def step(self, flow: str | None, step: str | None) -> Handler | None:
        if not flow or not step:
            return None
        return self._steps.get((flow, step))


def guarded(spec: CommandSpec) -> Handler:
    """The command's handler behind its role check: a user its roles leave out gets the
    command's `refused` answer or the refusal, whatever the handler itself checks."""
    if not spec.roles:
        return spec.handler

    async def run(ctx: Context) -> list[Reply]:
        if allowed(ctx.user.role, spec.roles):
            return await spec.handler(ctx)
        if spec.refused is not None:
            return await spec.refused(ctx)
        raise not_allowed(ctx)

    return run


MAX_ID = 2**53  # ids in button payloads fit any database's integer column


def parse_id(raw: object) -> int | None:
    """An id from a button payload or flow data; None unless plain ASCII digits in range
    ("²" is a digit to str.isdigit, and a 30-digit number overflows SQLite)."""
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        return None
    value = int(text)
    return value if 0 < value < MAX_ID else None
