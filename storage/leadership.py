"""One dispatcher per database: with several `sello-bot run` workers on PostgreSQL, only the
holder of an advisory lock sends the outbox, so the platform rate limit holds across all
workers. The lock lives on a dedicated connection: if its worker dies, PostgreSQL releases
it and another worker takes over within a few seconds.

Here in storage because it is SQL on a connection of its own (the dispatcher in bot/ only
asks `is_leader()`); the migrations' lock is in storage/migrate.py."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
LOCK_KEY = 0x5E11_0D15  # any constant shared by all workers of one deployment


class Leadership:
    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None
        self._held = False
        self._lock = asyncio.Lock()  # the channel workers of one process ask concurrently

    @property
    def needed(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def is_leader(self) -> bool:
        if not self.needed:
            return True  # SQLite: one process
        async with self._lock:
            return await self._check()

    async def _check(self) -> bool:
        try:
            if self._conn is None:
                self._conn = await self.engine.connect()
                await self._conn.execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                await self._conn.execute(text("SELECT 1"))  # still connected, still ours
                return True
            result = await self._conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            self._held = bool(result.scalar())
            if self._held:
                log.info("this worker now dispatches the outbox")
            return self._held
        except Exception:
            log.exception("leadership check failed")
            await self._release()
            return False

    async def close(self) -> None:
        async with self._lock:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                await conn.close()  # closing the session releases the advisory lock
            except Exception:
                log.debug("closing the leadership connection failed", exc_info=True)
