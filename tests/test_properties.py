"""Property-based tests (hypothesis): what must hold for any input, not only for the examples.

The engine is exercised on both databases (the `app` fixture), with one app per test
function and a fresh user per hypothesis example; the adapters and helpers are pure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.app import App
from bot.channels import whatsapp
from bot.channels.telegram import MalformedUpdate, telegram_update, to_incoming
from bot.routes import json_object
from intents.bulletin import split
from intents.engine import FLOWS
from intents.flood import FloodLimiter, Verdict
from intents.masking import mask_identifiers
from intents.messages import MAX_CALLBACK_BYTES, Button, Incoming, Reply, rows
from storage import cases, officers, relays, users
from tests.fakes.graph_api import ids_of, violations

TEXT_LIMIT = 4096  # Telegram's and WhatsApp's limit for one text message
ENGINE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = settings(max_examples=300, deadline=None)
# When an example fails, hypothesis writes a patch with libcst, whose import warns
# (mypy_extensions.TypedDict); with filterwarnings=error that would hide the failure.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

# -- text ---------------------------------------------------------------------------------

# Characters that break naive code: NUL and other controls, bidi marks and overrides, a BOM,
# joiners, emoji with modifiers, letters whose case mapping changes length, non-ASCII digits.
SPECIAL = (
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\t",
    "\u200f",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u200d",
    "👩🏽‍⚕️",
    "🇨🇱",
    "İ",
    "ß",
    "ﷺ",
    "²",
    "١٢٣",
    "𝟗",
    "\u0301",
    " ",
    "\n\n",
)
# Words that reach the knowledge base and the flows.
WORDS = (
    "hola",
    "residencia definitiva",
    "visa",
    "cédula",
    "Sello Migrante",
    "Quilicura",
    "La Florida",
    "RUT 12.345.678-9",
    "kreyòl",
    "english",
    "normal",
    "2030-01-01 09:30",
    "@SelloBot",
)
chars = st.characters(exclude_categories=("Cs",))  # any code point a UTF-8 message can carry
# Without controls and format characters (bidi overrides…), which the engine turns away
# early: text like this gets into the flows.
readable = st.characters(exclude_categories=("Cs", "Cc", "Cf"))
fragment = st.one_of(
    st.text(chars, max_size=12),
    st.text(readable, max_size=12),
    st.text(readable, max_size=12),
    st.sampled_from(SPECIAL + WORDS),
    st.sampled_from(WORDS),
)
short_text = st.lists(fragment, max_size=8).map("".join)
long_text = st.builds(
    lambda unit, n: (unit * n)[:5000], st.text(chars, min_size=1, max_size=5), st.integers(1, 5000)
)
any_text = st.one_of(short_text, short_text, short_text, long_text)


def clip_bytes(text: str, limit: int = MAX_CALLBACK_BYTES) -> str:
    return text.encode()[:limit].decode("utf-8", "ignore")


# -- button payloads and commands ----------------------------------------------------------

PREFIXES = ("kb", "case", "ofc", "relay", "bul", "lang", "menu", "priv", "sub")
ACTIONS = (
    "view",
    "take",
    "reply",
    "refer",
    "st",
    "list",
    "cat",
    "urg",
    "ok",
    "msg",
    "cancel",
    "open",
    "close",
    "role",
    "lang",
    "comuna",
    "send",
    "none",
    "erase",
    "export",
)
VALUES = ("", "1", "2", "0", "01", "-1", " 1", "all", "now", "yes", "es", "fr", "reg", "salud")
VALUES += ("13110", "5101", "13", "K7P2QX9M")
VALUES += ("urgente", "respondido", "cerrado", "migrant", "sello.que_es", "reg.cedula")
ids = st.one_of(
    st.sampled_from(VALUES),
    st.integers(0, 2**70).map(str),  # past 64 bits
    st.sampled_from(("²", "١", "𝟗", "٣", "1²")),  # str.isdigit() is True, int() may refuse
    st.text(chars, max_size=6),
)
structured_junk = st.builds(
    lambda action, raw_id, extra: ":".join(x for x in (action, raw_id, extra) if x is not None),
    st.sampled_from(ACTIONS),
    ids,
    st.none() | ids,
)
payloads = st.one_of(
    st.text(chars, max_size=64),
    st.builds(lambda p, j: f"{p}:{j}", st.sampled_from(PREFIXES), structured_junk),
    st.builds(lambda p, j: f"{p}:{j}", st.sampled_from(PREFIXES), st.text(chars, max_size=40)),
).map(clip_bytes)

COMMAND_WORDS = sorted(
    {w for flow in FLOWS for spec in flow.commands for w in (spec.word, *spec.aliases)}
)
commands = st.builds(
    lambda slash, word, suffix, args: f"{slash}{word}{suffix}{' ' + args if args else ''}",
    st.sampled_from(("/", "/", "")),
    st.one_of(
        st.sampled_from(("boletin", "caso", "casos", "miscasos", "encargado", "codigo")),
        st.sampled_from(COMMAND_WORDS),
        st.text(chars, min_size=1, max_size=10),
    ),
    st.sampled_from(("", "", "@SelloBot", "@otro_bot")),
    st.one_of(st.none(), ids, short_text),
)


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing a user does: type a text (commands included), send a button payload, or
    press one of the buttons the bot offered last (by position), as a real user would."""

    text: str | None = None
    payload: str | None = None
    press: int | None = None
    pause: float = 2.0  # seconds since the previous step (the flood limiter's clock)


