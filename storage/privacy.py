"""A person's rights over their data (Ley 19.628, Ley 21.719): access, erasure, and the purge
of logs kept longer than the retention period.

This module names no table: each repository that holds personal data exports, erases or
purges its own rows, and storage/personal.py registers them (HOLDERS, PURGED)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import users
from storage.personal import HOLDERS, PURGED


async def export_user(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything stored about one user, as JSON-ready data (empty if there is no such user).

    Other people appear only as roles ("officer", "contact"), never by id or name.
    """
    user = await users.get_by_id(session, user_id)
    if user is None:
        return {}
    exported: dict[str, Any] = {}
    for holder in HOLDERS:
        exported.update(await holder.repository.export_for(session, user))
    return exported


async def erase_user(session: AsyncSession, user_id: int, now: datetime) -> dict[str, int]:
    """Delete a user's personal data and the user; returns how many rows of each kind went.

    Cases and their events stay, with the person pseudonymized (their ids become NULL), so
    the audit trail of what SERMIG did is kept. The references are cleared by the repositories
    rather than left to the foreign keys' ON DELETE, so the outcome does not depend on the
    database enforcing them, and objects already in the session see the change.

    `now` is the time of the erasure. Nothing records it on purpose: a log of who asked to be
    erased would itself be personal data.
    """
    await session.flush()  # the unit of work's pending changes to this user go first
    user = await users.get_by_id(session, user_id)
    if user is None:
        return {"user": 0}
    counts: dict[str, int] = {}
    for holder in reversed(HOLDERS):  # the user row last, after every row referring to it
        for key, erased in (await holder.repository.erase_for(session, user, now)).items():
            counts[key] = counts.get(key, 0) + erased
    return counts


async def purge_logs(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Delete logs kept past the retention period; returns how many rows of each kind went.

    Unanswered questions, handled-update keys, rate-limit attempts and outbox rows whose
    delivery is over (sent, failed, blocked, cancelled). Undelivered rows are never purged.
    """
    counts: dict[str, int] = {}
    for repository in PURGED:
        counts.update(await repository.purge_before(session, older_than))
    return counts
