"""A fake WhatsApp Cloud API (Graph API) on loopback: records sends, enforces the limits."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PHONE_ID = "1098765432"
TOKEN = "graph-test-token"


def violations(payload: dict[str, Any]) -> list[str]:
    """What in a send request breaks the Cloud API's limits."""
    problems = []
    kind = payload.get("type")
    if payload.get("messaging_product") != "whatsapp":
        problems.append("messaging_product")
    if not (payload.get("to") or payload.get("recipient")):
        problems.append("no recipient")
    if kind == "text" and len(payload["text"]["body"]) > 4096:
        problems.append("text over 4096")
    if kind in ("image", "document"):
        media = payload.get(kind) or {}
        if not (media.get("id") or media.get("link")):
            problems.append(f"{kind} without id or link")
        if len(media.get("caption", "")) > 1024:
            problems.append("caption over 1024")
    if kind == "interactive":
        interactive = payload["interactive"]
        if len(interactive["body"]["text"]) > 1024:
            problems.append("body over 1024")
        action = interactive["action"]
        if interactive["type"] == "button":
            buttons = action["buttons"]
            if len(buttons) > 3:
                problems.append("more than 3 buttons")
            problems += [
                f"button title {b['reply']['title']!r}"
                for b in buttons
                if len(b["reply"]["title"]) > 20
            ]
            problems += ["button id over 256" for b in buttons if len(b["reply"]["id"]) > 256]
        elif interactive["type"] == "list":
            if len(action["button"]) > 20:
                problems.append("list button over 20")
            rows = [r for s in action["sections"] for r in s["rows"]]
            if len(rows) > 10:
                problems.append("more than 10 rows")
            problems += [f"row title {r['title']!r}" for r in rows if len(r["title"]) > 24]
            problems += ["row description" for r in rows if len(r.get("description", "")) > 72]
    return problems


@dataclass(frozen=True)
class Upload:
    """A file uploaded to the media store (POST /{phone_id}/media)."""

    id: str
    mime: str
    filename: str
    content: bytes


@dataclass
class FakeGraph:
    sent: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    down_until: float = 0.0  # time.monotonic() until which every send gets a 500 (an outage)
    refused: int = 0  # sends answered with an error during an outage
    refuse_uploads: bool = False  # the media store answers every upload with an error

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._event = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{phone_id}/messages", self._messages)
        app.router.add_post("/{phone_id}/media", self._media)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.api_url

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"code": 190, "message": "bad token"}}, status=401)
        if request.match_info["phone_id"] != PHONE_ID:
            return web.json_response({"error": {"code": 100, "message": "bad id"}}, status=400)
        payload = await request.json()
        if time.monotonic() < self.down_until:
            self.refused += 1
            return web.json_response(
                {"error": {"code": 1, "message": "An unknown error occurred"}}, status=500
            )
        if self.fail_next:
            status, error = self.fail_next.pop(0)
            return web.json_response({"error": error}, status=status)
        found = violations(payload)
        if found:
            self.problems += found
            return web.json_response(
                {"error": {"code": 100, "message": "; ".join(found)}}, status=400
            )
        self.sent.append(payload)
        self._event.set()
        wamid = f"wamid.OUT{next(self._ids)}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload.get("to", "")}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        """The media upload: multipart with messaging_product, type and the file."""
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"code": 190, "message": "bad token"}}, status=401)
        if self.refuse_uploads:
            return web.json_response({"error": {"code": 131053, "message": "upload"}}, status=400)
        form = await request.post()
        file = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not hasattr(file, "file"):
            return web.json_response({"error": {"code": 100, "message": "bad upload"}}, status=400)
        upload = Upload(
            id=f"media-{next(self._ids)}",
            mime=str(form.get("type", "")),
            filename=str(file.filename),  # type: ignore[union-attr]
            content=file.file.read(),  # type: ignore[union-attr]
        )
        self.uploads.append(upload)
        return web.json_response({"id": upload.id})

    def upload(self, media_id: str) -> Upload:
        return next(u for u in self.uploads if u.id == media_id)

    def to(self, who: str) -> list[dict[str, Any]]:
        return [p for p in self.sent if who in (p.get("to"), p.get("recipient"))]

    async def wait(self, who: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.to(who)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages to {who}: {self.to(who)}")
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), 0.2)
            except TimeoutError:
                pass
        return self.to(who)


def text_of(payload: dict[str, Any]) -> str:
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    if payload["type"] == "interactive":
        return str(payload["interactive"]["body"]["text"])
    if payload["type"] in ("image", "document"):
        return str(payload[payload["type"]].get("caption", ""))
    return str(payload.get("template", {}))


def ids_of(payload: dict[str, Any]) -> list[str]:
    if payload["type"] != "interactive":
        return []
    action = payload["interactive"]["action"]
    if "buttons" in action:
        return [b["reply"]["id"] for b in action["buttons"]]
    return [r["id"] for s in action["sections"] for r in s["rows"]]


def text_call(wamid: str, phone: str, text: str, name: str = "Ana Prueba") -> dict[str, Any]:
    """A webhook call carrying one text message, as the Cloud API posts it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": PHONE_ID},
                            "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                            "messages": [
                                {
                                    "id": wamid,
                                    "from": phone,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