pauses = st.sampled_from((0.0, 0.2, 2.0, 2.0, 2.0, 30.0))
presses = st.builds(Step, press=st.integers(0, 30), pause=pauses)
steps = st.one_of(
    st.builds(Step, text=st.one_of(any_text, commands), pause=pauses),
    st.builds(Step, payload=payloads, pause=pauses),
    presses,
    presses,
    presses,
)
# Scripts often start where the multi-step flows do, so that pressing the offered buttons
# and typing walks through them (case wizard, relay, bulletin wizard, officer replies).
openings = st.sampled_from(
    (
        "/boletin",
        "/caso",
        "/encargado",
        "/casos",
        "/miscasos",
        "/idioma",
        "/suscribir",
        "/borrar",
        "/misdatos",
        "hola",
    )
).map(lambda text: Step(text=text))
scripts = st.builds(
    lambda first, rest: [*first, *rest],
    st.lists(openings, max_size=1),
    st.lists(steps, min_size=1, max_size=8),
)


# -- the engine ---------------------------------------------------------------------------

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_users = itertools.count(1)
_updates = itertools.count(1)


class RecordingFlood(FloodLimiter):
    """The real flood limiter on a clock the test moves, remembering its last verdict."""

    def __init__(self) -> None:
        self.now = 0.0
        self.last: Verdict | None = None
        super().__init__(capacity=4, rate=1.0, clock=lambda: self.now)

    def check(self, key: str) -> Verdict:
        self.last = super().check(key)
        return self.last


@pytest.fixture
async def world(app: App) -> App:
    """The app with an officer and a contact in region 13, one case and one relayed message
    (so ids like 1 lead somewhere), and a flood limiter on a test clock."""
    async with app.sessions() as s, s.begin():
        await officers.add(s, region_code="13", name="Ana Ficticia", telegram_id="9001", now=NOW)
        officer = await users.get_or_create(s, "telegram", "9001", "9001", NOW)
        officer.role, officer.region_code = "officer", "13"
        contact = await users.get_or_create(s, "telegram", "9002", "9002", NOW)
        contact.role, contact.comuna_cut, contact.region_code = "municipal", "13110", "13"
        await cases.open_case(
            s,
            comuna_cut="13110",
            region_code="13",
            category="salud",
            description="Una familia sin atención en el CESFAM.",
            urgency="normal",
            opened_by=contact,
            now=NOW,
        )
        await relays.add(
            s,
            contact=contact,
            officer=None,
            region_code="13",
            direction="to_officer",
            body="Hola",
            now=NOW,
        )
    app.engine.flood = RecordingFlood()
    return app


ROLES = {
    "migrant": {},
    "municipal": {"role": "municipal", "comuna_cut": "13110", "region_code": "13"},
    "officer": {"role": "officer", "region_code": "13"},
    "admin": {"role": "admin"},
}


