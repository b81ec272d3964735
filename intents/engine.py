"""The engine: one unit of work per incoming message, from Incoming to a list of Reply."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from intents.context import Context, Services
from intents.errors import DomainError
from intents.flood import FloodLimiter, Verdict
from intents.flows import (
    bulletin,
    cancel,
    cases,
    console,
    enrollment,
    faq,
    feedback,
    language,
    menu,
    officer_cases,
    orientation,
    privacy,
    relay,
    statistics,
    subscription,
)
from intents.i18n import supported, texts
from intents.language import confident
from intents.messages import Incoming, Reply, dump_replies, load_replies
from intents.observer import Observer
from intents.router import Flow, Router, parse_command
from storage import outbox, updates
from storage import users as users_repo
from storage.db import Sessions
from storage.errors import AlreadyHandled

log = logging.getLogger(__name__)

# What a group may use: nothing in these reveals or changes a person's own data.
GROUP_FLOWS = frozenset({"cancel", "menu", "language", "statistics", "faq", "feedback"})

# Priority order: /cancelar first so it always works, the knowledge base last.
FLOWS: tuple[Flow, ...] = (
    cancel.FLOW,
    menu.FLOW,
    language.FLOW,
    enrollment.FLOW,
    cases.FLOW,
    officer_cases.FLOW,
    console.FLOW,
    relay.FLOW,
    subscription.FLOW,
    bulletin.FLOW,
    privacy.FLOW,
    orientation.FLOW,
    feedback.FLOW,
    statistics.FLOW,
    faq.FLOW,
)


_ALLOWED_CONTROLS = frozenset("\n\r\t")


def has_control_characters(text: str) -> bool:
    """Control characters (NUL, escapes, bidi overrides…) have no place in a chat message."""
    return any(
        (unicodedata.category(c) in ("Cc", "Cs") and c not in _ALLOWED_CONTROLS)
        or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        for c in text
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        sessions: Sessions,
        services: Services,
        *,
        flows: Sequence[Flow] = FLOWS,
        clock: Callable[[], datetime] = utcnow,
        flood: FloodLimiter | None = None,
        observer: Observer | None = None,
        after_commit: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.sessions = sessions
        self.router = Router(flows)
        # The help, the privacy text and next-step buttons list the commands this engine routes.
        self.services = replace(services, commands=self.router.commands)
        self.clock = clock
        self.flood = flood or FloodLimiter()
        # Called after each committed unit of work (the dispatcher's wake-up, passed in by
        # the composition root).
        self.after_commit: list[Callable[[], None]] = list(after_commit)
        self.observer: Observer = observer or services.observer

    async def handle(self, incoming: Incoming) -> list[Reply]:
        started = time.perf_counter()
        replies = await self._handle(incoming)
        for listener in self.after_commit:
            listener()
        self.observer.handled(incoming.channel, time.perf_counter() - started, len(replies))
        return replies

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        sender = f"{incoming.channel}:{incoming.user_id}"
        refused = self._refused(incoming, self.flood.check(sender))
        if refused is not None:
            return refused
        now = self.clock()
        # Matching is pure CPU work: do it before taking a database connection, so other
        # messages' database work overlaps with it. Wasted only for a text that turns out to
        # be a flow step, which is rare and cheap.
        match = None
        detected = None
        text = (incoming.text or "").strip()
        if text and not text.startswith("/") and len(text) <= self.services.max_text:
            match = self.services.matcher.match(text)
            command = parse_command(text)
            # A command typed as a word ("menu", "ayuda") says nothing about the language.
            if command is None or self.router.command(command) is None:
                detected = confident(text, match.lang)
        async with self.sessions() as session, session.begin():
            # Several workers (PostgreSQL): one unit of work per sender at a time, in the
            # order they ask (the database's lock queue), and one flood limit for all.
            verdict = await self.flood.take(session, sender)
            refused = self._refused(incoming, verdict) if verdict is not None else None
            if refused is not None:
                return refused
            if incoming.update_id is not None:
                try:
                    await updates.claim(session, incoming.channel, incoming.update_id, now)
                except AlreadyHandled:
                    log.info("duplicate update %s:%s ignored", incoming.channel, incoming.update_id)
                    if incoming.durable:
                        # Handled, but maybe never answered (a worker died in between).
                        unsent = await updates.unsent_replies(
                            session, incoming.channel, incoming.update_id
                        )
                        return load_replies(unsent) if unsent else []
                    return []
            user = await users_repo.get_or_create(
                session,
                incoming.channel,
                incoming.user_id,
                incoming.chat_id if incoming.private else None,  # a group is never stored
                now,
                alias=incoming.alias,
            )
            if incoming.window:
                user.last_inbound_at = now
                await outbox.release_held(session, user.id, now)
            hint = supported(incoming.language_hint)
            if hint and user.client_language != hint:
                user.client_language = hint
            if detected and user.detected_language != detected:
                user.detected_language = detected  # people change language: follow them
            ctx = Context(
                session=session,
                user=user,
                incoming=incoming,
                t=texts(user.speaks),
                now=now,
                services=self.services,
                match=match,
                ask=faq.question,
            )
            try:
                replies = await self._route(ctx)
            except DomainError as exc:
                replies = [Reply(exc.message)]
            replies = [r if r.lang else replace(r, lang=ctx.lang) for r in replies]
            if replies and not incoming.private and not users_repo.reachable(user):
                # Notifications for them wait until they open a private chat: say so.
                replies.append(
                    Reply(
                        ctx.t._(
                            "Escríbeme en privado (abre un chat conmigo y envía /start) para "
                            "recibir tus avisos: nunca los envío a un grupo."
                        )
                    )
                )
            if incoming.durable and incoming.update_id is not None:
                await updates.journal(
                    session, incoming.channel, incoming.update_id, dump_replies(replies)
                )
            return replies

    @staticmethod
    def _refused(incoming: Incoming, verdict: Verdict) -> list[Reply] | None:
        """The answer to a message over the flood limit, or None when it may pass."""
        if verdict is Verdict.DROP:
            return []
        if verdict is Verdict.WARN:
            t = texts(incoming.language_hint)
            return [
                Reply(
                    t._(
                        "Estás enviando muchos mensajes seguidos. Espera unos segundos "
                        "y vuelve a escribir."
                    )
                )
            ]
        return None

    async def confirm_sent(self, incoming: Incoming) -> None:
        """The replies of a durable update reached the platform: drop them from the journal."""
        if not incoming.durable or incoming.update_id is None:
            return
        async with self.sessions() as session, session.begin():
            await updates.confirm_sent(session, incoming.channel, incoming.update_id, self.clock())

    async def record_receipts(
        self, channel: str, receipts: Sequence[tuple[str, str, datetime]]
    ) -> None:
        """The platform's delivery receipts (message id, status, time), in one unit of work:
        a channel records them through the engine, never with its own session."""
        if not receipts:
            return
        async with self.sessions() as session, session.begin():
            for message_id, status, at in receipts:
                await outbox.record_receipt(session, channel, message_id, status, at)

    async def defer(self, incoming: Incoming, replies: Sequence[Reply]) -> None:
        """Replies the channel could not deliver (the platform failed for longer than the
        channel's retries) go to the outbox, whose dispatcher retries with backoff until the
        platform is back. In the same unit of work the update's journal is confirmed, so a
        redelivery of the update does not send them a second time."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            user = await users_repo.get(session, incoming.channel, incoming.user_id)
            for reply in replies:
                outbox.enqueue_reply(
                    session,
                    incoming.channel,
                    incoming.chat_id,
                    user.id if user is not None else None,
                    reply.text,
                    now,
                    buttons=[
                        [{"label": b.label, "payload": b.payload} for b in row]
                        for row in reply.buttons
                    ]
                    or None,
                    ref=outbox.ReplyRef(incoming.update_id) if incoming.update_id else None,
                )
            if incoming.durable and incoming.update_id is not None:
                await updates.confirm_sent(session, incoming.channel, incoming.update_id, now)
        for listener in self.after_commit:
            listener()

    async def _route(self, ctx: Context) -> list[Reply]:
        incoming = ctx.incoming
        if any(has_control_characters(x) for x in (incoming.text, incoming.payload) if x):
            return [
                Reply(
                    ctx.t._(
                        "Tu mensaje tiene caracteres que no puedo leer. Escríbelo de "
                        "nuevo con texto normal."
                    )
                )
            ]
        if incoming.media:
            return [
                Reply(
                    ctx.t._(
                        "Por ahora solo entiendo mensajes de texto. Escribe tu "
                        "pregunta o usa /menu."
                    )
                )
            ]
        if not incoming.private:
            # In a group only what may be said in front of others: questions, the menu, the
            # language, the statistics. Anything about the person (their data, cases, relays,
            # subscriptions, a flow they started privately) stays in their private chat.
            command = parse_command(incoming.text) if incoming.payload is None else None
            flow = self.router.flow_of(command=command, payload=incoming.payload)
            if (incoming.payload is not None or flow is not None) and flow not in GROUP_FLOWS:
                return [Reply(ctx.t._("Eso lo vemos en privado: escríbeme en un chat conmigo."))]
            if incoming.payload is None and (command is None or flow is None):
                return await faq.question(ctx) if ctx.text else []
        if incoming.payload is not None:
            handler = self.router.button(incoming.payload)
            if handler is None:
                return [Reply(ctx.t._("Ese botón ya no está disponible. Usa /menu."))]
            return await handler(ctx)
        command = parse_command(incoming.text)
        if command is not None:
            handler = self.router.command(command)
            if handler is not None:
                ctx.args = command.args
                return await handler(ctx)
            if command.slash:
                return [
                    Reply(
                        ctx.t._("No conozco ese comando. Usa /ayuda para ver lo que puedo hacer.")
                    )
                ]
        if incoming.reply_to and ctx.text:
            routed = await relay.quoted(ctx, incoming.channel, incoming.chat_id, incoming.reply_to)
            if routed is not None:
                return routed
        replies: list[Reply] = []
        step = self.router.step(ctx.user.flow, ctx.user.flow_step)
        if step is not None:
            started = ctx.user.flow_updated_at
            if started is None or ctx.now - started <= self.services.flow_timeout:
                return await step(ctx)
            ctx.end_flow()
            replies.append(
                Reply(
                    ctx.t._(
                        "Lo que estabas haciendo expiró por inactividad; "
                        "tendrás que empezar de nuevo."
                    )
                )
            )
        elif ctx.user.flow is not None:
            ctx.end_flow()  # a flow this version no longer knows
        if not ctx.text:
            return replies + [Reply(ctx.t._("Escribe tu pregunta o usa /menu."))]
        return replies + await faq.question(ctx)
