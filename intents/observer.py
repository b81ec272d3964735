"""What the engine reports about its work, for metrics; the default ignores it."""

from __future__ import annotations


class Observer:
    def handled(self, channel: str, seconds: float, replies: int) -> None:
        """One incoming message handled in `seconds`, producing `replies` replies."""

    def matched(self, kind: str) -> None:
        """A question matched the knowledge base: "full", "partial" or "none"."""
