"""Repository of a person's rights over their data (Ley 19.628, Ley 21.719): access, erasure,
and the purge of logs kept longer than the retention period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import feedback, flood
from storage.models import (
    AnswerFeedback,
    Attempt,
    Bulletin,
    Case,
    CaseEvent,
    Comuna,
    ConsoleAudit,
    ConsoleLink,
    ConsoleSession,
    EnrollmentCode,
    HandledUpdate,
    Officer,
    Outbox,
    Region,
    RelayMessage,
    Subscription,
    UnansweredQuestion,
    User,
)
from storage.outbox import RelayRef
from storage.states import OutboxStatus

# Outbox rows still on their way (held: waiting for WhatsApp's 24-hour window to reopen).
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)
# Outbox rows whose story is over: only these are purged, a queued message never is.
FINISHED = (
    OutboxStatus.SENT,
    OutboxStatus.FAILED,
    OutboxStatus.BLOCKED,
    OutboxStatus.CANCELLED,
)


def _iso(value: datetime | None) -> str | None:
    """Stored times come back aware, in UTC (storage.models.UTCDateTime)."""
    return value.isoformat() if value is not None else None


async def export_user(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything stored about one user, as JSON-ready data (empty if there is no such user).

    Other people appear only as roles ("officer", "contact"), never by id or name.
    """
    user = await session.get(User, user_id)
    if user is None:
        return {}
    comuna = await session.get(Comuna, user.comuna_cut) if user.comuna_cut else None
    region = await session.get(Region, user.region_code) if user.region_code else None
    profile: dict[str, Any] = {
        "id": user.id,
        "channel": user.channel,
        "external_id": user.external_id,
        "chat_id": user.chat_id,
        "language": user.language,
        "client_language": user.client_language,
        "detected_language": user.detected_language,
        "role": user.role,
        "comuna": {"cut": comuna.cut, "name": comuna.name} if comuna else None,
        "region": {"code": region.code, "name": region.name} if region else None,
        "created_at": _iso(user.created_at),
        "last_seen_at": _iso(user.last_seen_at),
        "last_inbound_at": _iso(user.last_inbound_at),
        "last_answer": user.last_answer,
        "current_flow": (
            {
                "flow": user.flow,
                "step": user.flow_step,
                "data": user.flow_data,
                "updated_at": _iso(user.flow_updated_at),
            }
            if user.flow
            else None
        ),
    }

    subscription = await session.get(Subscription, user_id)
    subscribed = (
        {
            "active": subscription.active,
            "comuna_cut": subscription.comuna_cut,
            "region_code": subscription.region_code,
            "created_at": _iso(subscription.created_at),
            "updated_at": _iso(subscription.updated_at),
        }
        if subscription is not None
        else None
    )

    opened = (
        (await session.execute(select(Case).where(Case.opened_by == user_id).order_by(Case.id)))
        .scalars()
        .all()
    )
    cases = [
        {
            "number": case.number,
            "comuna_cut": case.comuna_cut,
            "region_code": case.region_code,
            "category": case.category,
            "urgency": case.urgency,
            "status": case.status,
            "referred_to": case.referred_to,
            "description": case.description,
            "opened_at": _iso(case.opened_at),
            "updated_at": _iso(case.updated_at),
        }
        for case in opened
    ]

    authored = (
        await session.execute(
            select(CaseEvent, Case.number)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.actor_id == user_id)
            .order_by(CaseEvent.id)
        )
    ).all()
    events = [
        {
            "case_number": number,
            "kind": event.kind,
            "role": event.actor_role,
            "body": event.body,
            "status_from": event.status_from,
            "status_to": event.status_to,
            "at": _iso(event.at),
        }
        for event, number in authored
    ]

    relayed = (
        (
            await session.execute(
                select(RelayMessage)
                .where(or_(RelayMessage.contact_id == user_id, RelayMessage.officer_id == user_id))
                .order_by(RelayMessage.id)
            )
        )
        .scalars()
        .all()
    )
    relay = [
        {
            # Which side of the conversation this user was on.
            "as": "contact" if message.contact_id == user_id else "officer",
            "direction": message.direction,
            "region_code": message.region_code,
            "body": message.body,
            "at": _iso(message.at),
        }
        for message in relayed
    ]

    used_codes = (
        (
            await session.execute(
                select(EnrollmentCode)
                .where(EnrollmentCode.used_by == user_id)
                .order_by(EnrollmentCode.used_at)
            )
        )
        .scalars()
        .all()
    )
    issued_codes = await session.scalar(
        select(func.count()).select_from(EnrollmentCode).where(EnrollmentCode.created_by == user_id)
    )
    attempts = (
        await session.execute(
            select(Attempt.kind, Attempt.at).where(Attempt.user_id == user_id).order_by(Attempt.at)
        )
    ).all()
    bulletins = (
        (
            await session.execute(
                select(Bulletin).where(Bulletin.author_id == user_id).order_by(Bulletin.id)
            )
        )
        .scalars()
        .all()
    )
    pending = await session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.user_id == user_id, Outbox.status.in_(UNDELIVERED))
    )

    return {
        "profile": profile,
        "subscription": subscribed,
        "cases_opened": cases,
        "case_events": events,
        "relay_messages": relay,
        "enrollment_codes_used": [
            {"comuna_cut": code.comuna_cut, "used_at": _iso(code.used_at)} for code in used_codes
        ],
        "enrollment_codes_issued": int(issued_codes or 0),
        "rate_limited_attempts": [{"kind": kind, "at": _iso(at)} for kind, at in attempts],
        "bulletins_authored": [
            {
                "id": bulletin.id,
                "text": bulletin.text,
                "status": bulletin.status,
                "recipients": bulletin.total,
                "created_at": _iso(bulletin.created_at),
            }
            for bulletin in bulletins
        ],
        "pending_outbox_messages": int(pending or 0),
        "answer_feedback": await feedback.export(session, user_id),
        "console_actions": [
            {"action": row.action, "target": row.target, "at": row.at.isoformat()}
            for row in (
                await session.scalars(
                    select(ConsoleAudit)
                    .where(ConsoleAudit.user_id == user_id)
                    .order_by(ConsoleAudit.id)
                )
            ).all()
        ],
    }


