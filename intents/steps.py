"""Flow steps as enums: a typo in a step name is an error at import or test time, not a
flow that silently ends.

Each flow with steps declares one `FlowStep` enum naming its flow; the values are the
strings stored in `users.flow_step`, so a conversation saved by an older version resumes:

    class Step(FlowStep, flow="case"):
        CATEGORY = "category"

`Context.start_flow` and `Context.next_step` take a member (never a string), and the
router refuses a flow whose step handlers are not exactly the members of its enum."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class FlowStep(StrEnum):
    """The steps of one flow; `flow` is the flow's name (`Flow.name`, `users.flow`)."""

    flow: ClassVar[str]

    def __init_subclass__(cls, *, flow: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not flow:
            raise TypeError(f"{cls.__name__}: say which flow these steps belong to (flow=...)")
        cls.flow = flow
