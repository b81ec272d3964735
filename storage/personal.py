"""Which tables hold personal data, and what a person's rights do with each: every table of
the schema is classified here, so a new table cannot be forgotten by the export (/misdatos)
and the erasure (/borrar). Each repository that holds personal data exports and erases its
own rows (`export_for`, `erase_for`), and is registered once, in HOLDERS; `storage/privacy.py`
only runs them. tests/test_erasure.py fails when a table is missing from TABLES, when a
personal table is exported or erased by no registered repository, or when a declared export
or erasure does not happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage import (
    attempts,
    bulletins,
    cases,
    codes,
    console,
    feedback,
    flood,
    officers,
    outbox,
    questions,
    relays,
    subscriptions,
    updates,
    users,
)
from storage.models import User


@dataclass(frozen=True)
class Personal:
    """A table holding personal data.

    exported: the key of `privacy.export_user`'s result that carries its rows (None: nothing
    in it is the person's own to read, e.g. a replay guard); erased: the keys of
    `privacy.erase_user`'s counts for its rows (deleted or pseudonymized); purged: the key of
    `privacy.purge_logs`'s counts when its rows are logs kept only for the retention period;
    transient: rows deleted by the code that uses them once done (the WhatsApp inbox)."""

    exported: str | None = None
    erased: tuple[str, ...] = ()
    purged: str | None = None
    transient: str | None = None


class Repository(Protocol):
    """A repository module that holds a person's data: it exports and erases its own rows.

    export_for: the keys it adds to /misdatos' file; erase_for: how many rows of each kind it
    deleted or pseudonymized (it may leave rows that refer to the user to nobody, never the
    user row itself, which `users` erases last)."""

    async def export_for(self, session: AsyncSession, user: User) -> dict[str, Any]: ...

    async def erase_for(
        self, session: AsyncSession, user: User, now: datetime
    ) -> dict[str, int]: ...


class Purged(Protocol):
    """A repository of logs kept only for the retention period."""

    async def purge_before(self, session: AsyncSession, older_than: datetime) -> dict[str, int]: ...


@dataclass(frozen=True)
class Holder:
    """A repository and the tables whose rows it exports and erases."""

    repository: Repository
    tables: tuple[str, ...]


# table -> Personal, or the reason it holds no personal data.
TABLES: dict[str, Personal | str] = {
    "users": Personal(exported="profile", erased=("user",), purged="recent_answers"),
    "subscriptions": Personal(exported="subscription", erased=("subscription",)),
    "cases": Personal(exported="cases_opened", erased=("cases_pseudonymized",)),
    "case_events": Personal(exported="case_events", erased=("case_events_pseudonymized",)),
    "relay_messages": Personal(
        exported="relay_messages", erased=("relay_messages", "relay_messages_pseudonymized")
    ),
    "enrollment_codes": Personal(exported="enrollment_codes_used", erased=("enrollment_codes",)),
    "attempts": Personal(exported="rate_limited_attempts", erased=("attempts",), purged="attempts"),
    "bulletins": Personal(exported="bulletins_authored", erased=("bulletins_pseudonymized",)),
    "outbox": Personal(exported="pending_outbox_messages", erased=("outbox",), purged="outbox"),
    "answer_feedback": Personal(
        exported="answer_feedback", erased=("answer_feedback",), purged="answer_feedback_texts"
    ),
    "officers": Personal(exported="directory_entry", erased=("officers_deactivated",)),
    "flood_buckets": Personal(erased=("flood_buckets",)),
    "unanswered_questions": Personal(purged="unanswered_questions"),
    "handled_updates": Personal(purged="handled_updates"),
    "console_links": Personal(erased=("console_links",)),
    "console_sessions": Personal(erased=("console_sessions",)),
    "console_audit": Personal(exported="console_actions", erased=("console_audit_pseudonymized",)),
    "inbox": Personal(transient="deleted once every message of the call is answered"),
    "heartbeats": "which worker holds a lease: process ids, no person",
    "regions": "public reference data (the official list of regions)",
    "comunas": "public reference data (comunas and their Sello status, from public sources)",
    "case_sequences": "a counter per region for case numbers",
    "stat_editions": "public statistics (INE/SERMIG estimates)",
    "stat_estimates": "public statistics (INE/SERMIG estimates)",
    "stat_nationalities": "public statistics (INE/SERMIG estimates)",
    "stat_permits": "public statistics (SERMIG permits granted)",
}


def personal_tables() -> dict[str, Personal]:
    return {name: kind for name, kind in TABLES.items() if isinstance(kind, Personal)}


# The repositories that hold a person's data, in the order of the export's keys; the erasure
# runs them in reverse, so the rows that refer to the user go first and the user row last.
HOLDERS: tuple[Holder, ...] = (
    Holder(users, ("users",)),
    Holder(subscriptions, ("subscriptions",)),
    Holder(cases, ("cases", "case_events")),
    Holder(relays, ("relay_messages",)),
    Holder(codes, ("enrollment_codes",)),
    Holder(attempts, ("attempts",)),
    Holder(bulletins, ("bulletins",)),
    Holder(outbox, ("outbox",)),
    Holder(feedback, ("answer_feedback",)),
    Holder(officers, ("officers",)),
    Holder(flood, ("flood_buckets",)),
    Holder(console, ("console_links", "console_sessions", "console_audit")),
)

# The repositories of logs purged after the retention period, in the order of the counts.
PURGED: tuple[Purged, ...] = (questions, updates, attempts, outbox, feedback, users)
