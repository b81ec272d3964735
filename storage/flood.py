"""Repository of the flood limit's token buckets and of per-user serialization, shared by all
workers on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import case, delete, func, literal, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FloodBucket

# The first key of the two-key advisory locks that serialize one user's units of work (the
# one-key locks of leadership and migrations live in another key space).
USER_LOCK_SPACE = 0x5E11


def shared(session: AsyncSession) -> bool:
    """Whether several workers may share this database (SQLite: one process)."""
    return session.get_bind().dialect.name == "postgresql"


async def serialize_user(session: AsyncSession, key: str) -> None:
    """Wait until no other worker is inside a unit of work of this user, and keep them out
    until this transaction ends (PostgreSQL; SQLite units already run one at a time under
    the database's write lock, and one process's UserLocks order them)."""
    if shared(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": USER_LOCK_SPACE, "key": key},
        )


async def take(session: AsyncSession, key: str, capacity: float, rate: float, now: float) -> int:
    """Take a token from the sender's bucket in one atomic upsert; returns how many messages
    in a row have now been refused (0: this one may pass).

    The bucket holds `capacity` tokens, refilled at `rate` per second since `stamp`; the row
    lock of the upsert makes concurrent takes by several workers wait for each other.
    """
    old = FloodBucket  # in ON CONFLICT DO UPDATE, the columns name the existing row
    refilled = func.least(capacity, old.tokens + (now - old.stamp) * rate)
    statement = (
        postgresql.insert(FloodBucket)
        .values(key=key, tokens=capacity - 1, stamp=now, refused=0)
        .on_conflict_do_update(
            index_elements=[old.key],
            set_={
                "tokens": case((refilled >= 1, refilled - 1), else_=refilled),
                "stamp": literal(now),
                "refused": case((refilled >= 1, 0), else_=old.refused + 1),
            },
        )
        .returning(old.refused)
    )
    return int((await session.execute(statement)).scalar_one())


async def forget(session: AsyncSession, key: str) -> int:
    result = await session.execute(delete(FloodBucket).where(FloodBucket.key == key))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_idle(session: AsyncSession, before: float) -> int:
    """Forget buckets untouched since `before` (seconds since the epoch): a bucket idle for
    longer than it takes to refill is full again, the same as no row."""
    result = await session.execute(delete(FloodBucket).where(FloodBucket.stamp < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
