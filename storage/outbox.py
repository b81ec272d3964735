"""Repository of the outbox: messages to other people, delivered by the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.ids import parse_id
from storage.models import Outbox, User
from storage.states import Lane, OutboxStatus

NOTIFY = Lane.NOTIFY
BULLETIN = Lane.BULLETIN


@dataclass(frozen=True)
class RelayRef:
    """A relayed message (`relay_messages.id`) the row notifies: a reply quoting it goes back
    along the relay (intents/flows/relay.py), and erasing the message erases the row."""

    message_id: int

    def pack(self) -> str:
        return f"relay:{self.message_id}"


@dataclass(frozen=True)
class ReplyRef:
    """A direct reply the channel could not deliver, by the update it answers (kept for the
    logs; cut to the column's 64 characters when stored, never read back)."""

    update_id: str

    def pack(self) -> str:
        return f"reply:{self.update_id}"


Ref = RelayRef | ReplyRef
"""What `outbox.ref` holds, packed ("relay:12", "reply:UPDATE") and parsed only here."""


def parse_ref(text: str | None) -> Ref | None:
    """The ref a row holds, or None (no ref, or one this version does not know)."""
    kind, _, rest = (text or "").partition(":")
    if kind == "relay":
        message_id = parse_id(rest)
        return RelayRef(message_id) if message_id is not None and str(message_id) == rest else None
    if kind == "reply" and rest:
        return ReplyRef(rest)
    return None


def enqueue(
    session: AsyncSession,
    recipient: User,
    text: str,
    now: datetime,
    *,
    buttons: list[list[dict[str, str]]] | None = None,
    lane: str = NOTIFY,
    ref: Ref | None = None,
    bulletin_id: int | None = None,
) -> Outbox:
    row = Outbox(
        user_id=recipient.id,
        channel=recipient.channel,
        chat_id=recipient.chat_id,
        lane=lane,
        text=text,
        buttons=buttons,
        ref=ref.pack() if ref else None,
        bulletin_id=bulletin_id,
        # No private chat yet (they only wrote in a group): wait for one, never the group.
        status=OutboxStatus.PENDING if recipient.chat_id else OutboxStatus.HELD,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_reply(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    user_id: int | None,
    text: str,
    now: datetime,
    *,
    buttons: list[list[dict[str, str]]] | None = None,
    ref: Ref | None = None,
) -> Outbox:
    """A direct reply the channel could not deliver: sent to the chat it answers (a group,
    say) by the dispatcher, with its backoff, once the platform is back."""
    row = Outbox(
        user_id=user_id,
        channel=channel,
        chat_id=chat_id,
        lane=NOTIFY,
        text=text,
        buttons=buttons,
        ref=ref.pack()[:64] if ref else None,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


async def claim(
    session: AsyncSession,
    channel: str,
    lane: str,
    now: datetime,
    limit: int,
    stale_after: timedelta = timedelta(minutes=2),
) -> Sequence[Outbox]:
    """Take up to `limit` due rows of a channel and lane for sending.

    A row is due when pending and its time has come, or when it was claimed by a worker
    that died before finishing (claimed longer ago than `stale_after`). On PostgreSQL the
    rows are locked with SKIP LOCKED so concurrent workers never take the same row.
    """
    query = (
        select(Outbox)
        .where(
            Outbox.channel == channel,
            Outbox.lane == lane,
            or_(
                (Outbox.status == OutboxStatus.PENDING) & (Outbox.next_attempt_at <= now),
                (Outbox.status == OutboxStatus.SENDING) & (Outbox.claimed_at < now - stale_after),
            ),
        )
        .order_by(Outbox.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).scalars().all()
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
    return rows


async def touch(session: AsyncSession, row_ids: list[int], now: datetime) -> None:
    await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.status == OutboxStatus.SENDING)
        .values(claimed_at=now)
    )


# Outcomes of a dispatched batch, each written with one executemany.
_TABLE: Table = Outbox.__table__  # type: ignore[assignment]
_SENT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("rid"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now"),
        sent_message_id=bindparam("mid"),
        attempts=bindparam("att"),
    )
)
_RETRY = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("rid"))
    .values(
        status=OutboxStatus.PENDING,
        attempts=bindparam("att"),
        next_attempt_at=bindparam("at"),
        error=bindparam("err"),
    )
)
_FINAL = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("rid"))
    .values(status=bindparam("st"), attempts=bindparam("att"), error=bindparam("err"))
)


