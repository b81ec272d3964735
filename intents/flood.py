"""Per-user flood limit: a token bucket per sender, so one user's burst cannot starve others.

In memory for one process (SQLite); in the database, shared by every worker, on PostgreSQL
(with two webhook workers an in-memory limit would let a sender through twice as fast)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from storage import flood as buckets
from storage.db import Session


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # first message over the limit: tell the user to slow down
    DROP = "drop"  # further messages over the limit: silently ignored


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodLimiter:
    """`capacity` messages at once, refilled at `rate` per second, per user key.

    `check` answers from this process's memory, before any database work; `take` is called
    inside the unit of work and, on a database shared by several workers, answers from the
    shared bucket instead.
    """

    def __init__(
        self,
        capacity: int = 15,
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        # The shared buckets need a clock all workers agree on; a test clock serves both.
        self._wall = wall or (time.time if clock is time.monotonic else clock)
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys
        # Set once `take` found a shared database: memory then only pre-filters (it sees a
        # subset of the sender's messages, so it refuses only what the shared bucket would
        # refuse too) and the warning is the shared bucket's to give, once.
        self._shared = False

    def check(self, key: str) -> Verdict:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.capacity), now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict.ALLOW
        if not bucket.warned:
            bucket.warned = True
            # Shared: let the first one over reach the shared bucket, which warns once.
            return Verdict.ALLOW if self._shared else Verdict.WARN
        return Verdict.DROP

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]

    async def take(self, session: Session, key: str) -> Verdict | None:
        """The shared verdict inside the unit of work, or None when `check` already decided
        (one process: its memory is the whole truth). On a shared database this first waits
        for the sender's turn: no other worker is inside a unit of work of theirs after it."""
        if not buckets.shared(session):
            return None
        self._shared = True
        refused = await buckets.enter(session, key, self.capacity, self.rate, self._wall())
        if refused == 0:
            return Verdict.ALLOW
        return Verdict.WARN if refused == 1 else Verdict.DROP
