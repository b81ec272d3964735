"""The terminal channel: the same engine and database, typed and printed."""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import failure
from bot.channels.base import Capabilities
from intents.engine import Engine
from intents.flows.menu import Resume
from intents.i18n import N_, texts
from intents.messages import Button, Incoming, Reply

CHANNEL = "console"
CAPABILITIES = Capabilities(buttons=True, attachments=True)  # buttons as numbered options
RESUME = Resume().pack()
BANNER = N_("Sello Migrante — escribe tu pregunta; un número elige una opción; Ctrl-D para salir.")


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    """Replies as terminal text; buttons become numbered options."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        lines.append(reply.text)
        if reply.attachment is not None and reply.attachment.is_image:
            lines.append(f"[{save_image(reply.attachment.filename, reply.attachment.content)}]")
        elif reply.attachment is not None:
            lines.append(f"[{reply.attachment.filename}]")
            lines.append(reply.attachment.content.decode("utf-8", "replace"))
        for button in reply.flat_buttons:
            buttons.append(button)
            lines.append(f"  [{len(buttons)}] {button.label}")
        lines.append("")
    return "\n".join(lines), buttons


def save_image(filename: str, content: bytes) -> Path:
    """A terminal cannot show an image: write it to a temporary folder and give its path."""
    folder = Path(tempfile.gettempdir()) / "sello-bot-images"
    folder.mkdir(exist_ok=True)
    path = folder / Path(filename).name
    path.write_bytes(content)
    return path


class Console:
    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self, engine: Engine, user: str = "1", lang: str | None = None, out: TextIO | None = None
    ) -> None:
        self.engine = engine
        self.user = user
        self.lang = lang
        self.out = out or sys.stdout
        self._ids = itertools.count(1)
        self._buttons: list[Button] = []

    def incoming(self, line: str) -> Incoming:
        stripped = line.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self._buttons):
            return Incoming(
                CHANNEL,
                self.user,
                self.user,
                payload=self._buttons[int(stripped) - 1].payload,
                language_hint=self.lang,
            )
        return Incoming(CHANNEL, self.user, self.user, text=stripped, language_hint=self.lang)

    async def say(self, line: str) -> str:
        return await self._show(self.incoming(line))

    async def _show(self, incoming: Incoming) -> str:
        replies = await self.engine.handle(incoming)
        text, buttons = render(replies)
        # A number picks from the buttons just shown, never from older ones still on screen.
        self._buttons = buttons
        return text

    async def run(self, read: Callable[[], str] = input) -> None:
        self.out.write(texts(self.lang)._(BANNER) + "\n\n")
        # Where the user left off (a press of "where was I", never a typed word): an
        # unfinished orientation's question again, else the greeting.
        start = Incoming(CHANNEL, self.user, self.user, payload=RESUME, language_hint=self.lang)
        self.out.write(await self.answer(start) + "\n")
        while True:
            try:
                line = await asyncio.to_thread(read)
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return
            if not line.strip():
                continue
            self.out.write(await self.answer(line) + "\n")
            self.out.flush()

    async def answer(self, line: str | Incoming) -> str:
        """`say` (or the press given), with the error policy of every channel
        (bot/failure.py): an unexpected error is logged with its traceback and the person
        gets the apology; the chat goes on."""
        incoming = line if isinstance(line, Incoming) else self.incoming(line)
        try:
            return await self._show(incoming)
        except Exception as exc:
            failure.report("error while handling a terminal message", exc)
            self._buttons = []
            speaks = await self.engine.language_of(incoming)
            return failure.apology(incoming.text, self.lang, speaks).text + "\n"
