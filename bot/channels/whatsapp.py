"""WhatsApp adapter (Cloud API): webhook events in, engine replies out through the Graph API.

Hand-written rather than pywa: the protocol surface we need is small (one webhook shape, one
send endpoint), and we keep our own aiohttp server, outbox and dispatcher; pywa brings its
own server integration and handler registry that would duplicate both.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot import failure
from bot.channels.base import Capabilities, Delivery, Outcome, SendResult, UserLocks
from bot.channels.posting import JsonPoster
from bot.inbox import Inbox
from bot.routes import Routes, refused, same_secret
from bot.settings import Settings
from intents.bulletin import split
from intents.engine import Engine
from intents.i18n import texts
from intents.messages import Attachment, Button, Incoming, Reply

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
WEBHOOK_PATH = "/webhooks/whatsapp"
CAPABILITIES = Capabilities(buttons=True, lists=True, attachments=True, window=True)
WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # interactive message body
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
MAX_BUTTONS = 3
MAX_ROWS = 10
CAPTION_LIMIT = 1024  # a media message's caption
PAIR_RATE_LIMIT = 131056  # too many messages to the same user: wait, then retry
RATE_LIMITS = {4, 80007, 130429, 131048, PAIR_RATE_LIMIT}
MEDIA = (
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "unsupported",
    "order",
    "system",
)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: sha256=<hex HMAC of the exact bytes received>, compared in
    constant time. An empty secret refuses everything: anyone can compute an HMAC over an
    empty key, so it would let any forged event through (defence in depth: the settings
    already refuse to start without the secret)."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix("sha256=").encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)  # bytes: any header compares, none raises


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Receipt:
    message_id: str
    status: str
    at: datetime


def parse(body: dict[str, Any]) -> tuple[list[Incoming], list[Receipt]]:
    """Every message and status of a webhook call (several entries, changes, messages)."""
    messages: list[Incoming] = []
    receipts: list[Receipt] = []
    if body.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account webhook")
    # One malformed item is skipped; it does not reject the other messages of the call.
    for entry in map(_dict, _list(body.get("entry"))):
        for change in map(_dict, _list(entry.get("changes"))):
            if change.get("field") != "messages":
                continue
            value = _dict(change.get("value"))
            contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
            for message in map(_dict, _list(value.get("messages"))):
                incoming = _incoming(message, contacts)
                if incoming is not None:
                    messages.append(incoming)
            for status in map(_dict, _list(value.get("statuses"))):
                if status.get("id") and status.get("status"):
                    receipts.append(
                        Receipt(str(status["id"]), str(status["status"]), _when(status))
                    )
    return messages, receipts


def _when(item: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(item.get("timestamp", 0)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # OSError: out of the C range
        return datetime.now(UTC)


def _incoming(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Incoming | None:
    phone = message.get("from")
    contact = next((c for c in contacts if phone and c.get("wa_id") == phone), None)
    if contact is None and len(contacts) == 1:
        contact = contacts[0]
    user_id = (contact or {}).get("user_id") or message.get("from_user_id")
    phone = phone or (contact or {}).get("wa_id")
    # Key by the business-scoped user id when present (stable if the phone is hidden).
    key = user_id or phone
    if not key or not message.get("id"):
        return None
    kind = message.get("type")
    text = payload = media = None
    if kind == "text":
        text = str(_dict(message.get("text")).get("body", ""))
    elif kind == "interactive":
        interactive = _dict(message.get("interactive"))
        reply = _dict(interactive.get("button_reply")) or _dict(interactive.get("list_reply"))
        payload = str(reply.get("id", ""))
    elif kind == "button":  # a template's quick-reply button
        payload = str(_dict(message.get("button")).get("payload", ""))
    else:
        media = kind if isinstance(kind, str) and kind in MEDIA else "other"
    context = _dict(message.get("context"))
    return Incoming(
        channel=CHANNEL,
        user_id=str(key),
        chat_id=str(phone or user_id),
        text=text,
        payload=payload,
        update_id=str(message["id"]),
        media=media,
        reply_to=str(context["id"]) if context.get("id") else None,
        alias=str(phone) if user_id and phone else None,
        window=CAPABILITIES.window,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(to: str, reply: Reply, lang: str | None = None) -> list[dict[str, Any]]:
    """Graph API message payloads for one reply, within WhatsApp's limits: its text (split
    at the text limit), then its buttons: reply buttons up to three, else pick-lists of ten
    rows. The options go in a message of their own when the text is longer than an
    interactive message's body."""
    base = {"messaging_product": "whatsapp", **_recipient(to)}
    parts = split(reply.text, TEXT_LIMIT)
    buttons = reply.flat_buttons
    if not buttons:
        return [_text(base, part) for part in parts]
    if len(parts[-1]) > BODY_LIMIT:
        parts.append(texts(lang)._("Elige una opción:"))
    *before, body = parts
    options = (
        [_reply_buttons(base, body, buttons)]
        if len(buttons) <= MAX_BUTTONS
        else _lists(base, body, buttons, lang)
    )
    return [_text(base, part) for part in before] + options


