"""The engine: one unit of work per incoming message, from Incoming to a list of Reply."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from intents import crisis
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
from intents.language import choose, confident, conversation, followed
from intents.masking import MASK, shown
from intents.messages import Incoming, Reply, dump_replies, load_replies
from intents.observer import Observer
from intents.router import Flow, Router, parse_command
from knowledge.matcher import Match
from storage import outbox, updates
from storage import users as users_repo
from storage.db import Session, Sessions, unit
from storage.errors import AlreadyHandled

log = logging.getLogger(__name__)

# What a group may use: nothing in these reveals or changes a person's own data.
GROUP_FLOWS = frozenset({"cancel", "menu", "language", "statistics", "faq", "feedback"})
# Flows whose text goes whole to a person who acts on it (a municipal contact's case, a relay
# to the regional officer, a bulletin, an officer's answer): never taken for a crisis message.
PASSED_ON_FLOWS = frozenset({"case", "relay", "bulletin", "officer_case"})

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


# A stage of the pipeline: its replies end it, None passes on (see Engine.__init__).
Guard = Callable[[Context], Awaitable[list[Reply] | None]]
Admission = Callable[[Session, Incoming, datetime], Awaitable[list[Reply] | None]]

# Unicode's control (Cc: U+0000-001F, U+007F-009F) and surrogate (Cs) characters but tab,
# newline and carriage return, and the bidi overrides: one regular expression, not a Python
# loop over every character of every message.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)


def has_control_characters(text: str) -> bool:
    """Control characters (NUL, escapes, bidi overrides…) have no place in a chat message."""
    return _CONTROL.search(text) is not None


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
        # The order of decisions for one message, inside its unit of work (before it, only
        # this process's flood limit and the text's matching). Each stage answers (its replies,
        # even none, end the pipeline) or passes (None); a new guard is one method below and
        # one line here. Admission comes before the sender's user is loaded:
        self.admission: tuple[Admission, ...] = (self._take_flood_turn, self._skip_duplicate)
        # then, with the user loaded, the guards; a DomainError is the answer of the guard
        # that raised it.
        self.guards: tuple[Guard, ...] = (
            self._refuse_control_characters,
            self._refuse_media,
            self._keep_groups_public,  # in a group: refuse what is personal; text is a question
            self._press_button,
            self._run_command,
            self._relay_quoted_reply,
            self._answer_a_crisis,  # before any step: "ya no quiero vivir" after a 👎 too
            self._continue_flow,  # the flow's step, or its expiry
            self._answer_question,  # the knowledge base, which always answers
        )

    async def handle(self, incoming: Incoming) -> list[Reply]:
        started = time.perf_counter()
        replies = await self._handle(incoming)
        for listener in self.after_commit:
            listener()
        self.observer.handled(incoming.channel, time.perf_counter() - started, len(replies))
        return replies

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        # This process's flood limit, before anything else costs.
        verdict = self.flood.check(_sender(incoming))
        if verdict is Verdict.WARN:  # once a burst: the user's language costs one read
            async with unit(self.sessions) as session:
                return self._refused(incoming, verdict, await self._speaks(session, incoming))
        refused = self._refused(incoming, verdict)
        if refused is not None:
            return refused
        now = self.clock()
        match, detected = self._read(incoming)
        async with unit(self.sessions) as session:
            for admit in self.admission:
                refused = await admit(session, incoming, now)
                if refused is not None:
                    return refused
            ctx = await self._context(session, incoming, now, match, detected)
            replies = await self._finish(ctx, await self._route(ctx))
            await users_repo.save(session, ctx.user)  # the user's changes, before the commit
            return replies

    async def _route(self, ctx: Context) -> list[Reply]:
        """The first guard that answers ends the pipeline; a domain error is its answer."""
        try:
            for guard in self.guards:
                replies = await guard(ctx)
                if replies is not None:
                    return replies
        except DomainError as exc:
            return [Reply(exc.message)]
        return []  # not reached: the last guard always answers

    def _read(self, incoming: Incoming) -> tuple[Match | None, str | None]:
        """The text's knowledge match and its language, when it is a question.

        Matching is pure CPU work: done before taking a database connection, so other
        messages' database work overlaps with it. Wasted only for a text that turns out to be
        a flow step, which is rare and cheap."""
        text = (incoming.text or "").strip()
        if not text or text.startswith("/") or len(text) > self.services.max_text:
            return None, None
        match = self.services.matcher.match(text)
        command = parse_command(text)
        # A command typed as a word ("menu", "ayuda") says nothing about the language.
        if command is not None and self.router.command(command) is not None:
            return match, None
        return match, confident(text, match.lang)

    # Admission: may this message be handled at all (before its user is loaded).

    async def _take_flood_turn(
        self, session: Session, incoming: Incoming, now: datetime
    ) -> list[Reply] | None:
        """Several workers (PostgreSQL): one unit of work per sender at a time, in the order
        they ask (the database's lock queue), and one flood limit for all."""
        verdict = await self.flood.take(session, _sender(incoming))
        if verdict is None:
            return None
        speaks = await self._speaks(session, incoming) if verdict is Verdict.WARN else None
        return self._refused(incoming, verdict, speaks)

    async def _skip_duplicate(
        self, session: Session, incoming: Incoming, now: datetime
    ) -> list[Reply] | None:
        """An update the platform delivered again is handled once: a durable one gets back
        the replies it may never have received (a worker died in between)."""
        if incoming.update_id is None:
            return None
        try:
            await updates.claim(session, incoming.channel, incoming.update_id, now)
            return None
        except AlreadyHandled:
            log.info("duplicate update %s:%s ignored", incoming.channel, incoming.update_id)
        if not incoming.durable:
            return []
        unsent = await updates.unsent_replies(session, incoming.channel, incoming.update_id)
        return load_replies(unsent) if unsent else []

    async def _context(
        self,
        session: Session,
        incoming: Incoming,
        now: datetime,
        match: Match | None,
        detected: str | None,
    ) -> Context:
        """The sender's user (created on first contact) with what this message tells about
        them: their customer-service window, their client's and their text's language."""
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
        kept = followed(user.detected_language, incoming.text, detected)
        if kept != user.detected_language:
            user.detected_language = kept  # people change language: follow them
        return Context(
            session=session,
            user=user,
            incoming=incoming,
            t=texts(user.speaks),
            now=now,
            services=self.services,
            match=match,
            ask=faq.question,
        )

    async def _finish(self, ctx: Context, replies: list[Reply]) -> list[Reply]:
        """The replies in the conversation's language, a group's reminder to write in
        private, and a durable update's journal (its replies until they are sent)."""
        incoming = ctx.incoming
        replies = [r if r.lang else replace(r, lang=ctx.lang) for r in replies]
        replies = [
            replace(r, text=shown(texts(r.lang), r.text)) if MASK in r.text else r for r in replies
        ]
        if replies and not incoming.private and not users_repo.reachable(ctx.user):
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
                ctx.session, incoming.channel, incoming.update_id, dump_replies(replies)
            )
        return replies

    @staticmethod
    async def _speaks(session: Session, incoming: Incoming) -> str:
        """The conversation's language for a reply made before the user is loaded (the flood
        warning, the apology): the stored user's as this message would leave it (product.md),
        else this message's own or its client's."""
        user = await users_repo.get(session, incoming.channel, incoming.user_id)
        if user is None:
            return choose(None, incoming.text, incoming.language_hint)
        return conversation(
            user.language,
            followed(user.detected_language, incoming.text, confident(incoming.text)),
            supported(incoming.language_hint) or user.client_language,
        )

    async def language_of(self, incoming: Incoming) -> str:
        """`_speaks` in its own unit of work, for a channel's apology after a failure
        (bot/failure.py); the message's own language when the user cannot be read (the
        database may be what failed)."""
        try:
            async with asyncio.timeout(2):
                async with unit(self.sessions) as session:
                    return await self._speaks(session, incoming)
        except Exception:  # noqa: BLE001 - whatever failed, the apology still goes out
            log.debug("the user's language could not be read", exc_info=True)
            return choose(None, incoming.text, incoming.language_hint)

    @staticmethod
    def _refused(
        incoming: Incoming, verdict: Verdict, speaks: str | None = None
    ) -> list[Reply] | None:
        """The answer to a message over the flood limit, or None when it may pass."""
        if verdict is Verdict.DROP:
            return []
        if verdict is Verdict.WARN:
            t = texts(speaks or incoming.language_hint)
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
        async with unit(self.sessions) as session:
            await updates.confirm_sent(session, incoming.channel, incoming.update_id, self.clock())

    async def record_receipts(
        self, channel: str, receipts: Sequence[tuple[str, str, datetime]]
    ) -> None:
        """The platform's delivery receipts (message id, status, time), in one unit of work:
        a channel records them through the engine, never with its own session."""
        if not receipts:
            return
        async with unit(self.sessions) as session:
            for message_id, status, at in receipts:
                await outbox.record_receipt(session, channel, message_id, status, at)

    async def defer(self, incoming: Incoming, replies: Sequence[Reply]) -> None:
        """Replies the channel could not deliver (the platform failed for longer than the
        channel's retries) go to the outbox, whose dispatcher retries with backoff until the
        platform is back. In the same unit of work the update's journal is confirmed, so a
        redelivery of the update does not send them a second time."""
        now = self.clock()
        async with unit(self.sessions) as session:
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

    # Guards: the user is loaded; each answers (its replies, even none, end the pipeline) or
    # passes (None). Their order is `self.guards`, in __init__.

    async def _refuse_control_characters(self, ctx: Context) -> list[Reply] | None:
        incoming = ctx.incoming
        if not any(has_control_characters(x) for x in (incoming.text, incoming.payload) if x):
            return None
        return [
            Reply(
                ctx.t._(
                    "Tu mensaje tiene caracteres que no puedo leer. Escríbelo de "
                    "nuevo con texto normal."
                )
            )
        ]

    async def _refuse_media(self, ctx: Context) -> list[Reply] | None:
        if not ctx.incoming.media:
            return None
        return [
            Reply(
                ctx.t._(
                    "Por ahora solo entiendo mensajes de texto. Escribe tu pregunta o usa /menu."
                )
            )
        ]

    async def _keep_groups_public(self, ctx: Context) -> list[Reply] | None:
        """In a group only what may be said in front of others: questions, the menu, the
        language, the statistics. Anything about the person (their data, cases, relays,
        subscriptions, a flow they started privately) stays in their private chat."""
        incoming = ctx.incoming
        if incoming.private:
            return None
        command = parse_command(incoming.text) if incoming.payload is None else None
        flow = self.router.flow_of(command=command, payload=incoming.payload)
        if (incoming.payload is not None or flow is not None) and flow not in GROUP_FLOWS:
            return [Reply(ctx.t._("Eso lo vemos en privado: escríbeme en un chat conmigo."))]
        if incoming.payload is None and (command is None or flow is None):
            return await faq.question(ctx) if ctx.text else []
        return None  # a group's command or button: the guards below

    async def _press_button(self, ctx: Context) -> list[Reply] | None:
        payload = ctx.incoming.payload
        if payload is None:
            return None
        handler = self.router.button(payload)
        if handler is None:
            return [Reply(ctx.t._("Ese botón ya no está disponible. Usa /menu."))]
        return await handler(ctx)

    async def _run_command(self, ctx: Context) -> list[Reply] | None:
        command = parse_command(ctx.incoming.text)
        if command is None:
            return None
        handler = self.router.command(command)
        if handler is not None:
            ctx.args = command.args
            return await handler(ctx)
        if command.slash:
            return [
                Reply(ctx.t._("No conozco ese comando. Usa /ayuda para ver lo que puedo hacer."))
            ]
        return None  # a word that is no command ("ayuda con mis papeles"): a question

    async def _relay_quoted_reply(self, ctx: Context) -> list[Reply] | None:
        """A reply quoting a relayed message goes back along the relay."""
        incoming = ctx.incoming
        if not incoming.reply_to or not ctx.text:
            return None
        return await relay.quoted(ctx, incoming.channel, incoming.chat_id, incoming.reply_to)

    async def _answer_a_crisis(self, ctx: Context) -> list[Reply] | None:
        """Someone who writes that they think of ending their life: the crisis line, whatever
        step they were at (the feedback step stored "ya no quiero vivir" as what the user was
        looking for, the language step answered "I don't know that language": the review of
        the fourteenth session), and the step ends. Not while writing to a person who acts on
        it (a case, a relay, a bulletin, an officer's answer): that text is passed on whole."""
        if ctx.incoming.payload is not None or not ctx.text:
            return None
        flow = ctx.user.flow
        if flow in PASSED_ON_FLOWS:
            return None
        read = ctx.text[: crisis.READ]
        if crisis.in_crisis(read):
            if flow is not None:
                ctx.end_flow()
            return [faq.crisis_reply(ctx, ctx.text)]
        if flow is not None and flow != faq.FLOW.name and crisis.distressed(read):
            # "estoy desesperada, ya no aguanto más" at the 👎 step was stored as what the
            # user looked for: the step ends, the message gets its word of care and answer.
            ctx.end_flow()
            return await faq.question(ctx)
        return None

    async def _continue_flow(self, ctx: Context) -> list[Reply] | None:
        """The step of the flow the user is in; an expired flow ends, said so, and the text
        is read as a question."""
        user = ctx.user
        if user.flow is None:
            return None
        step = self.router.step(user.flow, user.flow_step)
        if step is None:
            ctx.end_flow()  # a flow this version no longer knows
            return None
        started = user.flow_updated_at
        if started is None or ctx.now - started <= self.services.flow_timeout:
            return await step(ctx)
        flow = user.flow
        ctx.end_flow()
        if flow == faq.FLOW.name:  # suggestions or a crisis' support: nothing left undone
            return await self._answer_question(ctx)
        expired = Reply(
            ctx.t._("Lo que estabas haciendo expiró por inactividad; tendrás que empezar de nuevo.")
        )
        return [expired, *await self._answer_question(ctx)]

    async def _answer_question(self, ctx: Context) -> list[Reply]:
        """The last guard, which always answers: the text as a question to the knowledge
        base."""
        if not ctx.text:
            return [Reply(ctx.t._("Escribe tu pregunta o usa /menu."))]
        return await faq.question(ctx)


def _sender(incoming: Incoming) -> str:
    """The flood limit's key."""
    return f"{incoming.channel}:{incoming.user_id}"
