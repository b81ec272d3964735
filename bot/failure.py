"""What an unexpected error does, the same on every channel.

It is logged once, with its traceback. Then:
- an error a later try may not meet (`passing`: the database unavailable or busy, the network
  down) is left to the platform's or the inbox's next delivery where there is one: the
  Telegram webhook answers 500 (Telegram delivers the update again), a WhatsApp call stays in
  the inbox (processed again; it was stored before its 200, and still is). What was handled
  is not handled twice: updates are deduplicated and their replies journaled.
- any other error (a bug) would fail the same way on every delivery: the person gets the
  apology below, in their language, and the update is acknowledged, so that the platform
  does not deliver it again for hours to the same failure.
Where nothing delivers again (Telegram polling, the terminal) the apology goes out either
way. The web console shows an error page (bot/console/web.py).
"""

from __future__ import annotations

import logging

import aiohttp

from intents.i18n import N_, texts
from intents.language import choose
from intents.messages import Reply
from storage.errors import unavailable

log = logging.getLogger(__name__)

APOLOGY = N_("Algo salió mal de mi lado. Intenta de nuevo en un momento.")


def passing(exc: BaseException) -> bool:
    """Whether a later try may succeed where this one failed."""
    return unavailable(exc) or isinstance(exc, TimeoutError | OSError | aiohttp.ClientError)


def report(what: str, exc: BaseException) -> None:
    """One log line with the traceback; no message text or phone number (what says where)."""
    log.error("%s (%s)", what, type(exc).__name__, exc_info=exc)


def apology(text: str | None, language_hint: str | None, speaks: str | None = None) -> Reply:
    """The apology in the conversation's language (`speaks`: Engine.language_of, which reads
    the person's stored language when the database answers), else the language the message
    is written in, else the client's, else Spanish."""
    return Reply(texts(speaks or choose(None, text, language_hint))._(APOLOGY))
