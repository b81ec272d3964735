"""Flow steps as enums (intents/steps.py): a step name the flow does not have fails at
construction or where it is set, never as a conversation that silently ends."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from intents.context import Context, Services
from intents.engine import FLOWS
from intents.flows import cases, privacy
from intents.messages import Incoming, Reply
from intents.router import Flow, Router
from storage.models import User

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# The steps stored in `users.flow_step` by the versions before the enums: a conversation
# saved by them must resume.
STORED = {
    "bulletin": {"text", "role", "lang", "comuna", "confirm"},
    "case": {"category", "description", "urgency", "confirm", "message"},
    "officer_case": {"reply", "refer"},
    "relay": {"open", "answer"},
    "subscription": {"comuna"},
    "privacy": {"confirm"},
    "orientation": {"situation", "entry", "family", "job"},
    "feedback": {"looking_for"},
    "statistics": {"place"},
    "language": {"choose"},
    "faq": {"suggested", "listening"},  # listening: after a crisis reply (fourteenth session)
}


async def _handler(ctx: Context) -> list[Reply]:
    return []


def test_a_step_handler_under_a_name_the_flow_never_uses_is_refused():
    # Before the enums this was accepted, and a flow setting "confirm" ended silently.
    with pytest.raises(ValueError):
        Router([Flow(name="case", steps=cast(Any, {"confrim": _handler}))])


def test_a_step_of_another_flow_or_a_step_without_handler_is_refused():
    with pytest.raises(ValueError, match="not one of its steps"):
        Router([Flow(name="privacy", steps={cases.Step.CONFIRM: _handler})])
    with pytest.raises(ValueError, match="each of its steps"):
        Router([Flow(name="case", steps={cases.Step.CATEGORY: _handler})])


def _context() -> Context:
    user = User(channel="console", external_id="1", role="migrant")
    user.flow, user.flow_step, user.flow_data = "privacy", "confirm", {}
    services = cast(Services, SimpleNamespace())
    incoming = Incoming("console", "1", "1", text="hola")
    return Context(cast(Any, None), user, incoming, cast(Any, None), NOW, services)


def test_setting_a_step_by_its_name_is_refused_where_it_is_written():
    ctx = _context()
    with pytest.raises(TypeError):
        ctx.next_step(cast(Any, "confrim"))
    with pytest.raises(TypeError):
        ctx.start_flow(cast(Any, "confirm"))
    assert (ctx.user.flow, ctx.user.flow_step) == ("privacy", "confirm")
    assert ctx.at(privacy.Step.CONFIRM) and ctx.in_flow(privacy.Step)
    ctx.start_flow(cases.Step.CATEGORY, {"x": 1})
    assert (ctx.user.flow, ctx.user.flow_step, ctx.user.flow_data) == ("case", "category", {"x": 1})
    ctx.next_step(cases.Step.URGENCY)
    assert (ctx.user.flow, ctx.user.flow_step, ctx.user.flow_data) == ("case", "urgency", {"x": 1})
    assert not ctx.at(cases.Step.CATEGORY) and not ctx.in_flow(privacy.Step)


def test_the_steps_are_the_strings_stored_before():
    declared = {flow.name: {str(step) for step in flow.steps} for flow in FLOWS if flow.steps}
    assert declared == STORED
    router = Router(FLOWS)
    for flow, steps in STORED.items():
        for step in steps:
            assert router.step(flow, step) is not None, (flow, step)
    assert router.step("case", "confrim") is None