async def record_sent(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> None:
    if rows:
        await session.execute(_SENT, [{**row, "now": now} for row in rows])


async def record_retry(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_RETRY, rows)


async def record_final(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_FINAL, rows)


async def by_sent_message(
    session: AsyncSession, channel: str, chat_id: str, message_id: str
) -> Outbox | None:
    result = await session.execute(
        select(Outbox).where(
            Outbox.channel == channel,
            Outbox.chat_id == chat_id,
            Outbox.sent_message_id == message_id,
        )
    )
    return result.scalars().first()


async def release_held(session: AsyncSession, user_id: int, now: datetime) -> int:
    """Messages held until the user writes again (outside WhatsApp's 24-hour window) become
    due now that the window is open."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.user_id == user_id, Outbox.status == OutboxStatus.HELD)
        .values(status=OutboxStatus.PENDING, next_attempt_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def deliver_waiting(session: AsyncSession, user_id: int, chat_id: str, now: datetime) -> int:
    """Messages held because the user had no private chat go to the one they now have."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.user_id == user_id, Outbox.status == OutboxStatus.HELD, Outbox.chat_id == "")
        .values(status=OutboxStatus.PENDING, chat_id=chat_id, next_attempt_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def record_receipt(
    session: AsyncSession, channel: str, message_id: str, receipt: str, at: datetime
) -> None:
    await session.execute(
        update(Outbox)
        .where(Outbox.channel == channel, Outbox.sent_message_id == message_id)
        .values(receipt=receipt[:12], receipt_at=at)
    )


async def backlog(session: AsyncSession) -> dict[str, int]:
    """Messages not yet delivered (pending, being sent, held for the user), per lane."""
    rows = await session.execute(
        select(Outbox.lane, func.count())
        .where(Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)))
        .group_by(Outbox.lane)
    )
    return {str(lane): int(count) for lane, count in rows.all()}


async def bulletins_of(session: AsyncSession, row_ids: Sequence[int]) -> list[int]:
    """The bulletins the given outbox rows belong to (notifications belong to none)."""
    ids = (
        await session.execute(select(Outbox.bulletin_id).where(Outbox.id.in_(row_ids)).distinct())
    ).scalars()
    return [i for i in ids if i is not None]


# -- a person's rights (storage/personal.py) -----------------------------------------------------

# Rows still on their way (held: waiting for WhatsApp's 24-hour window to reopen).
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)
# Rows whose story is over: only these are purged, a queued message never is.
FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED, OutboxStatus.CANCELLED)


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """How many messages to the person are still on their way (their texts are the senders')."""
    pending = await session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.user_id == user.id, Outbox.status.in_(UNDELIVERED))
    )
    return {"pending_outbox_messages": int(pending or 0)}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """Every message to the person, and those addressed to their private chat that lost their
    user id."""
    erased = 0
    for statement in (
        delete(Outbox).where(Outbox.user_id == user.id),
        delete(Outbox).where(
            Outbox.user_id.is_(None),
            Outbox.channel == user.channel,
            Outbox.chat_id == user.external_id,
        ),
    ):
        result = await session.execute(statement)
        erased += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return {"outbox": erased}


async def erase_refs(session: AsyncSession, refs: Sequence[str]) -> int:
    """Delete the messages that carried these refs (a relayed text, erased with its author)."""
    if not refs:
        return 0
    result = await session.execute(delete(Outbox).where(Outbox.ref.in_(refs)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Finished deliveries past the retention period; undelivered rows are never purged."""
    result = await session.execute(
        delete(Outbox)
        .where(Outbox.status.in_(FINISHED), Outbox.created_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return {"outbox": int(result.rowcount or 0)}  # type: ignore[attr-defined]
