"""The closed sets of values stored in string columns, each declared once.

StrEnums: a member is its value (`OutboxStatus.SENT == "sent"`), so the stored values, the
migrations and JSON stay what they were, while a typo in code is an AttributeError instead of
a status nothing ever matches."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MIGRANT = "migrant"
    MUNICIPAL = "municipal"
    OFFICER = "officer"
    ADMIN = "admin"


class CaseStatus(StrEnum):
    OPEN = "abierto"
    IN_REVIEW = "en_revision"
    ANSWERED = "respondido"
    REFERRED = "derivado"
    CLOSED = "cerrado"


class OutboxStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a dispatcher worker
    HELD = "held"  # waits for the user (no private chat yet, or WhatsApp's window closed)
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the user blocked the bot
    CANCELLED = "cancelled"  # a bulletin for someone who unsubscribed before it went out


class Lane(StrEnum):
    """Interactive notifications go before bulletins."""

    NOTIFY = "notify"
    BULLETIN = "bulletin"