def check_replies(replies: object, flood: RecordingFlood) -> None:
    assert isinstance(replies, list)
    assert all(isinstance(r, Reply) for r in replies)
    # Silence means a flood (the sender is over the limit and was already warned).
    assert (replies == []) == (flood.last is Verdict.DROP), (replies, flood.last)
    for reply in replies:
        assert isinstance(reply.text, str) and reply.text.strip(), reply
        assert len(reply.text) <= TEXT_LIMIT, len(reply.text)
        for button in reply.flat_buttons:
            assert len(button.payload.encode()) <= MAX_CALLBACK_BYTES, button
            assert button.label.strip(), button


@ENGINE
@given(
    role=st.sampled_from(sorted(ROLES)),
    channel=st.sampled_from(("console", "telegram", "whatsapp")),
    hint=st.one_of(st.none(), st.sampled_from(("es", "en", "fr", "ht", "pt-BR")), st.text(chars)),
    durable=st.booleans(),
    script=scripts,
)
# Found by this property; kept so they are always checked.
@example(
    role="officer", channel="console", hint=None, durable=False, script=[Step(payload="ofc:view:²")]
)
@example(
    role="municipal",
    channel="console",
    hint=None,
    durable=False,
    script=[Step(payload="case:view:99999999999999999999")],
)
@example(role="migrant", channel="console", hint=None, durable=False, script=[Step(text="\x00")])
async def test_engine_answers_anything_with_sendable_replies(
    world: App, role: str, channel: str, hint: str | None, durable: bool, script: list[Step]
) -> None:
    """Random text, commands and button payloads, from any role, never crash the engine:
    every reply has a non-empty text under 4096 characters and payloads under 64 bytes;
    the only silence is a flood."""
    engine = world.engine
    flood = engine.flood
    assert isinstance(flood, RecordingFlood)
    user_id = f"p{next(_users)}"
    async with world.sessions() as s, s.begin():
        user = await users.get_or_create(s, channel, user_id, user_id, NOW)
        for field, value in ROLES[role].items():
            setattr(user, field, value)
    offered: list[Button] = []
    for step in script:
        flood.now += step.pause
        text, payload = step.text, step.payload
        if step.press is not None:
            if offered:
                payload = offered[step.press % len(offered)].payload
            else:
                text = "/menu"
        incoming = Incoming(
            channel,
            user_id,
            user_id,
            text=text,
            payload=payload,
            update_id=f"u{next(_updates)}",
            language_hint=hint,
            durable=durable,
        )
        replies = await engine.handle(incoming)
        check_replies(replies, flood)
        offered = [b for r in replies for b in r.flat_buttons] or offered


# -- Telegram -----------------------------------------------------------------------------

