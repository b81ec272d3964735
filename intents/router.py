"""Routing: which flow handles an incoming message, declared by each flow, listed in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from intents.commands import Commands, CommandSpec
from intents.context import Context, Handler
from intents.messages import Reply
from intents.payloads import Payload
from intents.roles import allowed, not_allowed
from intents.steps import FlowStep
from knowledge.normalize import fold
from storage.ids import MAX_ID as MAX_ID  # re-exported: the ids' old home
from storage.ids import parse_id as parse_id

ButtonHandler = Callable[[Context, Any], Awaitable[list[Reply]]]
"""A button's handler: the context and the typed payload pressed (one of the flow's
`Payload` classes; annotate it with that class)."""


@dataclass(frozen=True)
class Flow:
    """What one flow module handles.

    commands: its commands, each declared once with its words, roles and listings
    (intents/commands.py); buttons: payload class -> handler, called with the parsed payload
    (`LanguageChoice` for "lang:fr"); unknown_button: the answer to a payload of this flow's
    prefixes that none of its classes parses (an old or forged button), when the engine's
    generic one would say less; steps: step -> handler, used while the user is inside this
    flow, keyed by the members of the flow's `FlowStep` enum (all of them).
    """

    name: str
    commands: Sequence[CommandSpec] = ()
    buttons: Mapping[type[Payload], ButtonHandler] = field(default_factory=dict)
    unknown_button: Handler | None = None
    steps: Mapping[FlowStep, Handler] = field(default_factory=dict)


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


class CommandButton(Payload, prefix="cmd"):
    """A next-step button ("cmd:caso"): runs the command exactly as if typed with "/"."""

    word: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.word != fold(self.word):
            raise ValueError(f"not a command word: {self.word!r}")


class Router:
    """Resolves commands, buttons and flow steps across the flows, in priority order, and
    enforces each command's roles (typed, or pressed as a next-step button).

    Construction refuses what would otherwise fail silently later: a payload class or a
    prefix claimed by two flows, and step handlers that are not exactly the members of the
    flow's own `FlowStep` enum (a misspelt step would end the conversation unnoticed)."""

    def __init__(self, flows: Sequence[Flow]) -> None:
        self.flows = tuple(flows)
        self.commands = Commands(spec for flow in flows for spec in flow.commands)
        self._commands: dict[str, tuple[Flow, Handler]] = {}
        self._takes_args: set[str] = set()
        # First segment of a prefix -> its flow, and its classes (longest prefix first).
        self._button_flows: dict[str, Flow] = {}
        self._buttons: dict[str, list[tuple[type[Payload], ButtonHandler]]] = {}
        self._steps: dict[tuple[str, str], Handler] = {}
        for flow in flows:
            for spec in flow.commands:
                for word in (spec.word, *spec.aliases):
                    self._commands[word] = (flow, guarded(spec))
                    if spec.takes_argument:
                        self._takes_args.add(word)
            self._add_buttons(flow)
            self._add_steps(flow)
        for classes in self._buttons.values():
            classes.sort(key=lambda entry: -len(entry[0].prefix))

    def _add_buttons(self, flow: Flow) -> None:
        for cls, handler in flow.buttons.items():
            if cls.group == CommandButton.group:
                raise ValueError(f"{cls.__name__}: the prefix {cls.group!r} is the router's")
            owner = self._button_flows.setdefault(cls.group, flow)
            if owner is not flow:
                raise ValueError(
                    f"{cls.__name__}: payload prefix {cls.group!r} belongs to flow {owner.name!r}"
                )
            classes = self._buttons.setdefault(cls.group, [])
            if any(known.prefix == cls.prefix for known, _ in classes):
                raise ValueError(f"{cls.__name__}: payload prefix {cls.prefix!r} declared twice")
            classes.append((cls, handler))

    def _add_steps(self, flow: Flow) -> None:
        for step in flow.steps:
            if not isinstance(step, FlowStep) or step.flow != flow.name:
                raise ValueError(f"flow {flow.name!r}: {step!r} is not one of its steps")
        kinds = {type(step) for step in flow.steps}
        if len(kinds) > 1 or any(set(kind) != set(flow.steps) for kind in kinds):
            raise ValueError(f"flow {flow.name!r}: a handler for each of its steps, no other")
        for step, handler in flow.steps.items():
            self._steps[(flow.name, step.value)] = handler

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

    def button(self, payload: str) -> Handler | None:
        """The handler of a pressed payload, with the payload parsed; a next-step button
        runs its command; a malformed payload of a flow's prefix gets the flow's
        `unknown_button`; None when nothing answers it."""
        command = CommandButton.parse(payload)
        if command is not None:
            found = self._commands.get(command.word)
            return found[1] if found else None
        group = payload.partition(":")[0]
        for cls, handler in self._buttons.get(group, ()):
            pressed = cls.parse(payload)
            if pressed is not None:
                return _bound(handler, pressed)
        flow = self._button_flows.get(group)
        return flow.unknown_button if flow else None

    @property
    def payload_classes(self) -> tuple[type[Payload], ...]:
        """Every payload class the flows declare, the next-step button's included."""
        return (CommandButton, *(cls for group in self._buttons.values() for cls, _ in group))

    def flow_of(self, command: Command | None = None, payload: str | None = None) -> str | None:
        """The name of the flow a command or a button payload belongs to (None: unknown);
        a payload's by its prefix, even malformed."""
        if payload is not None:
            command_button = CommandButton.parse(payload)
            if command_button is None:
                flow = self._button_flows.get(payload.partition(":")[0])
                return flow.name if flow is not None else None
            found = self._commands.get(command_button.word)
            return found[0].name if found else None
        if command is not None:
            found = self._commands.get(command.word)
            return found[0].name if found else None
        return None

    def step(self, flow: str | None, step: str | None) -> Handler | None:
        """The handler of the step stored in the user's row (strings: `users.flow_step`)."""
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


def _bound(handler: ButtonHandler, pressed: Payload) -> Handler:
    async def handle(ctx: Context) -> list[Reply]:
        return await handler(ctx, pressed)

    return handle
