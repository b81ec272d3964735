"""Messages to other people: rendered in the recipient's language, queued in the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from intents.context import Context
from intents.i18n import Texts, texts
from intents.masking import shown
from intents.messages import Button
from storage import outbox
from storage.models import User

Render = Callable[[Texts], tuple[str, list[Button]]]


def notify(
    ctx: Context, recipients: Iterable[User], render: Render, ref: outbox.Ref | None = None
) -> int:
    """Queue one message per recipient (never the sender), in the same unit of work."""
    count = 0
    for user in recipients:
        if user.id == ctx.user.id:
            continue
        t = texts(user.speaks)
        text, buttons = render(t)
        text = shown(t, text)
        outbox.enqueue(
            ctx.session,
            user,
            text,
            ctx.now,
            buttons=[[{"label": b.label, "payload": b.payload}] for b in buttons] or None,
            ref=ref,
        )
        count += 1
    return count