BOT = Bot("123456:TEST-not-a-real-token")  # de_json needs a bot; nothing goes to the network
tg_ids = st.integers(-(2**52), 2**52)
tg_user = st.fixed_dictionaries(
    {"id": st.integers(1, 2**52), "is_bot": st.booleans(), "first_name": st.text(min_size=1)},
    optional={
        "username": st.sampled_from(("SelloBot", "someone", "otro_bot")),
        "language_code": st.one_of(st.sampled_from(("es", "en", "fr", "ht", "pt-br")), st.text()),
    },
)
tg_chat = st.fixed_dictionaries(
    {"id": tg_ids, "type": st.sampled_from(("private", "group", "supergroup", "channel"))},
    optional={"title": st.text(max_size=10)},
)
tg_entities = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(("bot_command", "mention", "url", "bold", "text_link")),
            "offset": st.integers(0, 40),
            "length": st.integers(0, 40),
        }
    ),
    max_size=3,
)
tg_file = {"file_id": st.text(min_size=1, max_size=8), "file_unique_id": st.just("u")}
tg_media = {
    "photo": st.lists(
        st.fixed_dictionaries({**tg_file, "width": st.just(1), "height": st.just(1)}), max_size=2
    ),
    "voice": st.fixed_dictionaries({**tg_file, "duration": st.integers(0, 60)}),
    "document": st.fixed_dictionaries(tg_file),
    "sticker": st.fixed_dictionaries(
        {
            **tg_file,
            "type": st.just("regular"),
            "width": st.just(1),
            "height": st.just(1),
            "is_animated": st.booleans(),
            "is_video": st.booleans(),
        }
    ),
    "location": st.fixed_dictionaries(
        {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
    ),
    "contact": st.fixed_dictionaries(
        {"phone_number": st.text(max_size=12), "first_name": st.text(min_size=1, max_size=5)}
    ),
    "dice": st.fixed_dictionaries({"emoji": st.just("🎲"), "value": st.integers(1, 6)}),
}
tg_message_fields = {
    "message_id": st.integers(1, 2**31),
    "date": st.integers(0, 2**31),
    "chat": tg_chat,
}
tg_optional = {
    "from": tg_user,
    "text": st.one_of(any_text, commands),
    "entities": tg_entities,
    **tg_media,
}
tg_quoted = st.fixed_dictionaries(tg_message_fields, optional=tg_optional)
tg_message = st.fixed_dictionaries(
    tg_message_fields, optional={**tg_optional, "reply_to_message": tg_quoted}
)
tg_callback = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "from": tg_user, "chat_instance": st.just("ci")},
    optional={"data": payloads, "message": tg_message},
)
tg_update = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**31)},
    optional={
        "message": tg_message,
        "edited_message": tg_message,
        "channel_post": tg_message,
        "callback_query": tg_callback,
    },
)


@PURE
@given(data=tg_update, bot_username=st.sampled_from((None, "SelloBot", "sellobot")))
def test_telegram_to_incoming_takes_any_update(data: dict[str, Any], bot_username: str | None):
    update = Update.de_json(data, BOT)
    incoming = to_incoming(update, bot_username)
    if incoming is None:
        return
    assert isinstance(incoming, Incoming)
    assert incoming.channel == "telegram"
    for value in (incoming.user_id, incoming.chat_id, incoming.update_id):
        assert isinstance(value, str) and value
    assert incoming.text is None or isinstance(incoming.text, str)
    assert incoming.payload is None or isinstance(incoming.payload, str)


# Crafted updates: fields the bot reads replaced with values of another JSON type.
junk = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
CRAFTED_PATHS = (
    ("update_id",),
    ("message", "text"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "from", "id"),
    ("message", "from", "language_code"),
    ("message", "from", "username"),
    ("message", "reply_to_message", "message_id"),
    ("message", "reply_to_message", "from", "id"),
    ("callback_query", "data"),
    ("callback_query", "from", "id"),
    ("callback_query", "message", "chat", "id"),
)


