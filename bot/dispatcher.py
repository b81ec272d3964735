"""The outbox dispatcher: delivers queued messages within each platform's rate limit.

One worker per channel. Each round it claims a batch of due rows (interactive
notifications before bulletins), sends them concurrently, evenly paced at the
channel's rate, and records every outcome in one transaction:
- sent: done (the platform's message id is kept, so replies to it can be routed);
- 429: the whole channel pauses for `retry_after`; the row is retried, not counted as failed;
- 403 (the user blocked the bot): the row is marked blocked and `on_blocked` is told;
- 5xx/timeouts: retried with exponential backoff, up to `max_attempts`, then failed;
- other errors (a bad request): failed at once.
A worker that dies between sending and recording leaves its rows "sending"; they are
claimed again once their claim is older than `stale_after` (a live worker refreshes its
claim while it sends), so at most one batch (`batch` rows) may be sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.channels.base import Delivery, Outcome, Sender, SendResult
from intents.messages import Button, Reply
from storage import outbox, users
from storage.db import Session, Sessions
from storage.leadership import Leadership
from storage.models import Outbox
from storage.states import OutboxStatus

log = logging.getLogger(__name__)


def as_reply(row: Outbox) -> Reply:
    buttons = tuple(
        tuple(Button(b["label"], b["payload"]) for b in line) for line in (row.buttons or [])
    )
    return Reply(row.text, buttons)


class Pacer:
    """`rate` sends per second, evenly spaced (a leaky bucket with no burst); `pause` stops it
    for a while.

    Platforms count sends over a sliding window (Telegram: about 30 per second), so a token
    bucket's initial burst plus its steady refill puts up to twice the rate in the first
    second and earns 429s. Here sends start one interval apart, and a send that woke late
    (a busy event loop) does not let the ones behind it catch up in a bunch: the next slot is
    never closer than half an interval to the actual send.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0  # the earliest time of the next send
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while True:  # re-checked after each sleep: a pause may have moved the slot
                wait = self._next - time.monotonic()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            slot, woke = self._next, time.monotonic()
            if woke - slot > self.interval:  # idle until now, or woke very late: start afresh
                self._next = woke + self.interval
            else:
                self._next = max(slot + self.interval, woke + self.interval / 2)


Clock = Callable[[], datetime]
BlockedHook = Callable[[Session, int], Awaitable[None]]
DoneHook = Callable[[Session, Sequence[int]], Awaitable[None]]
IdleHook = Callable[[Session], Awaitable[None]]


