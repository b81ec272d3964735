"""SQLAlchemy ORM models: the database schema of the assistant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Comuna(Base):
    __tablename__ = "comunas"
    cut: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    adhered_since: Mapped[date | None] = mapped_column(Date, nullable=True)


class User(Base):
    """Someone who talks to the bot on one channel; role, language and flow state live here."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    client_language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    role: Mapped[str] = mapped_column(String(16), default="migrant")
    comuna_cut: Mapped[str | None] = mapped_column(ForeignKey("comunas.cut"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    flow: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flow_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flow_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    flow_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The last message the user sent (WhatsApp's 24-hour customer-service window).
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Officer(Base):
    """A SERMIG regional officer (encargada/o regional) as registered by an admin."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    telegram_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    whatsapp: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HandledUpdate(Base):
    """One row per platform update already handled: the unique key makes handling idempotent."""

    __tablename__ = "handled_updates"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # For platforms that redeliver until acknowledged: the replies, kept until sent, so a
    # worker that died after committing but before replying is covered by the redelivery.
    replies: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UnansweredQuestion(Base):
    """A question the knowledge base could not answer with confidence, for the content team."""

    __tablename__ = "unanswered_questions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))
    best_topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_unanswered_questions_asked_at", "asked_at"),)


class EnrollmentCode(Base):
    """A one-time code that makes its user the municipal contact of a comuna."""

    __tablename__ = "enrollment_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    comuna_cut: Mapped[str] = mapped_column(ForeignKey("comunas.cut"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Attempt(Base):
    """A rate-limited action by a user (a wrong enrollment code, a relayed message)."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_attempts_user_kind_at", "user_id", "kind", "at"),)


class CaseSequence(Base):
    """The last case number used in a year: numbers are never reused."""

    __tablename__ = "case_sequences"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """A caso Sello: a comuna's situation that needs SERMIG's support."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    comuna_cut: Mapped[str] = mapped_column(ForeignKey("comunas.cut"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    referred_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseEvent(Base):
    """The audit trail: every change and every message of a case, with actor and time."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # opened, taken, message, status, referred
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor_role: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_from: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status_to: Mapped[str | None] = mapped_column(String(16), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RelayMessage(Base):
    """A message between a municipal contact and their regional officer(s), via the bot."""

    __tablename__ = "relay_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    direction: Mapped[str] = mapped_column(String(16))  # to_officer, to_contact
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Outbox(Base):
    """A message to someone other than the sender, written in the same unit of work as the
    change that causes it and delivered by the dispatcher (at least once, never lost)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(12))  # "notify" (interactive) or "bulletin"
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # e.g. "relay:12"
    bulletin_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12))  # pending, sending, sent, failed, blocked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The platform's delivery receipt (WhatsApp statuses: delivered, read, failed).
    receipt: Mapped[str | None] = mapped_column(String(12), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        Index("ix_outbox_due", "status", "lane", "next_attempt_at"),
        Index("ix_outbox_sent_message", "channel", "chat_id", "sent_message_id"),
    )


class Subscription(Base):
    """Opt-in to the bulletin; the segment is the user's role, region, comuna and language."""

    __tablename__ = "subscriptions"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    comuna_cut: Mapped[str | None] = mapped_column(ForeignKey("comunas.cut"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Bulletin(Base):
    """A broadcast of the boletín informativo: its text, audience and delivery state."""

    __tablename__ = "bulletins"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # queued, done
    total: Mapped[int] = mapped_column(Integer)  # recipients
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsoleLink(Base):
    """A one-time sign-in link to the web console; only the token's SHA-256 is stored."""

    __tablename__ = "console_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsoleSession(Base):
    """A signed-in console session: the cookie holds a random id, the table its SHA-256."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsoleAudit(Base):
    """Who did what in the console (sign-in, sign-out, case actions), without message texts."""

    __tablename__ = "console_audit"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
