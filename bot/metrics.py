"""Prometheus metrics: messages in and out, answer latency, match results, outbox backlog."""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from intents.observer import Observer
from storage import outbox
from storage.db import Sessions


class Metrics(Observer):
    """The engine's observer, with its own registry (several apps in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "sello_messages_in", "Incoming messages handled", ["channel"], registry=self.registry
        )
        self.replies_out = Counter(
            "sello_replies_out", "Direct replies sent", ["channel"], registry=self.registry
        )
        self.latency = Histogram(
            "sello_answer_seconds",
            "Time to handle one incoming message",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.questions = Counter(
            "sello_questions",
            "Questions by match result (full, partial, none)",
            ["result"],
            registry=self.registry,
        )
        self.unanswered_ratio = Gauge(
            "sello_unanswered_ratio",
            "Share of questions not answered in full",
            registry=self.registry,
        )
        self.backlog = Gauge(
            "sello_outbox_backlog", "Outbox messages waiting", ["lane"], registry=self.registry
        )
        self.delivered = Counter(
            "sello_outbox_delivered",
            "Outbox deliveries by outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self._results: Tally[str] = Tally()
        self._by_channel: dict[str, tuple[Any, Any, Any]] = {}
        self._by_kind: dict[str, Any] = {}

    def handled(self, channel: str, seconds: float, replies: int) -> None:
        # The labelled children looked up once per channel (prometheus_client's `labels`
        # validates and locks on every call).
        children = self._by_channel.get(channel)
        if children is None:
            children = self._by_channel[channel] = (
                self.messages_in.labels(channel),
                self.replies_out.labels(channel),
                self.latency.labels(channel),
            )
        messages, replies_out, latency = children
        messages.inc()
        replies_out.inc(replies)
        latency.observe(seconds)

    def matched(self, kind: str) -> None:
        counter = self._by_kind.get(kind)
        if counter is None:
            counter = self._by_kind[kind] = self.questions.labels(kind)
        counter.inc()
        self._results[kind] += 1
        total = sum(self._results.values())
        self.unanswered_ratio.set((total - self._results["full"]) / total)

    def delivery(self, channel: str, outcome: str) -> None:
        self.delivered.labels(channel, outcome).inc()

    async def render(self, sessions: Sessions) -> bytes:
        async with sessions() as session:
            found = await outbox.backlog(session)
        for lane in ("notify", "bulletin"):
            self.backlog.labels(lane).set(found.get(lane, 0))
        return generate_latest(self.registry)