class Dispatcher:
    LANES = (outbox.NOTIFY, outbox.BULLETIN)

    def __init__(
        self,
        sessions: Sessions,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        rate: float = 25.0,
        batch: int = 50,
        concurrency: int = 16,
        max_attempts: int = 6,
        idle_poll: float = 0.5,
        stale_after: timedelta = timedelta(seconds=30),
        on_blocked: BlockedHook | None = None,
        on_batch_done: DoneHook | None = None,
        on_idle: IdleHook | None = None,
        idle_every: float = 2.0,
        on_outcome: Callable[[str, str], None] | None = None,
        leadership: Leadership | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        """`wake`: set when new rows are committed (the engine's after-commit signal, given
        by the composition root), so an idle worker looks at once instead of at its next
        poll."""
        self.sessions = sessions
        self.senders = dict(senders)
        self.clock = clock
        self.buckets = {channel: Pacer(rate) for channel in self.senders}
        self.batch = batch
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self.stale_after = stale_after
        self.on_blocked = on_blocked
        self.on_batch_done = on_batch_done
        self.on_idle = on_idle
        self.on_outcome = on_outcome
        self.leadership = leadership
        self.idle_every = idle_every
        self._idle_at = 0.0
        self._wake = wake if wake is not None else asyncio.Event()
        self.alive_at = time.monotonic()

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, grace: float = 20.0) -> None:
        """Until `stop`; then each channel finishes the round it is in (its batch is sent and
        recorded, so a clean stop repeats nothing), or is cancelled after `grace` seconds."""
        workers = [asyncio.create_task(self._worker(channel, stop)) for channel in self.senders]
        try:
            await stop.wait()
            self._wake.set()  # idle workers notice the stop at once
            await asyncio.wait(workers, timeout=grace)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if self.leadership is not None:
                await self.leadership.close()

    async def _worker(self, channel: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.alive_at = time.monotonic()
            if self.leadership is not None and not await self.leadership.is_leader():
                await asyncio.sleep(self.idle_poll * 4)  # another worker dispatches
                continue
            try:
                sent = await self.run_once(channel)
            except Exception:
                log.exception("dispatcher round failed on %s", channel)
                sent = 0
            if sent == 0:
                await self._idle()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll)
                except TimeoutError:
                    pass

    async def _idle(self) -> None:
        if self.on_idle is None or time.monotonic() - self._idle_at < self.idle_every:
            return
        self._idle_at = time.monotonic()
        try:
            async with self.sessions() as session, session.begin():
                await self.on_idle(session)
        except Exception:
            log.exception("dispatcher idle hook failed")

    async def run_once(self, channel: str) -> int:
        """One round: claim, send, record. Returns how many rows it handled."""
        now = self.clock()
        rows: Sequence[Outbox] = ()
        async with self.sessions() as session, session.begin():
            for lane in self.LANES:
                rows = await outbox.claim(
                    session, channel, lane, now, self.batch, stale_after=self.stale_after
                )
                if rows:
                    break
        if not rows:
            return 0
        recipients = await self._recipients([row.user_id for row in rows if row.user_id])
        jobs = []
        for row in rows:
            lang, last_inbound = recipients.get(row.user_id or 0, (None, None))
            delivery = Delivery(
                row.chat_id, as_reply(row), row.lane == outbox.BULLETIN, lang, last_inbound
            )
            jobs.append((row.id, row.user_id, delivery, row.attempts))
        gate = asyncio.Semaphore(self.concurrency)
        sender = self.senders[channel]
        bucket = self.buckets[channel]

        async def deliver(delivery: Delivery) -> SendResult:
            async with gate:
                await bucket.acquire()
                try:
                    result = await sender.send(delivery)
                except Exception as exc:  # a sender bug must not lose the row
                    log.exception("sender raised")
                    result = SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
                if result.outcome is Outcome.RETRY_AFTER:
                    bucket.pause(result.retry_after)
                if self.on_outcome is not None:
                    self.on_outcome(channel, result.outcome.value)
                return result

        heartbeat = asyncio.create_task(self._keep_claimed([job[0] for job in jobs]))
        try:
            results = await asyncio.gather(*(deliver(job[2]) for job in jobs))
        finally:
            heartbeat.cancel()
        await self._record(jobs, results)
        return len(jobs)

    async def _recipients(
        self, user_ids: list[int]
    ) -> dict[int, tuple[str | None, datetime | None]]:
        if not user_ids:
            return {}
        async with self.sessions() as session:
            return await users.recipients(session, user_ids)

    async def _keep_claimed(self, row_ids: list[int]) -> None:
        """While a batch is being sent (a long 429 pause, say), keep its claim fresh so no
        other worker takes it for abandoned; a dead worker stops refreshing it."""
        while True:
            await asyncio.sleep(self.stale_after.total_seconds() / 3)
            async with self.sessions() as session, session.begin():
                await outbox.touch(session, row_ids, self.clock())

    async def _record(
        self,
        jobs: list[tuple[int, int | None, Delivery, int]],
        results: Sequence[SendResult],
    ) -> None:
        """All outcomes of a batch in one transaction, one executemany per kind."""
        now = self.clock()
        sent: list[dict[str, object]] = []
        retry: list[dict[str, object]] = []
        final: list[dict[str, object]] = []
        blocked_users: list[int] = []
        done: list[int] = []
        held: list[dict[str, object]] = []
        for (row_id, user_id, _, attempts), result in zip(jobs, results, strict=True):
            outcome = result.outcome
            if outcome is Outcome.SENT:
                sent.append({"rid": row_id, "mid": result.message_id, "att": attempts + 1})
                done.append(row_id)
            elif outcome is Outcome.HELD:
                held.append(
                    {"rid": row_id, "st": OutboxStatus.HELD, "att": attempts, "err": result.error}
                )
            elif outcome is Outcome.RETRY_AFTER:
                later = now + timedelta(seconds=result.retry_after)
                retry.append({"rid": row_id, "att": attempts, "at": later, "err": result.error})
            elif outcome is Outcome.TRANSIENT and attempts + 1 < self.max_attempts:
                delay = min(300.0, 2.0**attempts) * (1 + random.random() / 2)
                later = now + timedelta(seconds=delay)
                retry.append({"rid": row_id, "att": attempts + 1, "at": later, "err": result.error})
            else:
                status = OutboxStatus.BLOCKED if outcome is Outcome.BLOCKED else OutboxStatus.FAILED
                error = (result.error or outcome.value)[:200]
                final.append({"rid": row_id, "st": status, "att": attempts + 1, "err": error})
                done.append(row_id)
                if outcome is Outcome.BLOCKED and user_id is not None:
                    blocked_users.append(user_id)
        async with self.sessions() as session, session.begin():
            await outbox.record_sent(session, sent, now)
            await outbox.record_retry(session, retry)
            await outbox.record_final(session, final + held)
            if self.on_blocked is not None:
                for user_id in blocked_users:
                    await self.on_blocked(session, user_id)
            if self.on_batch_done is not None and done:
                await self.on_batch_done(session, done)
