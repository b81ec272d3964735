"""SQLAlchemy ORM models: the database schema of the assistant."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Every stored time is UTC and comes back aware, on every database: PostgreSQL's
    timestamptz returns the session's zone, SQLite returns naive values. The one place that
    knows, instead of a `tzinfo is None` patch wherever a stored time is read. A naive value
    written is taken as UTC (what every caller means: times come from the engine's clock)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """A stored time as a person's data export writes it (ISO 8601, UTC: see UTCDateTime)."""
    return value.isoformat() if value is not None else None


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
    # What the directory knows of the comuna's Sello (adherida, certificada, renovada) and
    # where that comes from: a public source, or "admin" for the CLI.
    sello_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sello_source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sello_evidence: Mapped[str | None] = mapped_column(Text, nullable=True)


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
    # The language of the user's last confidently detected message (WhatsApp sends no
    # client language; a button press has no text): kept so every later reply follows it.
    detected_language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    role: Mapped[str] = mapped_column(String(16), default="migrant")
    comuna_cut: Mapped[str | None] = mapped_column(ForeignKey("comunas.cut"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), nullable=True)
    flow: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flow_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flow_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    flow_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last message the user sent (WhatsApp's 24-hour customer-service window).
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last full answer shown ({"topic", "question"}, the question masked): what a 👍 / 👎
    # under it rates; cleared once rated, so a replayed button rates nothing.
    last_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    @property
    def speaks(self) -> str | None:
        """The conversation's language as stored: the /idioma choice, else the last
        confidently detected one, else the client's (None: the default, Spanish)."""
        return self.language or self.detected_language or self.client_language


class AnswerFeedback(Base):
    """A 👍 or 👎 under a full answer, for the content team: topic, language and time; the
    masked question and what the person was looking for only on 👎."""

    __tablename__ = "answer_feedback"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    topic: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))
    helpful: Mapped[bool] = mapped_column(Boolean)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    looking_for: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_answer_feedback_topic_at", "topic", "at"),)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandledUpdate(Base):
    """One row per platform update already handled: the unique key makes handling idempotent."""

    __tablename__ = "handled_updates"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # For platforms that redeliver until acknowledged: the replies, kept until sent, so a
    # worker that died after committing but before replying is covered by the redelivery.
    replies: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UnansweredQuestion(Base):
    """A question the knowledge base could not answer with confidence, for the content team."""

    __tablename__ = "unanswered_questions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))
    best_topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_unanswered_questions_asked_at", "asked_at"),)


class EnrollmentCode(Base):
    """A one-time code that makes its user the municipal contact of a comuna."""

    __tablename__ = "enrollment_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    comuna_cut: Mapped[str] = mapped_column(ForeignKey("comunas.cut"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Attempt(Base):
    """A rate-limited action by a user (a wrong enrollment code, a relayed message)."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
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
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The platform's delivery receipt (WhatsApp statuses: delivered, read, failed).
    receipt: Mapped[str | None] = mapped_column(String(12), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class InboxEvent(Base):
    """A signed webhook call, stored before the platform gets its 200 (WhatsApp does not
    deliver again after a 200): processed from here, so a crash or restart resumes it. The
    row is deleted once every message in it is handled and answered."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # pending, working
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (Index("ix_inbox_due", "channel", "status", "id"),)


class Heartbeat(Base):
    """A row the health check writes: proof that the database accepts writes (a full disk or a
    read-only file answers a SELECT, not an INSERT)."""

    __tablename__ = "heartbeats"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class FloodBucket(Base):
    """A sender's flood-limit token bucket, shared by every worker (PostgreSQL): `stamp` is
    the time of the last refill in seconds since the epoch, `refused` how many messages in a
    row were over the limit (the first is warned, the next are dropped)."""

    __tablename__ = "flood_buckets"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float, index=True)
    refused: Mapped[int] = mapped_column(Integer, default=0)


class StatEdition(Base):
    """An edition of the official figures on foreign residents; each figure keeps its edition
    (every edition revises earlier years) and the bot shows the latest."""

    __tablename__ = "stat_editions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    reference: Mapped[date] = mapped_column(Date)  # the estimate's reference date
    published: Mapped[str | None] = mapped_column(String(40), nullable=True)
    estimate_source: Mapped[str] = mapped_column(String(300))
    estimate_url: Mapped[str] = mapped_column(String(300))
    permits_source: Mapped[str] = mapped_column(String(300))
    permits_url: Mapped[str] = mapped_column(String(300))
    digest: Mapped[str] = mapped_column(String(64))  # of the imported files: re-import is a no-op
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatEstimate(Base):
    """Estimated foreign residents of a place (country, region, comuna or "other comunas")
    in a year, with the sex split where published."""

    __tablename__ = "stat_estimates"
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("stat_editions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    census: Mapped[int | None] = mapped_column(Integer, nullable=True)  # censo ajustado
    records: Mapped[int | None] = mapped_column(Integer, nullable=True)  # registros
    total: Mapped[int] = mapped_column(Integer)
    men: Mapped[int | None] = mapped_column(Integer, nullable=True)
    women: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StatNationality(Base):
    """Estimated foreign residents of a place in a year from one country of nationality."""

    __tablename__ = "stat_nationalities"
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("stat_editions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(String(60), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)


class StatPermit(Base):
    """Residence permits of a comuna in a year (procedures, not people): type, state and
    nationality."""

    __tablename__ = "stat_permits"
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("stat_editions.id", ondelete="CASCADE"), primary_key=True
    )
    cut: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    permit: Mapped[str] = mapped_column(String(12), primary_key=True)  # temporal, definitiva
    state: Mapped[str] = mapped_column(String(12), primary_key=True)  # acogidas, otorgadas
    country: Mapped[str] = mapped_column(String(60), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ConsoleLink(Base):
    """A one-time sign-in link to the web console; only the token's SHA-256 is stored."""

    __tablename__ = "console_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsoleSession(Base):
    """A signed-in console session: the cookie holds a random id, the table its SHA-256."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


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
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
