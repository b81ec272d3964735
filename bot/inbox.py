"""The durable intake of webhook calls: stored before they are acknowledged, then processed.

WhatsApp does not deliver a call again once it got a 200, so the call must be in the
database before the 200 goes out. A worker claims stored calls (oldest first, several at a
time), hands each to the channel, and deletes it once every message in it is handled and
answered (or its undelivered replies are in the outbox). A worker that dies leaves its
claims behind; once older than `stale_after` (a live worker refreshes its claims) any worker
takes them over. Messages are deduplicated by their platform id and their replies journaled
(storage.updates), so a call processed twice answers each message once, except a reply that
was being sent at the very moment of the crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from storage import inbox
from storage.db import Sessions

log = logging.getLogger(__name__)

Process = Callable[[str], Awaitable[None]]


class Inbox:
    def __init__(
        self,
        sessions: Sessions,
        channel: str,
        process: Process,
        clock: Callable[[], datetime],
        *,
        stale_after: timedelta = timedelta(seconds=30),
        concurrency: int = 4,
        poll: float = 0.5,
        max_attempts: int = 10,
        store_timeout: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.process = process
        self.clock = clock
        self.stale_after = stale_after
        self.concurrency = concurrency
        self.poll = poll
        self.max_attempts = max_attempts
        self.store_timeout = store_timeout
        self._wake = asyncio.Event()
        self._working: dict[int, asyncio.Task[None]] = {}

    async def store(self, body: str) -> None:
        """Commit one call, or raise (TimeoutError when the database is too slow to answer
        in time: the caller answers 503 and the platform delivers the call again)."""
        async with asyncio.timeout(self.store_timeout):
            async with self.sessions() as session, session.begin():
                await inbox.store(session, self.channel, body, self.clock())
        self._wake.set()

    async def run(self, stop: asyncio.Event, grace: float = 20.0) -> None:
        """Process stored calls until `stop`; then finish the calls under way (for at most
        `grace` seconds) and hand back any left unfinished."""
        heartbeat = asyncio.create_task(self._keep_claimed())
        try:
            while not stop.is_set():
                self._wake.clear()  # before claiming: a call stored meanwhile wakes us
                claimed = await self._claim()
                if not claimed:
                    waiter = asyncio.create_task(self._wake.wait())
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait(
                        (waiter, stopper), timeout=self.poll, return_when=asyncio.FIRST_COMPLETED
                    )
                    waiter.cancel()
                    stopper.cancel()
            if self._working:
                await asyncio.wait(list(self._working.values()), timeout=grace)
        finally:
            heartbeat.cancel()
            unfinished = list(self._working)
            for task in self._working.values():
                task.cancel()
            await asyncio.gather(*self._working.values(), return_exceptions=True)
            if unfinished:
                try:
                    async with self.sessions() as session, session.begin():
                        await inbox.release(session, unfinished)
                except Exception:
                    log.exception("could not hand back unfinished inbox calls")

    async def _claim(self) -> int:
        free = self.concurrency - len(self._working)
        if free <= 0:
            return 0
        try:
            async with self.sessions() as session, session.begin():
                rows = await inbox.claim(
                    session, self.channel, self.clock(), free, self.stale_after
                )
                claimed = [(row.id, row.body, row.attempts) for row in rows]
        except Exception:
            log.exception("could not claim inbox calls")
            await asyncio.sleep(self.poll)
            return 0
        # Started in the order received: each message takes its sender's lock first thing,
        # so one person's messages are handled in the order they arrived.
        for row_id, body, attempts in claimed:
            task = asyncio.create_task(self._one(row_id, body, attempts))
            self._working[row_id] = task
        return len(claimed)

    async def _one(self, row_id: int, body: str, attempts: int) -> None:
        try:
            await self.process(body)
        except Exception:
            if attempts < self.max_attempts:
                # Left claimed, no longer refreshed: taken up again once stale, which spaces
                # the tries out (a database that fails now may be back by then). What was
                # already handled is not handled twice.
                log.exception(
                    "inbox call %s failed (attempt %s); it will be retried", row_id, attempts
                )
                self._working.pop(row_id, None)
                self._wake.set()
                return
            log.exception("inbox call %s failed %s times; dropped", row_id, attempts)
        await self._finish(row_id)

    async def _finish(self, row_id: int) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await inbox.done(session, row_id)
        except Exception:
            # Left claimed: taken over when stale, and its messages are deduplicated then.
            log.exception("could not record the end of inbox call %s", row_id)
        finally:
            self._working.pop(row_id, None)
            self._wake.set()  # a slot is free

    async def _keep_claimed(self) -> None:
        while True:
            await asyncio.sleep(self.stale_after.total_seconds() / 3)
            if not self._working:
                continue
            try:
                async with self.sessions() as session, session.begin():
                    await inbox.touch(session, list(self._working), self.clock())
            except Exception:
                log.exception("could not refresh inbox claims")
