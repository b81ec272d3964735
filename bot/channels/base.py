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
    """A channel as the composition root sees it."""

    name: str
    capabilities: Capabilities


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