@PURE
@given(data=tg_update, crafted=st.lists(st.tuples(st.sampled_from(CRAFTED_PATHS), junk)))
@example(data={"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "from": {"id": 1, "is_bot": False, "first_name": "P"}}}, crafted=[(("message", "text"), 123)])  # fmt: skip
@example(data={"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "from": {"id": 1, "is_bot": False, "first_name": "P"}, "text": "hola"}}, crafted=[(("message", "chat", "id"), "abc")])  # fmt: skip
def test_telegram_crafted_updates_are_refused_or_well_typed(
    data: dict[str, Any], crafted: list[tuple[tuple[str, ...], Any]]
):
    """Ill-typed fields make a MalformedUpdate (the webhook's 400), never another exception;
    whatever passes reaches the engine with the types it expects."""
    for path, value in crafted:
        parent: Any = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent[path[-1]] = value
    try:
        update = telegram_update(data, BOT)
        incoming = to_incoming(update, "SelloBot")
    except MalformedUpdate:
        return
    if incoming is not None:
        for field in (incoming.user_id, incoming.chat_id, incoming.update_id):
            assert isinstance(field, str) and field.lstrip("-").isdigit()
        assert incoming.text is None or isinstance(incoming.text, str)
        assert incoming.payload is None or isinstance(incoming.payload, str)
        assert incoming.language_hint is None or isinstance(incoming.language_hint, str)


nesting = st.tuples(
    st.sampled_from(((b"[", b"]"), (b'{"a": ', b"}"), (b'{"message": ', b"}"))),
    st.integers(1, 120_000),
    st.sampled_from((b"1", b"[]", b"{}", b'"x"')),
).map(lambda t: t[0][0] * t[1] + t[2] + t[0][1] * t[1])


@PURE
@given(raw=st.one_of(nesting, st.binary(max_size=64)))
@example(raw=b"[" * 100_000 + b"]" * 100_000)
@example(raw=b"\xff\xfe{}")
def test_webhook_bodies_of_any_depth_or_bytes_give_value_error_only(raw: bytes):
    """Any body either parses or raises ValueError (the webhooks' 400), never RecursionError."""
    try:
        body = json_object(raw)
    except ValueError:
        return
    with contextlib.suppress(MalformedUpdate):
        telegram_update(body, BOT)
    with contextlib.suppress(ValueError):
        whatsapp.parse(body)


no_at = st.text(chars, max_size=20).filter(lambda s: "@" not in s)


@PURE
@given(before=no_at, after=no_at)
@example(before="İ ", after=" hola")  # "İ".lower() is two characters long
def test_telegram_group_mention_is_cut_out_exactly(before: str, after: str):
    """In a group, "… @SelloBot …" reaches the engine as the text without the mention."""
    assume(not before.startswith("/"))
    data = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100, "type": "group"},
            "from": {"id": 42, "is_bot": False, "first_name": "A"},
            "text": f"{before}@SelloBot{after}",
        },
    }
    incoming = to_incoming(Update.de_json(data, BOT), "SelloBot")
    assert incoming is not None
    assert incoming.text == (before + after).strip()


# -- WhatsApp: parse ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The expected shape most of the time, any JSON value sometimes."""
    return st.one_of(good, good, good, json_values)


def wa_body(corrupt: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Webhook bodies: well-formed ones (fields present or not), or with any level of them
    replaced by an arbitrary JSON value now and then."""

    def wrap(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return mostly(good) if corrupt else good

    wa_id = st.sampled_from(("56911111111", "56922222222", "CL.1a2b", ""))
    message = st.fixed_dictionaries(
        {},
        optional={
            "from": wa_id,
            "from_user_id": wa_id,
            "id": st.one_of(st.just("wamid.X1"), st.text(max_size=12)),
            "timestamp": st.one_of(st.text(max_size=12), st.integers()),
            "type": st.sampled_from(("text", "interactive", "button", "image", "reaction", "x")),
            "text": wrap(st.fixed_dictionaries({"body": st.text()})),
            "interactive": wrap(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "type": st.sampled_from(("button_reply", "list_reply")),
                        "button_reply": wrap(st.fixed_dictionaries({"id": payloads})),
                        "list_reply": wrap(st.fixed_dictionaries({"id": payloads})),
                    },
                )
            ),
            "button": wrap(st.fixed_dictionaries({"payload": payloads})),
            "context": wrap(st.fixed_dictionaries({}, optional={"id": st.text(max_size=12)})),
        },
    )
    contact = st.fixed_dictionaries(
        {}, optional={"wa_id": wa_id, "user_id": wa_id, "profile": wrap(st.just({"name": "A"}))}
    )
    status = st.fixed_dictionaries(
        {},
        optional={
            "id": st.text(max_size=10),
            "status": st.sampled_from(("sent", "delivered", "read", "failed", "")),
            "timestamp": st.one_of(st.text(max_size=12), st.integers(), st.floats()),
        },
    )
    value = st.fixed_dictionaries(
        {},
        optional={
            "messaging_product": st.just("whatsapp"),
            "contacts": wrap(st.lists(wrap(contact), max_size=2)),
            "messages": wrap(st.lists(wrap(message), max_size=3)),
            "statuses": wrap(st.lists(wrap(status), max_size=2)),
        },
    )
    change = st.fixed_dictionaries(
        {"field": st.sampled_from(("messages", "messages", "account_update"))},
        optional={"value": wrap(value)},
    )
    entry = st.fixed_dictionaries(
        {},
        optional={"id": st.text(max_size=5), "changes": wrap(st.lists(wrap(change), max_size=2))},
    )
    kinds = ("whatsapp_business_account",) * 4 + ("page", "") if corrupt else ()
    return st.fixed_dictionaries(
        {"object": st.sampled_from(kinds or ("whatsapp_business_account",))},
        optional={"entry": wrap(st.lists(wrap(entry), max_size=2))},
    )


@PURE
@given(body=st.one_of(wa_body(corrupt=True), st.dictionaries(st.text(max_size=8), json_values)))
@example(body={"object": "whatsapp_business_account", "entry": ["x"]})
def test_whatsapp_parse_rejects_malformed_bodies_with_value_error_only(body: dict[str, Any]):
    """Any JSON object: parsed, or ValueError (the contract WhatsAppChannel.accept states)."""
    try:
        messages, receipts = whatsapp.parse(body)
    except ValueError:
        return
    assert isinstance(messages, list) and isinstance(receipts, list)
    assert all(isinstance(m, Incoming) for m in messages)
    assert all(isinstance(r, whatsapp.Receipt) for r in receipts)


@PURE
@given(body=wa_body(corrupt=False))
@example(  # found by Hypothesis: a timestamp past the C time range raised OSError
    body={
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [
                                {"id": "0", "timestamp": 6.77680361916768e16, "status": "sent"}
                            ]
                        },
                    }
                ],
            }
        ],
    }
)
def test_whatsapp_parse_gives_every_message_a_sender_and_an_id(body: dict[str, Any]):
    messages, _ = whatsapp.parse(body)
    for incoming in messages:
        assert incoming.channel == "whatsapp"
        assert isinstance(incoming.user_id, str) and incoming.user_id
        assert isinstance(incoming.chat_id, str) and incoming.chat_id
        assert isinstance(incoming.update_id, str) and incoming.update_id


# -- WhatsApp: render ---------------------------------------------------------------------

long_words = st.lists(
    st.one_of(st.sampled_from(("palabra", " ", "\n", "\n\n", "x" * 300)), st.text(max_size=30)),
    max_size=400,
).map(lambda parts: "".join(parts)[:10_000])
reply_text = st.one_of(st.text(max_size=300), long_words, long_text)
buttons = st.lists(
    st.builds(Button, label=st.text(chars, max_size=60), payload=payloads), max_size=25
)


@PURE
@given(
    text=reply_text,
    choices=buttons,
    per_row=st.integers(1, 3),
    to=st.sampled_from(("56911111111", "+56911111111", "CL.1234abcd")),
    lang=st.sampled_from((None, "es", "en", "fr", "ht")),
)
def test_whatsapp_render_stays_within_the_cloud_api_limits(
    text: str, choices: list[Button], per_row: int, to: str, lang: str | None
):
    reply = Reply(text, rows(choices, per_row))
    payloads_out = whatsapp.render(to, reply, lang)
    assert payloads_out
    for payload in payloads_out:
        assert violations(payload) == [], payload
    # Every button is offered, once, in order.
    offered = [i for p in payloads_out for i in ids_of(p)]
    assert offered == [b.payload for b in choices]


# -- WhatsApp: signatures -----------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@PURE
@given(secret=st.text(min_size=1), body=st.binary(), other=st.binary())
def test_whatsapp_signature_accepts_the_hmac_of_the_exact_body(
    secret: str, body: bytes, other: bytes
):
    good = sign(secret, body)
    assert whatsapp.signature_ok(secret, body, good)
    assume(other != body)
    assert not whatsapp.signature_ok(secret, other, good)
    assert not whatsapp.signature_ok(secret + "x", body, good)


@PURE
@given(
    secret=st.text(min_size=1),
    body=st.binary(),
    header=st.one_of(st.none(), st.text(), st.text().map(lambda s: "sha256=" + s)),
    tweak=st.sampled_from(("none", "upper", "short", "long", "prefix", "flip")),
)
@example(secret="s", body=b"", header="sha256=é", tweak="none")  # non-ASCII header
def test_whatsapp_signature_rejects_every_other_header_without_raising(
    secret: str, body: bytes, header: str | None, tweak: str
):
    good = sign(secret, body)
    tweaked = {
        "none": header,
        "upper": good.upper(),
        "short": good[:-1],
        "long": good + "0",
        "prefix": good.removeprefix("sha256="),
        "flip": good[:-1] + ("0" if good[-1] != "0" else "1"),
    }[tweak]
    assert whatsapp.signature_ok(secret, body, tweaked) is (tweaked == good)


@PURE
@given(body=st.binary())
def test_whatsapp_signature_refuses_anything_when_the_secret_is_empty(body: bytes):
    """Anyone can compute an HMAC over an empty key: an empty secret authenticates nothing."""
    assert not whatsapp.signature_ok("", body, sign("", body))


# -- bulletins: split ---------------------------------------------------------------------

split_text = st.lists(
    st.one_of(
        st.sampled_from(("word", "palabra", "a", " ", "  ", "\n", "\n\n", "\n\n\n", "\t")),
        st.text(chars, max_size=15),
    ),
    min_size=1,
    max_size=60,
).map("".join)


@PURE
@given(text=split_text, limit=st.integers(1, 120))
def test_split_parts_fit_and_keep_the_content(text: str, limit: int):
    assume(text.strip())
    parts = split(text, limit)
    assert parts
    for part in parts:
        assert 0 < len(part) <= limit, (part, limit)
        assert part == part.strip()
    # Nothing lost or added but whitespace at the cuts.
    assert "".join("".join(parts).split()) == "".join(text.split())
    # Where words can be kept whole (they fit and are separated by spaces or newlines),
    # none is cut.
    words = text.split()
    if all(c in " \n" for c in text if c.isspace()) and all(len(w) <= limit for w in words):
        assert [w for part in parts for w in part.split()] == words


# -- masking ------------------------------------------------------------------------------

digit_runs = st.integers(0, 10**14).map(str)
ruts = st.builds(
    lambda body, dv, dotted, dash: (
        (f"{body:,}".replace(",", ".") if dotted else str(body)) + dash + dv
    ),
    st.integers(1_000_000, 99_999_999),
    st.sampled_from("0123456789kK"),
    st.booleans(),
    st.sampled_from(("-", "-", "‐", " - ")),
)
mask_text = st.lists(
    st.one_of(
        digit_runs,
        ruts,
        st.sampled_from(("-", "‐", ".", "k", "K", " ", "_", "a", "RUT", "é", "[dato oculto]")),
        st.text(chars, max_size=6),
    ),
    max_size=10,
).map("".join)
RUT_LEFT = re.compile(r"\d{7,}-[\dkK]")


@PURE
@given(text=mask_text)
def test_masking_is_idempotent(text: str):
    once, _ = mask_identifiers(text)
    assert mask_identifiers(once) == (once, 0)


@PURE
@given(text=mask_text)
@example(text="_1234567-8")
def test_masking_leaves_no_long_digit_run_with_a_verifier(text: str):
    masked, _ = mask_identifiers(text)
    assert not RUT_LEFT.search(masked), masked


no_digits = st.text(chars, max_size=8).filter(lambda s: not any(c.isdigit() for c in s))
after_rut = no_digits.filter(lambda s: not re.match(r"\w", s))


@PURE
@given(before=no_digits, rut=ruts, after=after_rut)
@example(before="rut", rut="12.345.678-9", after="")
@example(before="", rut="12.345.678‐9", after="")  # U+2010 HYPHEN with dots
def test_masking_hides_a_rut_in_any_usual_format_next_to_any_text(
    before: str, rut: str, after: str
):
    """A RUN/RUT as people write it (dots or not, any dash, K), glued to a word or to
    punctuation, is hidden: at most its lone verifier digit survives."""
    masked, hidden = mask_identifiers(before + rut + after)
    assert hidden >= 1 and sum(c.isdigit() for c in masked) <= 1, masked


# -- knowledge matcher --------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(short_text, st.text(chars, max_size=1000)))
def test_matcher_scores_any_text_within_bounds(text: str):
    from tests.shipped import MATCHER

    match = MATCHER.match(text)
    assert 0.0 <= match.score <= 1.5, match
    assert match.topic is None or isinstance(match.topic, str)
