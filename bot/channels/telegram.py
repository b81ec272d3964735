"""Telegram adapter: python-telegram-bot updates in, engine replies out."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import failure
from bot.channels.base import Capabilities, Delivery, Outcome, SendResult, UserLocks
from bot.channels.posting import JsonPoster
from bot.routes import Routes, json_object, refused, same_secret
from bot.settings import Settings
from intents.commands import Commands
from intents.engine import FLOWS, Engine
from intents.i18n import DEFAULT_LANGUAGE, LANGUAGES, texts
from intents.messages import Incoming, Reply
from intents.router import Router

log = logging.getLogger(__name__)
CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
CAPABILITIES = Capabilities(buttons=True, attachments=True)
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "document",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


class MalformedUpdate(ValueError):
    """An update whose fields do not have the Bot API's types: only a crafted request sends
    one (python-telegram-bot builds its objects without checking types)."""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> bool:
    return value is None or isinstance(value, str)


def check_types(update: Update) -> None:
    """Raise MalformedUpdate when a field the bot reads has the wrong type (an id that is
    not an integer, a text that is a number or an object...)."""
    user, chat, message = update.effective_user, update.effective_chat, update.message
    query = update.callback_query
    wrong = [
        name
        for name, ok in (
            ("update_id", _whole(update.update_id)),
            ("from.id", user is None or _whole(user.id)),
            ("from.language_code", user is None or _text(user.language_code)),
            ("from.username", user is None or _text(user.username)),
            ("chat.id", chat is None or _whole(chat.id)),
            ("chat.type", chat is None or isinstance(chat.type, str)),
            ("message.text", message is None or _text(message.text)),
            ("callback_query.data", query is None or _text(query.data)),
        )
        if not ok
    ]
    replied = message.reply_to_message if message is not None else None
    if replied is not None and not _whole(replied.message_id):
        wrong.append("reply_to_message.message_id")
    if wrong:
        raise MalformedUpdate("wrong type: " + ", ".join(wrong))


def telegram_update(data: dict[str, Any], bot: Bot) -> Update:
    """The update of a webhook body; MalformedUpdate (a ValueError) for a body the bot cannot
    act on safely: not an update, nested beyond the library's recursion, ill-typed fields."""
    try:
        update = Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise MalformedUpdate(f"not a Telegram update ({type(exc).__name__})") from exc
    if update is None:
        raise MalformedUpdate("empty update")
    check_types(update)
    return update


def to_incoming(update: Update, bot_username: str | None, durable: bool = False) -> Incoming | None:
    """The engine's view of an update; None for updates the bot does not act on. Raises
    MalformedUpdate for an update with fields of the wrong type."""
    check_types(update)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    hint = user.language_code
    if update.callback_query is not None:
        return Incoming(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=str(chat.id),
            payload=update.callback_query.data or "",
            update_id=str(update.update_id),
            language_hint=hint,
            durable=durable,
            private=chat.type == ChatType.PRIVATE,
        )
    message = update.message
    if message is None:  # edits, channel posts, member updates...
        return None
    text = message.text
    if chat.type != ChatType.PRIVATE:
        text = _addressed_text(message, bot_username)
        if text is None:
            return None
    media = None
    if message.text is None:
        media = next((kind for kind in MEDIA_KINDS if getattr(message, kind, None)), "other")
    replied = message.reply_to_message
    return Incoming(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat.id),
        text=text,
        update_id=str(update.update_id),
        language_hint=hint,
        media=media,
        reply_to=str(replied.message_id)
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot
        else None,
        durable=durable,
        private=chat.type == ChatType.PRIVATE,
    )


def _addressed_text(message: Message, bot_username: str | None) -> str | None:
    """In a group, the text meant for the bot (mention, /command, reply to it), else None."""
    text = message.text
    if not text:
        return None
    found = re.search(re.escape(f"@{bot_username}"), text, re.IGNORECASE) if bot_username else None
    if found is not None:
        if text.startswith("/"):
            return text  # "/menu@SelloBot": the command parser strips the suffix
        # Cut on the original string (lower-casing can change lengths: "İ" -> "i̇").
        return (text[: found.start()] + text[found.end() :]).strip()
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.is_bot
        and (bot_username is None or replied.from_user.username == bot_username)
    ):
        return text
    return None


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
            for row in reply.buttons
        ]
    )


