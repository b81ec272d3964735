"""A fake Telegram Bot API server on loopback: enough of the real protocol for PTB.

Keeps updates until a getUpdates with a higher offset confirms them (so a crashed bot sees
them again), answers long polls, records every sendMessage, and can be told to fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT = {"id": 999000, "is_bot": True, "first_name": "Sello", "username": "SelloTestBot"}


@dataclass
class Sent:
    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int:
        return int(self.params["chat_id"])

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup")
        if not markup:
            return []
        data = json.loads(markup) if isinstance(markup, str) else markup
        return [b for row in data.get("inline_keyboard", []) for b in row]


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail: Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]] | None] | None = None
    max_hold: float = 0.5  # seconds a long poll is held at most, to keep tests quick
    rate_limit: float | None = None  # sendMessage calls per second before answering 429
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot: 403
    flaky: float = 0.0  # probability of a 502 Bad Gateway on sendMessage
    seed: int = 1

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._new_sent = asyncio.Event()
        self._chat_events: dict[int, asyncio.Event] = {}
        self._count_by_chat: dict[int, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._window: list[float] = []
        self._random = random.Random(self.seed)
        self.rejected = {"429": 0, "403": 0, "502": 0}

    # -- server -----------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.api_url

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        if request.can_read_body:
            form = await request.post()
            return {k: v for k, v in form.items()}
        return dict(request.query)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(method)
        if self.fail is not None:
            failure = self.fail(method, params)
            if failure is not None:
                status, body = failure
                return web.json_response({"ok": False, "error_code": status, **body}, status=status)
        if method == "sendMessage":
            refused = self._refuse(params)
            if refused is not None:
                status, body = refused
                return web.json_response({"ok": False, "error_code": status, **body}, status=status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    # -- methods ----------------------------------------------------------------------------
    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **BOT,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        data = json.loads(commands) if isinstance(commands, str) else commands
        self.commands[str(params.get("language_code") or "")] = data
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, self.max_hold)
        while not self.updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return self.updates[:limit]

    def _refuse(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The platform's limits: a global rate (429), blocked users (403), flakiness (502)."""
        if self.rate_limit is not None:
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.rate_limit:
                self.rejected["429"] += 1
                return 429, {
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            self._window.append(now)
        if int(params["chat_id"]) in self.blocked:
            self.rejected["403"] += 1
            return 403, {"description": "Forbidden: bot was blocked by the user"}
        if self.flaky and self._random.random() < self.flaky:
            self.rejected["502"] += 1
            return 502, {"description": "Bad Gateway"}
        return None

    async def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        self._count_by_chat[sent.chat_id] = self._count_by_chat.get(sent.chat_id, 0) + 1
        self._new_sent.set()
        event = self._chat_events.get(sent.chat_id)
        if event is not None:
            event.set()

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        await self._record(Sent("sendMessage", params))
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT,
            "text": params.get("text", ""),
        }

    async def _send_file(self, method: str, field: str, params: dict[str, Any], shown: Any) -> Any:
        """sendDocument and sendPhoto: the uploaded bytes recorded, the caption as the text."""
        upload = params.get(field)
        content = upload.file.read() if hasattr(upload, "file") else b""
        await self._record(
            Sent(method, {**params, field: content, "text": params.get("caption", "")})
        )
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT,
            field: shown,
            "caption": params.get("caption", ""),
        }

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        shown = {"file_id": "doc", "file_unique_id": "doc1"}
        return await self._send_file("sendDocument", "document", params, shown)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        shown = [{"file_id": "photo", "file_unique_id": "photo1", "width": 720, "height": 900}]
        return await self._send_file("sendPhoto", "photo", params, shown)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    # -- test helpers -----------------------------------------------------------------------
    def push(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", next(self._ids))
        self.updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        lang: str | None = "es",
        chat_id: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> int:
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": chat_type},
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Prueba",
                **({"language_code": lang} if lang else {}),
            },
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push({"message": message})

    def press(self, user_id: int, data: str, *, lang: str | None = "es") -> int:
        return self.push(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": {
                        "id": user_id,
                        "is_bot": False,
                        "first_name": "Prueba",
                        **({"language_code": lang} if lang else {}),
                    },
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": next(self._message_ids),
                        "date": int(time.time()),
                        "chat": {"id": user_id, "type": "private"},
                        "from": BOT,
                        "text": "…",
                    },
                }
            }
        )

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until `count` messages were sent to `chat_id`; return them."""
        event = self._chat_events.setdefault(chat_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        while self._count_by_chat.get(chat_id, 0) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} messages to {chat_id}, got {len(self.to(chat_id))}: "
                    f"{[s.text[:60] for s in self.to(chat_id)]}"
                )
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass
        return self.to(chat_id)

    async def wait_text(self, chat_id: int, needle: str, timeout: float = 10.0) -> Sent:
        """Wait for a message to `chat_id` containing `needle`; return the latest such."""
        deadline = time.monotonic() + timeout
        while True:
            found = [s for s in self.to(chat_id) if needle in s.text]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no message with {needle!r} to {chat_id}: "
                    f"{[s.text[:60] for s in self.to(chat_id)]}"
                )
            self._new_sent.clear()
            try:
                await asyncio.wait_for(self._new_sent.wait(), 0.2)
            except TimeoutError:
                pass

    async def settle(self, quiet: float = 0.4, timeout: float = 10.0) -> None:
        """Wait until all updates were fetched and no message was sent for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = -1
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            if len(self.sent) != last:
                last = len(self.sent)
                stable_since = time.monotonic()
            elif time.monotonic() - stable_since >= quiet and not self._pending():
                return
            await asyncio.sleep(0.05)

    def _pending(self) -> bool:
        return False