async def erase_user(session: AsyncSession, user_id: int, now: datetime) -> dict[str, int]:
    """Delete a user's personal data and the user; returns how many rows of each kind went.

    Cases and their events stay, with the person pseudonymized (their ids become NULL), so
    the audit trail of what SERMIG did is kept. The references are cleared here rather than
    left to the foreign keys' ON DELETE, so the outcome does not depend on the database
    enforcing them, and objects already in the session see the change.

    `now` is the time of the erasure. Nothing records it on purpose: a log of who asked to be
    erased would itself be personal data.
    """
    await session.flush()  # the unit of work's pending changes to this user go first
    counts: dict[str, int] = {}

    async def run(key: str, statement: Any) -> None:
        result = await session.execute(statement)
        counts[key] = counts.get(key, 0) + int(result.rowcount or 0)  # type: ignore[attr-defined]

    # Codes keep used_at, so a used code stays used; only who used or issued it is forgotten.
    await run(
        "enrollment_codes",
        update(EnrollmentCode).where(EnrollmentCode.used_by == user_id).values(used_by=None),
    )
    await run(
        "enrollment_codes",
        update(EnrollmentCode).where(EnrollmentCode.created_by == user_id).values(created_by=None),
    )
    await run("attempts", delete(Attempt).where(Attempt.user_id == user_id))
    await run("answer_feedback", delete(AnswerFeedback).where(AnswerFeedback.user_id == user_id))
    # The console: sign-in links and sessions go (the person is signed out everywhere); the
    # audit of what they did stays, addressed to nobody, like a case's trail.
    await run("console_links", delete(ConsoleLink).where(ConsoleLink.user_id == user_id))
    await run("console_sessions", delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    await run(
        "console_audit_pseudonymized",
        update(ConsoleAudit).where(ConsoleAudit.user_id == user_id).values(user_id=None),
    )
    await run("outbox", delete(Outbox).where(Outbox.user_id == user_id))
    user = await session.get(User, user_id)
    if user is not None:
        # Rows addressed to this person's private chat that lost their user id.
        await run(
            "outbox",
            delete(Outbox).where(
                Outbox.user_id.is_(None),
                Outbox.channel == user.channel,
                Outbox.chat_id == user.external_id,
            ),
        )
    # The notifications that carried this person's relayed messages to the officers hold the
    # text verbatim: they go with the messages, delivered or not.
    written = (
        (
            await session.execute(
                select(RelayMessage.id).where(
                    RelayMessage.contact_id == user_id, RelayMessage.direction == "to_officer"
                )
            )
        )
        .scalars()
        .all()
    )
    if written:
        await run(
            "outbox",
            delete(Outbox).where(
                Outbox.ref.in_([RelayRef(message_id).pack() for message_id in written])
            ),
        )
    await run("subscription", delete(Subscription).where(Subscription.user_id == user_id))
    # What the person wrote to their officer goes; the officer's answers stay, addressed to
    # nobody, as the officer's side of the record.
    await run(
        "relay_messages",
        delete(RelayMessage).where(
            RelayMessage.contact_id == user_id, RelayMessage.direction == "to_officer"
        ),
    )
    await run(
        "relay_messages_pseudonymized",
        update(RelayMessage).where(RelayMessage.contact_id == user_id).values(contact_id=None),
    )
    await run(
        "relay_messages_pseudonymized",
        update(RelayMessage).where(RelayMessage.officer_id == user_id).values(officer_id=None),
    )
    await run(
        "cases_pseudonymized",
        update(Case).where(Case.opened_by == user_id).values(opened_by=None),
    )
    await run(
        "cases_pseudonymized",
        update(Case).where(Case.assigned_to == user_id).values(assigned_to=None),
    )
    await run(
        "case_events_pseudonymized",
        update(CaseEvent).where(CaseEvent.actor_id == user_id).values(actor_id=None),
    )
    await run(
        "bulletins_pseudonymized",
        update(Bulletin).where(Bulletin.author_id == user_id).values(author_id=None),
    )
    if user is not None:
        counts["officers_deactivated"] = await _forget_officer(session, user)
        # The shared flood bucket is keyed by the sender's platform id.
        counts["flood_buckets"] = await flood.forget(session, f"{user.channel}:{user.external_id}")
        await session.delete(user)
        await session.flush()
    counts["user"] = 1 if user is not None else 0
    return counts


async def _forget_officer(session: AsyncSession, user: User) -> int:
    """Deactivate the directory entry of an officer who erases themselves, and forget who they
    were (name, e-mail, phone, chat ids), so the entry is no longer listed and the same
    person can be registered again. Their other chat account, if any, loses the officer role,
    as when an admin removes an officer."""
    column = {"telegram": Officer.telegram_id, "whatsapp": Officer.whatsapp}.get(user.channel)
    if column is None:
        return 0
    entries = (await session.execute(select(Officer).where(column == user.external_id))).scalars()
    count = 0
    for officer in entries.all():
        for channel, external in (
            ("telegram", officer.telegram_id),
            ("whatsapp", officer.whatsapp),
        ):
            if external is None or (channel, external) == (user.channel, user.external_id):
                continue
            other = await session.scalar(
                select(User).where(User.channel == channel, User.external_id == external)
            )
            if other is not None and other.role == "officer":
                other.role = "migrant"
                other.region_code = None
        officer.active = False
        officer.name = ""
        officer.email = None
        officer.phone = None
        officer.telegram_id = None
        officer.whatsapp = None
        count += 1
    await session.flush()
    return count


async def purge_logs(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """Delete logs kept past the retention period; returns how many rows of each kind went.

    Unanswered questions, handled-update keys, rate-limit attempts and outbox rows whose
    delivery is over (sent, failed, blocked, cancelled). Undelivered rows are never purged.
    """
    statements = {
        "unanswered_questions": delete(UnansweredQuestion).where(
            UnansweredQuestion.asked_at < older_than
        ),
        "handled_updates": delete(HandledUpdate).where(HandledUpdate.handled_at < older_than),
        "attempts": delete(Attempt).where(Attempt.at < older_than),
        "outbox": delete(Outbox).where(Outbox.status.in_(FINISHED), Outbox.created_at < older_than),
    }
    counts: dict[str, int] = {}
    for key, statement in statements.items():
        result = await session.execute(statement.execution_options(synchronize_session=False))
        counts[key] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
