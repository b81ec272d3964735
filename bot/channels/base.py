"""What every channel shares, and what the rest of the edge may assume of one.

The dispatcher (the outbox) and the composition root depend on these types, never on a
particular channel; a channel depends on the engine and on these types, never on `storage`
(what it must record, a delivery receipt or a user's customer-service window, goes through
the engine). The layer rule is checked by `lint-imports` (pyproject.toml).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from bot.routes import Routes
from intents.messages import Reply


class Outcome(Enum):
    SENT = "sent"
    HELD = "held"  # not deliverable now (WhatsApp window closed): waits for the user
    BLOCKED = "blocked"
    RETRY_AFTER = "retry_after"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None = None
    retry_after: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One outbox message to send, with what a channel may need to know of its recipient.

    `bulletin`: the message is a bulletin (outside a customer-service window it may go as an
    approved template; a notification waits for the user instead)."""

    chat_id: str
    reply: Reply
    bulletin: bool = False
    lang: str | None = None
    last_inbound_at: datetime | None = None


class Sender(Protocol):
    """What the dispatcher needs of a channel: send one queued message."""

    async def send(self, delivery: Delivery) -> SendResult: ...


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show and what it imposes, declared once by the channel.

    buttons: inline buttons; lists: a pick-list for more choices than buttons fit;
    attachments: files and images; window: a customer-service window (messages outside it
    need an approved template, so the time of each user's last message matters)."""

    buttons: bool = False
    lists: bool = False
    attachments: bool = False
    window: bool = False


class Channel(Protocol):
    """A channel as the composition root (bot/app.py) sees it: what it can show, the sender
    the outbox dispatcher uses, the HTTP routes it serves (its webhooks; none when it polls),
    and its life around the HTTP server's. The terminal (console.py) is not served: it runs
    in `sello-bot chat` and declares only its name and capabilities."""

    name: str
    capabilities: Capabilities

    @property
    def sender(self) -> Sender:
        """What the outbox dispatcher sends this channel's queued messages through."""
        ...

    def routes(self) -> Routes:
        """Its webhooks, served only when the channel is enabled."""
        ...

    async def start(self) -> None:
        """Be ready for updates, before the HTTP server listens (a stored WhatsApp call, a
        Telegram update to a webhook registered by an earlier run); then start receiving."""
        ...

    async def stop(self) -> None:
        """The HTTP server takes no more requests: finish what was accepted. Safe after a
        start that failed half-way."""
        ...

    async def close(self) -> None:
        """The dispatcher is done with the sender: release it."""
        ...


class UserLocks:
    """One lock per sender so their messages are handled in order while others run freely."""

    def __init__(self, max_size: int = 10_000) -> None:
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()
        self._max = max_size

    def __call__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > self._max:
                oldest, candidate = next(iter(self._locks.items()))
                if candidate.locked():
                    break
                del self._locks[oldest]
        else:
            self._locks.move_to_end(key)
        return lock
