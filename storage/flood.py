"""Repository of the flood limit's token buckets and of per-user serialization, shared by all
workers on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from storage.models import FloodBucket, User

# The first key of the two-key advisory locks that serialize one user's units of work (the
# one-key locks of leadership and migrations live in another key space).
USER_LOCK_SPACE = 0x5E11


def shared(session: AsyncSession) -> bool:
    """Whether several workers may share this database (SQLite: one process)."""
    return db.dialect_name(session) == "postgresql"


async def serialize_user(session: AsyncSession, key: str) -> None:
    """Wait until no other worker is inside a unit of work of this user, and keep them out
    until this transaction ends (PostgreSQL; SQLite units already run one at a time under
    the database's write lock, and one process's UserLocks order them)."""
    if shared(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": USER_LOCK_SPACE, "key": key},
        )


# One round trip per message: wait for the sender's turn (the advisory lock, taken by the
# CTE before the row is produced: a volatile CTE is never inlined or skipped), then take a
# token from their bucket in an atomic upsert.
_REFILLED = (
    "least(CAST(:capacity AS float8), b.tokens + (CAST(:now AS float8) - b.stamp) * "
    "CAST(:rate AS float8))"
)
_ENTER = text(
    f"""
    WITH turn AS (SELECT pg_advisory_xact_lock(:space, hashtext(CAST(:key AS text))))
    INSERT INTO flood_buckets AS b (key, tokens, stamp, refused)
    SELECT CAST(:key AS varchar), CAST(:capacity AS float8) - 1, CAST(:now AS float8), 0
    FROM turn
    ON CONFLICT (key) DO UPDATE SET
        tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
        stamp = CAST(:now AS float8),
        refused = CASE WHEN {_REFILLED} >= 1 THEN 0 ELSE b.refused + 1 END
    RETURNING refused
    """
)


async def enter(session: AsyncSession, key: str, capacity: float, rate: float, now: float) -> int:
    """Wait for the sender's turn (as `serialize_user`) and take a token from their bucket;
    returns how many messages in a row have now been refused (0: this one may pass).

    The bucket holds `capacity` tokens, refilled at `rate` per second since `stamp` (seconds
    since the epoch); the upsert's row lock makes concurrent takes wait for each other.
    """
    params = {
        "space": USER_LOCK_SPACE,
        "key": key,
        "capacity": float(capacity),
        "rate": float(rate),
        "now": float(now),
    }
    return int((await session.execute(_ENTER, params)).scalar_one())


async def forget(session: AsyncSession, key: str) -> int:
    result = await session.execute(delete(FloodBucket).where(FloodBucket.key == key))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_idle(session: AsyncSession, before: float) -> int:
    """Forget buckets untouched since `before` (seconds since the epoch): a bucket idle for
    longer than it takes to refill is full again, the same as no row."""
    result = await session.execute(delete(FloodBucket).where(FloodBucket.stamp < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """Nothing: a bucket is a counter of recent messages, kept for seconds, not the person's."""
    return {}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """The shared bucket is keyed by the sender's platform id."""
    return {"flood_buckets": await forget(session, f"{user.channel}:{user.external_id}")}
