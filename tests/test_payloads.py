"""Button payloads as typed classes (intents/payloads.py) and outbox refs (storage/outbox.py):
the wire format is today's strings byte for byte (buttons already sent, and outbox rows,
keep working), parsing is strict and never raises, and building a bad one fails at once."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from intents.answers import TopicButton
from intents.cases_text import CaseView
from intents.engine import FLOWS
from intents.figures import PlaceFigures, Ranking
from intents.flows import (
    bulletin,
    cases,
    faq,
    feedback,
    language,
    menu,
    officer_cases,
    orientation,
    privacy,
    relay,
    subscription,
)
from intents.messages import Reply
from intents.payloads import TOKEN, FieldSpec, OneOf, Pattern, Payload
from intents.router import CommandButton, Flow, Router
from knowledge.content import load
from storage.ids import MAX_ID, parse_id
from storage.outbox import RelayRef, ReplyRef, parse_ref
from storage.states import CaseStatus

# Every payload shape the bot sends, with the string it sent before these classes existed.
WIRE = [
    (CommandButton("menu"), "cmd:menu"),
    (menu.MenuButton(None), "menu:"),
    (menu.MenuButton("reg"), "menu:reg"),
    (menu.LanguagePicker(), "lang:menu"),
    (menu.Resume(), "resume"),
    (language.LanguageChoice("fr"), "lang:fr"),
    (cases.CaseCategory("salud"), "case:cat:salud"),
    (cases.CaseUrgency("urgente"), "case:urg:urgente"),
    (cases.CaseConfirm(), "case:ok:yes"),
    (cases.CaseCancel(), "case:cancel"),
    (CaseView(12), "case:view:12"),
    (cases.CaseMessage(12), "case:msg:12"),
    (cases.CaseList(), "case:list"),
    (officer_cases.OfficerView(12), "ofc:view:12"),
    (officer_cases.OfficerTake(12), "ofc:take:12"),
    (officer_cases.OfficerReply(12), "ofc:reply:12"),
    (officer_cases.OfficerRefer(12), "ofc:refer:12"),
    (officer_cases.OfficerStatus(12, CaseStatus.ANSWERED), "ofc:st:12:respondido"),
    (officer_cases.OfficerStatus(12, CaseStatus.CLOSED), "ofc:st:12:cerrado"),
    (relay.RelayOpen(), "relay:open"),
    (relay.RelayClose(), "relay:close"),
    (relay.RelayReply(7), "relay:reply:7"),
    (subscription.ChooseComuna(), "sub:comuna"),
    (bulletin.ForRole("migrant"), "bul:role:migrant"),
    (bulletin.InLanguage("all"), "bul:lang:all"),
    (bulletin.InLanguage("ht"), "bul:lang:ht"),
    (bulletin.AllComunas(), "bul:comuna:all"),
    (bulletin.SendNow(), "bul:send:now"),
    (bulletin.Discard(), "bul:cancel:x"),
    (privacy.Erase("yes"), "priv:erase:yes"),
    (privacy.Erase("no"), "priv:erase:no"),
    (orientation.Start(), "ori:start"),
    (orientation.Leave(), "ori:exit"),
    (orientation.Answer(orientation.Step.ENTRY, "border"), "ori:entry:border"),
    (orientation.Answer(orientation.Step.JOB, "nose"), "ori:job:nose"),
    (feedback.Rating("up", "reg.cedula"), "fb:up:reg.cedula"),
    (feedback.Rating("down", "reg.cedula"), "fb:down:reg.cedula"),
    (feedback.SkipNote(), "fb:skip"),
    (PlaceFigures("13101"), "est:13101"),
    (PlaceFigures("13"), "est:13"),
    (PlaceFigures("00"), "est:00"),
    (Ranking(), "est:top"),
    (faq.NoneOfThese(), "kb:none"),
    (TopicButton("sello.que_es"), "kb:sello.que_es"),
]
ROUTER = Router(FLOWS)
CLASSES = ROUTER.payload_classes


@pytest.mark.parametrize(("payload", "wire"), WIRE, ids=[w for _, w in WIRE])
def test_packed_form_is_the_string_sent_before(payload: Payload, wire: str):
    assert payload.pack() == wire
    assert payload.button("x").payload == wire
    assert type(payload).parse(wire) == payload


def test_every_declared_class_has_its_wire_sample_and_one_flow():
    assert {type(p) for p, _ in WIRE} == set(CLASSES)
    assert len(CLASSES) == len(set(CLASSES))


@pytest.mark.parametrize(
    "text",
    [
        "ofc:take",  # a part too few
        "ofc:take:12:13",  # a part too many
        "ofc:take:",
        "ofc:take:abc",
        "ofc:take:0",
        "ofc:take:-1",
        "ofc:take:012",  # not the form pack() writes
        "ofc:take: 12",
        "ofc:take:²",
        "ofc:take:١٢",
        f"ofc:take:{MAX_ID}",
        "ofc:take:" + "9" * 30,
        "ofc:st:12:abierto",  # a status, but not one an officer sets
        "ofc:st:12:zzz",
        "ofc:zzz:12",
        "ofx:take:12",
        "OFC:take:12",
        "case:cat:nope",
        "case:ok:no",
        "case:cancel:x",
        "bul:send:yes",  # handled once, never produced: gone
        "bul:cancel",
        "bul:lang:xx",
        "menu",
        "menu:nope",
        "lang:xx",
        "priv:erase:maybe",
        "ori:situation:maybe",
        "ori:job:irregular",  # an answer of another question
        "ori:zzz:yes",
        "ori:entry",
        "fb:up:",
        "fb:zzz:reg.cedula",
        "fb:up:REG.cedula",
        "kb:",
        "kb:none:x",
        "kb:nodot",
        "est:abc",
        "est:1",
        "est:1234",
        "cmd:",
        "cmd:CASO",
        "cmd:caso extra",
        "",
        ":",
        "zzz:whatever",
    ],
)
def test_malformed_payloads_parse_to_nothing(text: str):
    assert [cls for cls in CLASSES if cls.parse(text) is not None] == []


def test_exactly_one_class_parses_each_wire_form():
    for _, wire in WIRE:
        assert [cls for cls in CLASSES if cls.parse(wire) is not None] != []
        assert len([cls for cls in CLASSES if cls.parse(wire) is not None]) == 1, wire


def test_a_bad_value_or_an_oversized_payload_fails_where_it_is_built():
    with pytest.raises(ValueError):
        officer_cases.OfficerTake(0)
    with pytest.raises(ValueError):
        officer_cases.OfficerTake(MAX_ID)
    with pytest.raises(ValueError):
        cases.CaseCategory("nope")
    with pytest.raises(ValueError):
        orientation.Answer(orientation.Step.JOB, "irregular")
    with pytest.raises(ValueError):
        CommandButton("Caso")
    with pytest.raises(ValueError):
        TopicButton("a:b.c")
    too_long = "reg." + "x" * 60  # a valid topic id, but over 64 bytes once packed
    with pytest.raises(ValueError, match="64 bytes"):
        TopicButton(too_long).pack()
    with pytest.raises(ValueError, match="64 bytes"):
        feedback.Rating("down", too_long).button("👎")


def test_every_topic_of_the_content_fits_its_buttons():
    for topic_id in load().topics:
        assert TopicButton.parse(TopicButton(topic_id).pack()) == TopicButton(topic_id)
        feedback.Rating("down", topic_id).pack()


# -- properties ---------------------------------------------------------------------------


def _values(spec: FieldSpec) -> st.SearchStrategy[object]:
    base: st.SearchStrategy[object]
    if spec.kind is int:
        base = st.integers(1, MAX_ID - 1)
    elif issubclass(spec.kind, StrEnum):
        base = st.sampled_from(list(spec.kind))
    else:
        base = st.from_regex(TOKEN, fullmatch=True)
    for constraint in spec.constraints:
        if isinstance(constraint, OneOf):
            base = st.sampled_from(sorted(str(c) for c in constraint.choices))
            if issubclass(spec.kind, StrEnum):
                base = base.map(spec.kind)
        elif isinstance(constraint, Pattern):
            base = st.from_regex(constraint.regex, fullmatch=True)
    if spec.optional:
        base = st.none() | base
    return base.filter(spec.valid)


@st.composite
def payloads(draw: st.DrawFn) -> Payload:
    cls = draw(st.sampled_from(CLASSES))
    values = [draw(_values(spec)) for spec in cls.specs]
    try:
        payload = cls(*values)
        payload.pack()
    except ValueError:  # a rule across fields, or over 64 bytes
        assume(False)
    return payload


@settings(max_examples=500, deadline=None)
@given(payloads())
def test_parse_undoes_pack(payload: Payload):
    packed = payload.pack()
    assert len(packed.encode()) <= 64
    assert type(payload).parse(packed) == payload
    # The router finds it by its prefix, and no other class claims it.
    assert [cls for cls in CLASSES if cls.parse(packed) is not None] == [type(payload)]
    assert ROUTER.button(packed) is not None or isinstance(payload, CommandButton)


prefixes = st.sampled_from(sorted({cls.prefix for cls in CLASSES}))
texts = st.one_of(
    st.text(max_size=80),
    st.builds(lambda p, rest: f"{p}:{rest}", prefixes, st.text(max_size=40)),
    st.builds(
        lambda p, parts: ":".join([p, *parts]),
        prefixes,
        st.lists(st.sampled_from(["", "0", "1", "012", "²", "x", "all", "yes", "a.b"]), max_size=3),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_parse_never_raises_and_accepts_only_what_pack_writes(text: str):
    for cls in CLASSES:
        found = cls.parse(text)
        assert found is None or found.pack() == text
    ROUTER.button(text)
    ROUTER.flow_of(payload=text)


# -- the registry -------------------------------------------------------------------------


class SameShape(Payload, prefix="case:list"):
    """A second class for a shape already declared."""


async def _nothing(ctx: object, press: object = None) -> list[Reply]:
    return []


def test_a_prefix_belongs_to_one_flow_and_cmd_to_the_router():
    with pytest.raises(ValueError, match="belongs to flow"):
        Router(
            [Flow("a", buttons={cases.CaseList: _nothing}), Flow("b", buttons={CaseView: _nothing})]
        )
    with pytest.raises(ValueError, match="declared twice"):
        Router([Flow("a", buttons={cases.CaseList: _nothing, SameShape: _nothing})])
    with pytest.raises(ValueError, match="router's"):
        Router([Flow("a", buttons={CommandButton: _nothing})])


# -- outbox refs --------------------------------------------------------------------------


def test_outbox_refs_keep_their_stored_form():
    assert RelayRef(12).pack() == "relay:12"
    assert ReplyRef("telegram-991").pack() == "reply:telegram-991"
    assert parse_ref("relay:12") == RelayRef(12)
    assert parse_ref("reply:wamid.HBgL") == ReplyRef("wamid.HBgL")
    for junk in (None, "", "relay:", "relay:abc", "relay:012", "relay:0", "reply:", "case:3"):
        assert parse_ref(junk) is None, junk


def test_ids_cover_the_whole_declared_range():
    assert parse_id(str(10**15)) == 10**15  # 16 digits, below MAX_ID
    assert parse_id(str(MAX_ID - 1)) == MAX_ID - 1
    assert parse_id(str(MAX_ID)) is None
    assert parse_id("0" * 16) is None and parse_id("1" * 17) is None


@given(st.integers(1, MAX_ID - 1))
def test_relay_refs_round_trip(message_id: int):
    assert parse_ref(RelayRef(message_id).pack()) == RelayRef(message_id)


@given(st.one_of(st.none(), st.text(max_size=80)))
def test_parse_ref_never_raises(text: str | None):
    found = parse_ref(text)
    assert found is None or found.pack() == text