class TelegramChannel:
    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        engine: Engine,
        token: str,
        *,
        api_url: str | None = None,
        webhook: bool = False,
        concurrency: int = 64,
        sender: TelegramSender | None = None,
        reply_attempts: int = 4,
        webhook_url: str | None = None,
        secret: str = "",
    ) -> None:
        """`webhook`: updates arrive at WEBHOOK_PATH (else the channel polls); `webhook_url`:
        the public address registered with Telegram at start; `secret`: the token Telegram
        sends with every update (an empty one matches nothing)."""
        self.engine = engine
        self.webhook = webhook
        self.webhook_url = webhook_url
        self.secret = secret
        self.reply_attempts = reply_attempts
        self._locks = UserLocks()
        # Text replies go through the lean aiohttp sender (see TelegramSender); PTB keeps
        # receiving updates, answering button presses and sending files.
        self.sender = sender or TelegramSender(token, api_url)
        builder: ApplicationBuilder = Application.builder().token(token)  # type: ignore[assignment]
        if api_url:
            base = api_url.rstrip("/")
            builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot"))
        builder = builder.concurrent_updates(concurrency)
        if webhook:
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.application.add_error_handler(self.on_error)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling mode: PTB calls this for each update."""
        await self.handle(update)

    async def handle(self, update: Update) -> None:
        """One update, start to end; raises on failure (in webhook mode the caller then
        answers 500 and Telegram delivers the update again)."""
        bot = self.application.bot
        incoming = to_incoming(update, bot.username, durable=self.webhook)
        if incoming is None:
            return
        # Take the sender's lock before any await, so their updates run in arrival order.
        async with self._locks(f"{incoming.channel}:{incoming.user_id}"):
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer()
                except TelegramError:
                    log.debug("callback answer failed", exc_info=True)
            replies = await self.engine.handle(incoming)
            undelivered = await self.send(bot, incoming.chat_id, replies)
            if undelivered:
                await self.engine.defer(incoming, undelivered)
            else:
                await self.engine.confirm_sent(incoming)

    async def send(self, bot: Bot, chat_id: str, replies: Iterable[Reply]) -> list[Reply]:
        """Send in order; return the replies not delivered because Telegram kept failing
        past the retry budget (the failing one and those after it, kept in order for the
        outbox), or nothing when all went out or the user blocked the bot."""
        pending = list(replies)
        for index, reply in enumerate(pending):
            try:
                if reply.attachment is not None and reply.attachment.is_image:
                    await bot.send_photo(
                        chat_id=int(chat_id),
                        photo=InputFile(
                            reply.attachment.content, filename=reply.attachment.filename
                        ),
                        caption=reply.text[:1024],
                        reply_markup=markup(reply),
                    )
                    continue
                if reply.attachment is not None:
                    await bot.send_document(
                        chat_id=int(chat_id),
                        document=InputFile(
                            reply.attachment.content, filename=reply.attachment.filename
                        ),
                        caption=reply.text[:1024],
                        reply_markup=markup(reply),
                    )
                    continue
            except Forbidden:
                log.info("user blocked the bot; reply dropped")
                return []
            outcome = await self._send_text(chat_id, reply)
            if outcome is Outcome.BLOCKED:
                return []
            if outcome is Outcome.TRANSIENT:
                return pending[index:]
        return []

    async def _send_text(self, chat_id: str, reply: Reply) -> Outcome:
        """Send one reply, honouring retry_after on 429 and retrying transient errors.

        SENT also covers a reply Telegram refused for good (retrying cannot help); BLOCKED
        when the user blocked the bot; TRANSIENT when the retries ran out.
        """
        retry_after = 0.0
        for attempt in range(self.reply_attempts):
            if attempt:
                await asyncio.sleep(retry_after or min(0.5 * 2 ** (attempt - 1), 5.0))
            result = await self.sender.send(Delivery(chat_id, reply))
            if result.outcome is Outcome.SENT:
                return Outcome.SENT
            if result.outcome is Outcome.BLOCKED:
                log.info("user blocked the bot; reply dropped")
                return Outcome.BLOCKED
            if result.outcome is Outcome.PERMANENT:
                log.warning("reply refused by Telegram: %s", result.error)
                return Outcome.SENT
            retry_after = result.retry_after
        log.warning(
            "reply not delivered after %d attempts; left to the outbox", self.reply_attempts
        )
        return Outcome.TRANSIENT

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Polling: PTB has taken the update already and nothing delivers it again, so the
        person always gets the apology (bot/failure.py)."""
        failure.report("error while handling a Telegram update", context.error or Exception())
        if isinstance(update, Update):
            await self.apologise(update)

    async def apologise(self, update: Update) -> None:
        chat, user, message = update.effective_chat, update.effective_user, update.message
        if chat is None:
            return
        text = message.text if message is not None else None
        hint = user.language_code if user is not None else None
        incoming = to_incoming(update, self.application.bot.username)
        speaks = await self.engine.language_of(incoming) if incoming is not None else None
        try:
            await self.application.bot.send_message(
                chat.id, failure.apology(text, hint, speaks).text
            )
        except TelegramError:
            log.debug("could not report the error to the user", exc_info=True)

    # -- served by the composition root (bot/app.py) -------------------------------------

    def routes(self) -> Routes:
        return Routes([web.post(WEBHOOK_PATH, self.on_webhook)] if self.webhook else [])

    async def on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not same_secret(given, self.secret):
            return web.Response(status=403)
        try:
            async with asyncio.timeout(10):
                raw = await request.read()
            update = telegram_update(json_object(raw), self.application.bot)
        except ValueError as exc:
            return refused("Telegram", exc)
        # Handled before answering: if this worker dies, or the database or the network
        # fails, Telegram gets no 200 and delivers the update again (deduplicated, with
        # unsent replies journaled). A bug would fail again on every delivery: the person
        # gets the apology and Telegram its 200 (bot/failure.py).
        try:
            await self.handle(update)
        except Exception as exc:
            if failure.passing(exc) or isinstance(exc, NetworkError):
                failure.report("Telegram update not handled; answered 500 to have it again", exc)
                return web.Response(status=500)
            failure.report("error while handling a Telegram webhook update", exc)
            await self.apologise(update)
        return web.Response(status=200)

    async def start(self) -> None:
        application = self.application
        await application.initialize()
        await application.start()
        await register_commands(application, self.engine.router.commands)
        if self.webhook_url:
            await application.bot.set_webhook(
                self.webhook_url,
                secret_token=self.secret or None,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("Telegram: webhook mode")
        elif not self.webhook and application.updater is not None:  # built for polling
            # Never drop pending updates: they are deduplicated by id instead.
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("Telegram: polling")

    async def stop(self) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def close(self) -> None:
        await self.sender.close()


def from_settings(engine: Engine, settings: Settings) -> TelegramChannel | None:
    """The channel when SELLO_TELEGRAM_TOKEN is set: a webhook when
    SELLO_TELEGRAM_WEBHOOK_URL is, else polling."""
    if settings.telegram_token is None:
        return None
    return TelegramChannel(
        engine,
        settings.telegram_token.value,
        api_url=settings.telegram_api_url,
        webhook=settings.telegram_webhook_url is not None,
        webhook_url=settings.telegram_webhook_url,
        secret=settings.telegram_secret.value if settings.telegram_secret else "",
        reply_attempts=settings.reply_attempts,
    )


def menu_commands(commands: Commands, lang: str) -> list[BotCommand]:
    """The command menu in one language, from the commands' declarations (their `menu`)."""
    t = texts(lang)
    return [BotCommand(word, t._(description)) for word, description in commands.menu()]


async def register_commands(
    application: Application,  # type: ignore[type-arg]
    commands: Commands | None = None,
) -> None:
    """The command menu in each language (Telegram picks it by the client's language), of
    `commands` (by default those of the engine's flows)."""
    if commands is None:
        commands = Router(FLOWS).commands
    for lang in LANGUAGES:
        await application.bot.set_my_commands(
            menu_commands(commands, lang),
            scope=BotCommandScopeDefault(),
            language_code=None if lang == DEFAULT_LANGUAGE else lang,
        )


class TelegramSender:
    """Delivers outbox rows (notifications, bulletins) straight to the Bot API with aiohttp.

    python-telegram-bot handles updates and direct replies; for the outbox, a plain JSON
    POST per message is several times cheaper than PTB's request stack (its object
    validation and httpx's pool bookkeeping), which is what lets one process broadcast at
    thousands of messages per second. Errors map to the dispatcher's outcomes.
    """

    def __init__(self, token: str, api_url: str | None = None, *, pool: int = 64) -> None:
        base = (api_url or "https://api.telegram.org/bot").rstrip("/")
        self.client = JsonPoster(f"{base}{token}/sendMessage", pool=pool)

    async def close(self) -> None:
        await self.client.close()

    async def send(self, delivery: Delivery) -> SendResult:
        reply = delivery.reply
        try:
            chat_id = int(delivery.chat_id)
        except ValueError:  # never a Telegram chat: no retry can deliver it
            return SendResult(Outcome.PERMANENT, error="chat id is not an integer")
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": reply.text,
            "link_preview_options": {"is_disabled": True},
        }
        keyboard = markup(reply)
        if keyboard is not None:
            payload["reply_markup"] = keyboard.to_dict()
        try:
            status, body = await self.client.post(payload)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult(Outcome.TRANSIENT, error=type(exc).__name__)
        if status == 200 and body.get("ok"):
            return SendResult(Outcome.SENT, message_id=str(body["result"]["message_id"]))
        description = str(body.get("description", ""))[:200]
        if status == 429:
            retry = float((body.get("parameters") or {}).get("retry_after", 1))
            return SendResult(Outcome.RETRY_AFTER, retry_after=retry, error=description)
        if status == 403 or (status == 400 and "chat not found" in description.lower()):
            return SendResult(Outcome.BLOCKED, error=description)
        if status >= 500:
            return SendResult(Outcome.TRANSIENT, error=f"{status} {description}")
        return SendResult(Outcome.PERMANENT, error=f"{status} {description}")