def _text(base: dict[str, Any], body: str) -> dict[str, Any]:
    return {**base, "type": "text", "text": {"body": body, "preview_url": False}}


def _reply_buttons(base: dict[str, Any], body: str, buttons: Sequence[Button]) -> dict[str, Any]:
    return {
        **base,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": b.payload, "title": _clip(b.label, BUTTON_TITLE)},
                    }
                    for b in buttons
                ]
            },
        },
    }


def _lists(
    base: dict[str, Any], body: str, buttons: Sequence[Button], lang: str | None
) -> list[dict[str, Any]]:
    """Pick-lists of MAX_ROWS rows; the body goes with the first, "…" with the others."""
    t = texts(lang)
    label = _clip(t._("Ver opciones"), BUTTON_TITLE)
    section = _clip(t._("Opciones"), ROW_TITLE)
    return [
        {
            **base,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": body if start == 0 else "…"},
                "action": {
                    "button": label,
                    "sections": [
                        {
                            "title": section,
                            "rows": [_row(b) for b in buttons[start : start + MAX_ROWS]],
                        }
                    ],
                },
            },
        }
        for start in range(0, len(buttons), MAX_ROWS)
    ]


def image(to: str, media_id: str, caption: str) -> dict[str, Any]:
    """An image message of an uploaded file, with its caption."""
    return {
        "messaging_product": "whatsapp",
        **_recipient(to),
        "type": "image",
        "image": {"id": media_id, "caption": _clip(caption, CAPTION_LIMIT)},
    }


def document(to: str, media_id: str, filename: str, caption: str) -> dict[str, Any]:
    """A document message of an uploaded file (the user's data export), with its caption."""
    return {
        "messaging_product": "whatsapp",
        **_recipient(to),
        "type": "document",
        "document": {
            "id": media_id,
            "filename": filename,
            "caption": _clip(caption, CAPTION_LIMIT),
        },
    }


def _row(button: Button) -> dict[str, str]:
    row = {"id": button.payload, "title": _clip(button.label, ROW_TITLE)}
    if len(button.label) > ROW_TITLE:
        row["description"] = _clip(button.label, ROW_DESCRIPTION)
    return row


def _recipient(to: str) -> dict[str, str]:
    # A phone number goes in "to"; a business-scoped user id ("CL.1234…") in "recipient".
    return {"to": to} if to.lstrip("+").isdigit() else {"recipient": to}


def template(to: str, name: str, lang: str | None, text: str | None) -> dict[str, Any]:
    """An approved template message (outside the 24-hour window), with the text as its
    one body parameter when given (newlines are not allowed in parameters)."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        **_recipient(to),
        "type": "template",
        "template": {"name": name, "language": {"code": lang or "es"}},
    }
    if text:
        flat = " ".join(text.split())[:1000]
        payload["template"]["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": flat}]}
        ]
    return payload


class WhatsAppSender:
    """Posts to the Graph API; used for direct replies and by the dispatcher (outbox)."""

    def __init__(
        self,
        token: str,
        phone_id: str,
        api_url: str,
        *,
        bulletin_template: str | None = None,
        reply_template: str | None = None,
        pool: int = 64,
    ) -> None:
        self.client = JsonPoster(
            f"{api_url.rstrip('/')}/{phone_id}/messages",
            {"Authorization": f"Bearer {token}"},
            pool=pool,
        )
        self.media_url = f"{api_url.rstrip('/')}/{phone_id}/media"
        self.bulletin_template = bulletin_template
        self.reply_template = reply_template

    async def close(self) -> None:
        await self.client.close()

    async def post(self, payload: dict[str, Any]) -> SendResult:
        try:
            status, body = await self.client.post(payload)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
        if status == 200 and body.get("messages"):
            return SendResult(Outcome.SENT, message_id=str(body["messages"][0].get("id")))
        error = body.get("error") or {}
        code = int(error.get("code") or 0)
        description = f"{status} {code} {error.get('message', '')}"[:200]
        if status == 429 or code in RATE_LIMITS:
            return SendResult(
                Outcome.RETRY_AFTER,
                retry_after=6.0 if code == PAIR_RATE_LIMIT else 2.0,
                error=description,
            )
        if code in (131047, 131026):  # outside the window / not a WhatsApp user
            return SendResult(
                Outcome.BLOCKED if code == 131026 else Outcome.PERMANENT, error=description
            )
        if status >= 500 or code in (1, 2, 131000, 131016):
            return SendResult(Outcome.TRANSIENT, error=description)
        return SendResult(Outcome.PERMANENT, error=description)

    async def upload(self, attachment: Attachment) -> str | None:
        """Upload a file to the Cloud API's media store; its media id, or None on failure
        (the caller then sends the caption alone: it states what the file holds)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", attachment.mime)
        form.add_field(
            "file", attachment.content, filename=attachment.filename, content_type=attachment.mime
        )
        try:
            status, body = await self.client.post_form(self.media_url, form)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("WhatsApp media upload failed: %s", type(exc).__name__)
            return None
        if status != 200 or not body.get("id"):
            log.warning("WhatsApp media upload refused: %s %s", status, body.get("error"))
            return None
        return str(body["id"])

    async def send_all(self, payloads: Iterable[dict[str, Any]]) -> SendResult:
        """Send in order; stop at the first failure. The last message id is kept."""
        result = SendResult(Outcome.SENT)
        for payload in payloads:
            result = await self.post(payload)
            if result.outcome is not Outcome.SENT:
                return result
        return result

    async def send(self, delivery: Delivery) -> SendResult:
        """An outbox row: as text inside the 24-hour window; outside it, a bulletin goes as
        the approved template and a notification is held (the user gets the "you have a
        reply" template and the full text as soon as they write back)."""
        open_window = delivery.last_inbound_at is not None and (
            datetime.now(UTC) - delivery.last_inbound_at < WINDOW
        )
        if open_window:
            return await self.send_all(render(delivery.chat_id, delivery.reply, delivery.lang))
        if delivery.bulletin:
            if not self.bulletin_template:
                return SendResult(Outcome.PERMANENT, error="outside the 24-hour window")
            return await self.post(
                template(
                    delivery.chat_id, self.bulletin_template, delivery.lang, delivery.reply.text
                )
            )
        if self.reply_template:
            notice = await self.post(
                template(delivery.chat_id, self.reply_template, delivery.lang, None)
            )
            if notice.outcome is not Outcome.SENT:
                return notice
        return SendResult(Outcome.HELD, error="window closed: waiting for the user")


