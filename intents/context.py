"""What a flow step receives: the unit of work, the user, the message and the services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from intents.charts import ChartCache
from intents.i18n import Texts
from intents.messages import Incoming, Reply
from intents.observer import Observer
from intents.steps import FlowStep
from knowledge.content import KnowledgeBase
from knowledge.matcher import Match, Matcher
from knowledge.places import Gazetteer
from storage import users as users_repo
from storage.db import Session
from storage.models import User


class CommandListings(Protocol):
    """The declared commands as a user sees them listed: `intents.commands.Commands`, which
    the engine builds from its flows. A protocol here because the commands name their
    handlers, which take a Context."""

    def help_lines(self, role: str) -> list[str]: ...

    def privacy_lines(self) -> list[str]: ...

    def next_step(self, word: str, role: str) -> str | None: ...


class _NoCommands:
    """The listings of an engine without commands."""

    def help_lines(self, role: str) -> list[str]:
        return []

    def privacy_lines(self) -> list[str]:
        return []

    def next_step(self, word: str, role: str) -> str | None:
        return None


@dataclass(frozen=True)
class Services:
    """Long-lived collaborators, built once by the composition root."""

    kb: KnowledgeBase
    matcher: Matcher
    flow_timeout: timedelta = timedelta(minutes=30)
    # Long stories are common (a 1,076-character one was refused: a new-user trial of
    # 2026-12-07); a Sello case description has 2,000, so does a question. Matching 2,000
    # characters takes about 17 ms.
    max_text: int = 2000
    comuna_names: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (cut, name)
    observer: Observer = field(default_factory=Observer)
    log_retention_days: int = 180
    # Comunas and regions by name, for the statistics (built from the directory when None).
    gazetteer: Gazetteer | None = None
    charts: ChartCache = field(default_factory=ChartCache)
    public_url: str = "http://127.0.0.1:8080"  # where the web console's links point
    # The commands of the engine's flows (set by the Engine): the help, the privacy text and a
    # topic's next-step buttons list them.
    commands: CommandListings = field(default_factory=_NoCommands)


@dataclass
class Context:
    session: Session
    user: User
    incoming: Incoming
    t: Texts
    now: datetime
    services: Services
    args: str = ""  # what follows a command word (a button's handler gets its typed payload)
    match: Match | None = None  # the text's knowledge match, computed before the unit of work
    # Reads the text as a question to the knowledge base (set by the engine): for a flow step
    # whose text turns out not to be an answer. Passed in, so no flow imports the FAQ's.
    ask: Handler | None = None

    @property
    def lang(self) -> str:
        return self.t.lang

    @property
    def text(self) -> str:
        return (self.incoming.text or "").strip()

    def start_flow(self, step: FlowStep, data: dict[str, Any] | None = None) -> None:
        """Enter the step's flow at that step, with fresh data."""
        users_repo.set_flow(self.user, _flow_of(step), step.value, data or {}, self.now)

    def next_step(self, step: FlowStep, data: dict[str, Any] | None = None) -> None:
        """Move to another step of the step's flow, keeping the data unless given."""
        users_repo.set_flow(
            self.user,
            _flow_of(step),
            step.value,
            data if data is not None else self.user.flow_data,
            self.now,
        )

    def at(self, step: FlowStep) -> bool:
        """The user is at this step of its flow (a button for another step is an old one)."""
        return self.user.flow == _flow_of(step) and self.user.flow_step == step.value

    def in_flow(self, steps: type[FlowStep]) -> bool:
        """The user is inside the flow these steps belong to, at whatever step."""
        return self.user.flow == steps.flow

    def end_flow(self) -> None:
        users_repo.set_flow(self.user, None, None, None, self.now)


def _flow_of(step: FlowStep) -> str:
    """The step's flow; a bare string is refused, so a misspelt step fails where it is set."""
    if not isinstance(step, FlowStep):
        raise TypeError(f"a flow step is a FlowStep member, not {step!r}")
    return step.flow


Handler = Callable[[Context], Awaitable[list[Reply]]]
