"""Bulletins: splitting long texts, creating a broadcast, and reporting to its author."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from intents.i18n import texts
from storage import bulletins, outbox, users
from storage.db import Session
from storage.models import Bulletin
from storage.subscriptions import Audience

PART_LIMIT = 4000  # under Telegram's 4096 and WhatsApp's 4096 characters


def split(text: str, limit: int = PART_LIMIT) -> list[str]:
    """Parts under `limit`, cut at paragraph boundaries (then lines, then words)."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in _blocks(text, limit):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def _blocks(text: str, limit: int) -> list[str]:
    blocks: list[str] = []
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip()
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            if cut <= 0:
                cut = paragraph.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
            blocks.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        if paragraph:
            blocks.append(paragraph)
    return blocks


async def create(
    session: Session,
    text: str,
    audience: Audience,
    author_id: int | None,
    now: datetime,
    scheduled_at: datetime | None = None,
) -> Bulletin:
    return await bulletins.create(
        session,
        parts=split(text),
        text=text,
        audience=audience,
        author_id=author_id,
        now=now,
        scheduled_at=scheduled_at,
    )


def report_text(lang: str | None, bulletin: Bulletin, counts: dict[str, int]) -> str:
    t = texts(lang)
    seconds = 0
    if bulletin.finished_at is not None:
        start = max(bulletin.scheduled_at, bulletin.created_at)
        seconds = max(0, int((bulletin.finished_at - start).total_seconds()))
    return t._(
        "Boletín #{id} terminado en {duration}: {sent} entregados, {blocked} bloquearon el bot, "
        "{failed} fallidos, {cancelled} se dieron de baja, de {total} destinatarios."
    ).format(
        id=bulletin.id,
        duration=_duration(seconds),
        sent=t.number(counts["sent"]),
        blocked=t.number(counts["blocked"]),
        failed=t.number(counts["failed"]),
        cancelled=t.number(counts["cancelled"]),
        total=t.number(bulletin.total),
    )


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Completion:
    """Finds bulletins whose delivery ended, marks them done and reports to their author.

    Checking is throttled per bulletin: a broadcast of 100,000 messages is not recounted
    after every batch.
    """

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self._checked: dict[int, float] = {}

    async def __call__(self, session: Session, row_ids: Sequence[int], now: datetime) -> None:
        await self.check(session, await outbox.bulletins_of(session, row_ids), now, force=False)

    async def check(
        self, session: Session, ids: Sequence[int], now: datetime, force: bool = True
    ) -> list[int]:
        finished = []
        clock = time.monotonic()
        for bulletin in await bulletins.unfinished(session, ids):
            if not force and clock - self._checked.get(bulletin.id, 0.0) < self.every:
                continue
            self._checked[bulletin.id] = clock
            if not await bulletins.is_drained(session, bulletin.id):
                continue
            bulletin.status = "done"
            bulletin.finished_at = now
            finished.append(bulletin.id)
            author = (
                await users.get_by_id(session, bulletin.author_id) if bulletin.author_id else None
            )
            if author is not None:
                counts = await bulletins.counts(session, bulletin.id)
                text = report_text(author.speaks, bulletin, counts)
                outbox.enqueue(session, author, text, now)
        return finished