class WhatsAppChannel:
    """Handles verified webhook calls: each is stored in the inbox before it is acknowledged,
    then its messages go through the engine (deduplicated by wamid, replies journaled)."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        engine: Engine,
        sender: WhatsAppSender,
        *,
        retries: int = 4,
        stale_after: timedelta = timedelta(seconds=30),
        concurrency: int | None = None,
        app_secret: str = "",
        verify_token: str = "",
    ) -> None:
        """`concurrency`: calls processed at once; by default four on PostgreSQL and two on
        SQLite (one writer: more would only queue on its one connection, in front of the
        webhook's own write). That keeps up with 100 messages a second (the database and the
        matcher are the limits, not waiting) and leaves the event loop free enough for the
        webhook's 200 to stay fast (bench/webhook_ack.py).

        `app_secret` signs every event (X-Hub-Signature-256); `verify_token` answers the
        subscription handshake. Empty, they refuse everything."""
        self.app_secret = app_secret
        self.verify_token = verify_token
        self._inbox_stop = asyncio.Event()
        self._inbox_task: asyncio.Task[None] | None = None
        if concurrency is None:
            bind = engine.sessions.kw.get("bind")
            concurrency = 2 if bind is not None and bind.dialect.name == "sqlite" else 4
        self.engine = engine
        self.sender = sender
        self.retries = retries
        self._locks = UserLocks()
        self.inbox = Inbox(
            engine.sessions,
            CHANNEL,
            self.process,
            engine.clock,
            stale_after=stale_after,
            concurrency=concurrency,
        )

    async def accept(self, raw: bytes) -> None:
        """Check the call's shape (a malformed one raises ValueError: the caller answers 400),
        then store it durably; raises when it cannot be stored (the caller answers 503, and
        WhatsApp delivers the call again)."""
        try:
            body = json.loads(raw)
        except RecursionError as exc:  # nested beyond the parser's depth: malformed
            raise ValueError("JSON nested too deeply") from exc
        if not isinstance(body, dict):
            raise ValueError("not an object")
        messages, receipts = parse(body)
        if messages or receipts:
            await self.inbox.store(raw.decode("utf-8"))

    async def process(self, raw: str) -> None:
        """Every message and receipt of one stored call; raises if any message failed (the
        call is then processed again: what was already handled is not handled twice)."""
        messages, receipts = parse(json.loads(raw))
        results = await asyncio.gather(
            *(self._one(message) for message in messages), return_exceptions=True
        )
        await self.engine.record_receipts(
            CHANNEL, [(r.message_id, r.status, r.at) for r in receipts]
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def _one(self, incoming: Incoming) -> None:
        incoming = replace(incoming, durable=True)
        async with self._locks(incoming.user_id):
            try:
                await self._answer(incoming)
            except Exception as exc:
                # The database or the network: the call stays in the inbox and is processed
                # again. A bug would fail the same way each time: the person gets the
                # apology instead, once (bot/failure.py).
                if failure.passing(exc):
                    raise
                failure.report("error while handling a WhatsApp message", exc)
                speaks = await self.engine.language_of(incoming)
                apology = failure.apology(incoming.text, incoming.language_hint, speaks)
                await self._reply(incoming.chat_id, apology, None)

    async def _answer(self, incoming: Incoming) -> None:
        replies = await self.engine.handle(incoming)
        if not replies:
            return
        for index, reply in enumerate(replies):
            if not await self._reply(incoming.chat_id, reply, reply.lang):
                await self.engine.defer(incoming, replies[index:])
                return
        await self.engine.confirm_sent(incoming)

    async def _reply(self, to: str, reply: Reply, lang: str | None) -> bool:
        """Send one reply; False when the Graph API kept failing past the retries (the reply
        is then left to the outbox). A refusal for good is logged and counts as done."""
        payloads = render(to, reply, lang)
        file = reply.attachment
        if file is not None:
            media_id = await self.sender.upload(file)
            if media_id is not None:
                payloads = [
                    image(to, media_id, reply.text)
                    if file.is_image
                    else document(to, media_id, file.filename, reply.text)
                ]
                if reply.buttons:
                    choose = Reply(texts(lang)._("Elige una opción:"), reply.buttons)
                    payloads += render(to, choose, lang)
        for payload in payloads:
            result = SendResult(Outcome.TRANSIENT)
            for attempt in range(self.retries):
                if attempt:
                    await asyncio.sleep(min(result.retry_after or 0.5 * 2 ** (attempt - 1), 10))
                result = await self.sender.post(payload)
                if result.outcome not in (Outcome.RETRY_AFTER, Outcome.TRANSIENT):
                    break
            else:
                log.warning("WhatsApp reply not delivered after %d attempts", self.retries)
                return False
            if result.outcome is not Outcome.SENT:
                log.warning("WhatsApp reply not delivered: %s", result.error)
        return True

    # -- served by the composition root (bot/app.py) -------------------------------------

    def routes(self) -> Routes:
        return Routes(
            [web.get(WEBHOOK_PATH, self.on_verify), web.post(WEBHOOK_PATH, self.on_event)]
        )

    async def on_verify(self, request: web.Request) -> web.Response:
        """The subscription handshake: echo hub.challenge when the verify token matches."""
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and same_secret(token, self.verify_token):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.Response(status=403)

    async def on_event(self, request: web.Request) -> web.Response:
        """Verify the signature on the raw bytes, store the call, then acknowledge it: WhatsApp
        never delivers a call again after a 200, so one that cannot be stored gets a 503."""
        async with asyncio.timeout(10):  # a slow sender cannot hold a connection forever
            raw = await request.read()
        header = request.headers.get("X-Hub-Signature-256")
        if header is None:
            return web.Response(status=401)
        if not signature_ok(self.app_secret, raw, header):
            return web.Response(status=403)
        try:
            await self.accept(raw)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            return refused("WhatsApp", exc)
        except Exception:
            log.exception("WhatsApp call not stored; answered 503 so that it is delivered again")
            return web.Response(status=503)
        return web.Response(status=200)

    async def start(self) -> None:
        # Calls stored before a crash or stop are taken up again at once.
        self._inbox_task = asyncio.create_task(self.inbox.run(self._inbox_stop))
        log.info("WhatsApp: webhook at %s", WEBHOOK_PATH)

    async def stop(self) -> None:
        self._inbox_stop.set()  # no more webhook calls can arrive: finish the stored ones
        if self._inbox_task is not None:
            await asyncio.gather(self._inbox_task, return_exceptions=True)

    async def close(self) -> None:
        await self.sender.close()


def from_settings(engine: Engine, settings: Settings) -> WhatsAppChannel | None:
    """The channel when SELLO_WHATSAPP_TOKEN and SELLO_WHATSAPP_PHONE_ID are set (the settings
    refuse to start without its secrets)."""
    if settings.whatsapp_token is None or settings.whatsapp_phone_id is None:
        return None
    sender = WhatsAppSender(
        settings.whatsapp_token.value,
        settings.whatsapp_phone_id,
        settings.whatsapp_api_url,
        bulletin_template=settings.whatsapp_bulletin_template,
        reply_template=settings.whatsapp_reply_template,
    )
    return WhatsAppChannel(
        engine,
        sender,
        retries=settings.reply_attempts,
        stale_after=timedelta(seconds=settings.outbox_stale_seconds),
        app_secret=settings.whatsapp_app_secret.value if settings.whatsapp_app_secret else "",
        verify_token=settings.whatsapp_verify_token.value if settings.whatsapp_verify_token else "",
    )
