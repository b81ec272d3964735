"""What a part of the edge serves over HTTP, and the checks every webhook shares.

Each part (a channel's webhooks, /healthz and /metrics, the web console) declares its own
`Routes`; `bot.http.make_server` serves the parts it is given and knows none of them, so a
new channel brings its webhook with it instead of a new argument to the server.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routes:
    """The routes of one part of the edge (aiohttp's `web.get(...)`, `web.post(...)`,
    `web.static(...)`), and what the part needs of the server that serves them (the console:
    its templates and its security headers), applied before the routes are added."""

    routes: Sequence[web.AbstractRouteDef] = ()
    setup: Callable[[web.Application], None] | None = None


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; ValueError for anything else: bad JSON or UTF-8,
    another JSON type, or nesting deeper than the parser's recursion (RecursionError)."""
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty secret matches nothing. aiohttp hands over header
    bytes that are not UTF-8 as surrogate escapes: encoded back, they simply differ."""
    return bool(expected) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def refused(channel: str, exc: BaseException) -> web.Response:
    """A 400 with one log line: a crafted body is the sender's problem, not a server error
    (and a 500 would make the platform deliver it again, in a loop)."""
    log.info("%s webhook: malformed body refused (%s)", channel, exc)
    return web.Response(status=400)
