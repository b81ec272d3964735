"""Plain data crossing the boundary between channels and the engine."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 64


@dataclass(frozen=True)
class Button:
    """A choice offered to the user; `payload` is an opaque token with no authority."""

    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button payload over {MAX_CALLBACK_BYTES} bytes: {self.payload!r}")


@dataclass(frozen=True)
class Incoming:
    """One message or button press, as any channel sees it."""

    channel: str  # "telegram", "whatsapp", "console"
    user_id: str  # the sender's id on the channel
    chat_id: str  # where replies go
    text: str | None = None
    payload: str | None = None  # button payload, when a button was pressed
    update_id: str | None = None  # the platform's id for deduplication
    language_hint: str | None = None  # the client's language, if the platform tells it
    media: str | None = None  # "sticker", "photo", "voice", ... when it is not text
    display_name: str | None = None
    reply_to: str | None = None  # platform id of the bot's message this one replies to
    alias: str | None = None  # an older id of the same sender (WhatsApp: phone before BSUID)
    # The platform redelivers until acknowledged: journal the replies until they are sent.
    durable: bool = False
    # A one-to-one chat with the sender. A group message never changes where the person is
    # reached: notifications, relays and bulletins go to their private chat only.
    private: bool = True
    # The channel has a customer-service window (WhatsApp): the engine records the time of
    # each message and releases what waited for the user to write.
    window: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (the user's data export, a statistics chart); the reply's
    text is its caption."""

    filename: str
    content: bytes
    mime: str = "application/json"

    @property
    def is_image(self) -> bool:
        """Shown as a picture (Telegram sendPhoto, a WhatsApp image), not as a file."""
        return self.mime.startswith("image/")


@dataclass(frozen=True)
class Reply:
    """Something to show the sender: text, optional buttons in rows of one or more, and
    optionally a file."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    attachment: Attachment | None = None
    # The language the reply was written in, stamped by the engine: a channel writes its own
    # words around it (WhatsApp's "Ver opciones") in the same language.
    lang: str | None = field(default=None, compare=False)

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


def rows(buttons: list[Button], per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


# A journaled attachment is kept up to this size (a data export, a chart: tens of KB); a
# larger one would bloat the journal row, and is logged and left out.
MAX_JOURNALED_ATTACHMENT = 2 * 1024 * 1024


def dump_replies(replies: list[Reply]) -> list[dict[str, Any]]:
    """Replies as JSON for the update journal, so a redelivered update gets them again,
    attachment (base64) and language included."""
    dumped: list[dict[str, Any]] = []
    for r in replies:
        d: dict[str, Any] = {
            "text": r.text,
            "buttons": [[[b.label, b.payload] for b in row] for row in r.buttons],
        }
        if r.lang is not None:
            d["lang"] = r.lang
        a = r.attachment
        if a is not None and len(a.content) <= MAX_JOURNALED_ATTACHMENT:
            d["attachment"] = {
                "filename": a.filename,
                "mime": a.mime,
                "content": base64.b64encode(a.content).decode("ascii"),
            }
        elif a is not None:
            log.warning("attachment %s too large to journal (%d bytes)", a.filename, len(a.content))
        dumped.append(d)
    return dumped


def load_replies(data: list[dict[str, Any]]) -> list[Reply]:
    replies = []
    for d in data:
        a = d.get("attachment")
        replies.append(
            Reply(
                d["text"],
                tuple(
                    tuple(Button(label, payload) for label, payload in row)
                    for row in d.get("buttons", [])
                ),
                Attachment(a["filename"], base64.b64decode(a["content"]), a["mime"]) if a else None,
                lang=d.get("lang"),
            )
        )
    return replies
