"""Repository of the web console's sign-in links, sessions and audit trail.

Secrets (link tokens, session ids) are never stored: only their SHA-256, so a copy of the
database cannot be used to sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleAudit, ConsoleLink, ConsoleSession, User

LINK_TTL = timedelta(minutes=15)
IDLE_TTL = timedelta(hours=12)
# A session's last_seen_at is written at most this often (one write per page would make
# every read a write on SQLite's single writer).
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back; they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def issue_link(session: AsyncSession, user: User, now: datetime) -> str:
    """A new one-time token for `user`, valid LINK_TTL; returns the token (shown once)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleLink(
            token_hash=digest(token), user_id=user.id, created_at=now, expires_at=now + LINK_TTL
        )
    )
    return token


async def link_user(session: AsyncSession, token: str, now: datetime) -> User | None:
    """The user of a valid, unused, unexpired token (without using it up)."""
    link = await session.get(ConsoleLink, digest(token))
    if link is None or link.used_at is not None or _aware(link.expires_at) <= now:
        return None
    return await session.get(User, link.user_id)


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> User | None:
    """Use the token up (atomically: two concurrent POSTs cannot both succeed)."""
    result = await session.execute(
        update(ConsoleLink)
        .where(
            ConsoleLink.token_hash == digest(token),
            ConsoleLink.used_at.is_(None),
            ConsoleLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(ConsoleLink.user_id)
    )
    user_id = result.scalar_one_or_none()
    return await session.get(User, user_id) if user_id is not None else None


def start_session(session: AsyncSession, user: User, now: datetime) -> str:
    """A new session; returns the random id for the cookie."""
    sid = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_hash=digest(sid),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return sid


async def current(
    session: AsyncSession, sid: str, now: datetime
) -> tuple[ConsoleSession, User] | None:
    """The live session and its user (one query), refreshing the idle timer; None if expired."""
    row = (
        await session.execute(
            select(ConsoleSession, User)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.id_hash == digest(sid))
        )
    ).first()
    if row is None:
        return None
    found, user = row
    seen = _aware(found.last_seen_at)
    if now - seen > IDLE_TTL:
        await session.delete(found)
        return None
    if now - seen >= TOUCH_EVERY:
        found.last_seen_at = now
    return found, user


async def end(session: AsyncSession, found: ConsoleSession) -> None:
    """Sign out of a session already loaded (by `current`)."""
    await session.delete(found)


async def end_session(session: AsyncSession, sid: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == digest(sid)))


async def end_sessions_of(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))


def audit(
    session: AsyncSession, user: User, action: str, now: datetime, target: str | None = None
) -> None:
    session.add(ConsoleAudit(user_id=user.id, role=user.role, action=action, target=target, at=now))


async def purge_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < now - LINK_TTL))
    await session.execute(
        delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - IDLE_TTL)
    )


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """What the person did in the console (its audit); links and sessions are only keys."""
    done = (
        await session.scalars(
            select(ConsoleAudit).where(ConsoleAudit.user_id == user.id).order_by(ConsoleAudit.id)
        )
    ).all()
    return {
        "console_actions": [
            {"action": row.action, "target": row.target, "at": row.at.isoformat()} for row in done
        ]
    }


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """Sign-in links and sessions go (the person is signed out everywhere); the audit of what
    they did stays, addressed to nobody, like a case's trail."""
    counts: dict[str, int] = {}
    for key, statement in (
        ("console_links", delete(ConsoleLink).where(ConsoleLink.user_id == user.id)),
        ("console_sessions", delete(ConsoleSession).where(ConsoleSession.user_id == user.id)),
        (
            "console_audit_pseudonymized",
            update(ConsoleAudit).where(ConsoleAudit.user_id == user.id).values(user_id=None),
        ),
    ):
        result = await session.execute(statement)
        counts[key] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
