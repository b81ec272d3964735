"""👍 / 👎 under full answers (issue 12, item 7): stored, reported, exported and erased."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.cli import main
from intents.i18n import texts
from intents.messages import Incoming
from storage.models import AnswerFeedback
from tests.conftest import Chat, bot_settings
from tests.fakes.graph_api import ids_of
from tests.shipped import MATCHER
from tests.test_whatsapp import graph, wa  # noqa: F401  (the WhatsApp fixtures)

HEALTH = "me atienden en el consultorio si no tengo papeles?"
HEALTH_FR = "Est-ce que je peux me faire soigner au centre de santé sans papiers au Chili ?"


def _topic(text: str) -> str:
    match = MATCHER.match(text)
    assert match.topic is not None, f"the matcher changed: pick another question ({match})"
    return match.topic


async def _rows(app) -> list[AnswerFeedback]:
    async with app.sessions() as s:
        return list((await s.execute(select(AnswerFeedback).order_by(AnswerFeedback.id))).scalars())


def _payloads(chat: Chat) -> list[str]:
    return [b.payload for b in chat.console._buttons]


async def test_a_full_answer_carries_the_rating_row_small_talk_does_not(chat: Chat):
    await chat.say(HEALTH)
    topic = _topic(HEALTH)
    assert _payloads(chat)[-2:] == [f"fb:up:{topic}", f"fb:down:{topic}"]
    await chat.say("hola")
    assert not any(p.startswith("fb:") for p in _payloads(chat))
    await chat.press("menu:derechos")  # a section: not an answer
    assert not any(p.startswith("fb:") for p in _payloads(chat))
    await chat.press("kb:derechos.educacion")  # a topic pressed: an answer
    assert _payloads(chat)[-1] == "fb:down:derechos.educacion"


async def test_thumbs_up_is_stored_once_with_topic_language_and_time(app):
    chat = Chat(app, user="u1", lang="es")
    await chat.say(HEALTH_FR)
    topic = _topic(HEALTH_FR)
    out = await chat.press(f"fb:up:{topic}")
    assert texts("fr")._("¡Gracias! Me alegra que te sirviera.") in out
    out = await chat.press(f"fb:up:{topic}")  # replayed: nothing more is stored
    assert "fb:" not in out and len(await _rows(app)) == 1
    [row] = await _rows(app)
    assert (row.topic, row.lang, row.helpful, row.channel) == (topic, "fr", True, "console")
    assert row.question is None and row.looking_for is None and row.at is not None


async def test_a_rating_stores_the_language_the_answer_was_given_in(app):
    """The language of the conversation at the press was stored: a French answer rated after
    /idioma en was reported as an English one (left over on 2026-12-07)."""
    chat = Chat(app, user="u1", lang="es")
    await chat.say(HEALTH_FR)
    topic = _topic(HEALTH_FR)
    await chat.say("/idioma en")
    out = await chat.press(f"fb:up:{topic}")
    assert texts("en")._("¡Gracias! Me alegra que te sirviera.") in out
    [row] = await _rows(app)
    assert (row.topic, row.lang) == (topic, "fr")


async def test_thumbs_down_keeps_the_masked_question_and_what_was_looked_for(chat: Chat):
    question = HEALTH + " mi rut es 12.345.678-5"
    await chat.say(question)
    topic = _topic(question)
    out = await chat.press(f"fb:down:{topic}")
    assert "¿Qué estabas buscando?" in out and "Omitir" in out
    out = await chat.say("el horario del cesfam, mi pasaporte es AB1234567")
    assert "lo anoté" in out
    [row] = await _rows(chat.app)
    assert row.helpful is False and row.topic == topic and row.lang == "es"
    assert row.question is not None and "12.345.678" not in row.question
    assert "[dato oculto]" in row.question and "consultorio" in row.question
    assert row.looking_for == "el horario del cesfam, mi pasaporte es [dato oculto]"
    # The next message is a question again.
    assert "FONASA" in await chat.say(HEALTH)


async def test_a_question_written_after_a_thumbs_down_is_noted_and_answered(chat: Chat):
    """It was stored as the note and never answered (a new-user trial of 2026-12-07)."""
    await chat.say(HEALTH)
    await chat.press(f"fb:down:{_topic(HEALTH)}")
    question = "y mi hijo puede ir al colegio sin rut?"
    out = await chat.say(question)
    assert "lo anoté" in out and "IPE" in out, out  # noted, and the school answer
    [row] = await _rows(chat.app)
    assert row.looking_for == question


@pytest.mark.parametrize("leave", ["fb:skip", "/cancelar"])
async def test_the_what_were_you_looking_for_prompt_can_be_left(chat: Chat, leave: str):
    await chat.say(HEALTH)
    await chat.press(f"fb:down:{_topic(HEALTH)}")
    out = await (chat.press(leave) if leave.startswith("fb:") else chat.say(leave))
    assert "/menu" in out
    [row] = await _rows(chat.app)
    assert row.helpful is False and row.looking_for is None
    assert "FONASA" in await chat.say(HEALTH)
    assert len(await _rows(chat.app)) == 1


async def test_an_answer_above_the_latest_can_be_rated_once(chat: Chat):
    """A 👍 on the answer above the last one was refused (a new-user trial of 2026-12-07)."""
    await chat.say(HEALTH)
    topic = _topic(HEALTH)
    await chat.press("kb:derechos.educacion")  # a newer answer
    out = await chat.press(f"fb:up:{topic}")
    assert "Gracias" in out
    out = await chat.press(f"fb:up:{topic}")  # once
    assert "ya no está disponible" in out
    await chat.press("fb:up:derechos.educacion")
    assert [(r.topic, r.helpful) for r in await _rows(chat.app)] == [
        (topic, True),
        ("derechos.educacion", True),
    ]


async def test_unknown_old_and_forged_feedback_buttons_store_nothing(chat: Chat):
    await chat.say(HEALTH)
    topic = _topic(HEALTH)
    for other in ("kb:derechos.educacion", "kb:reg.cedula", "kb:reg.refugio", "kb:reg.nna"):
        await chat.press(other)
    await chat.press("kb:reg.multas")  # five newer answers: the first one is closed
    for payload in (
        f"fb:up:{topic}",
        "fb:up:no.such.topic",
        "fb:zzz:derechos.educacion",
        "fb:up:",
        "fb:",
        "fb:skip",
    ):
        out = await chat.press(payload)
        assert "ya no está disponible" in out, payload
    assert await _rows(chat.app) == []
    await chat.press("fb:down:reg.multas")  # the latest still works
    [row] = await _rows(chat.app)
    assert row.topic == "reg.multas" and row.question is None  # pressed, not asked


async def test_the_orientation_answer_can_be_rated(chat: Chat):
    await chat.say("/papeles")
    await chat.press("ori:situation:minor")
    assert _payloads(chat)[-2:] == ["fb:up:reg.nna", "fb:down:reg.nna"]
    await chat.press("fb:up:reg.nna")
    assert [r.topic for r in await _rows(chat.app)] == ["reg.nna"]


async def test_feedback_is_exported_and_erased_with_my_data(app):
    chat = Chat(app, user="p1")
    await chat.say(HEALTH + " 12.345.678-5")
    await chat.press(f"fb:down:{_topic(HEALTH)}")
    await chat.say("otra cosa")
    other = Chat(app, user="p2")
    await other.say(HEALTH)
    await other.press(f"fb:up:{_topic(HEALTH)}")
    replies = await app.engine.handle(Incoming("console", "p1", "p1", text="/misdatos"))
    data = json.loads(replies[0].attachment.content.decode())
    assert [(f["helpful"], f["looking_for"]) for f in data["answer_feedback"]] == [
        (False, "otra cosa")
    ]
    assert "12.345.678" not in json.dumps(data)
    await chat.say("/borrar")
    await chat.press("priv:erase:yes")
    assert [r.helpful for r in await _rows(app)] == [True]  # only the other person's


async def test_kb_feedback_prints_per_topic_and_language(app, database_url, capsys, monkeypatch):
    for user, lang, text, action in (
        ("c1", "es", HEALTH, "up"),
        ("c2", "es", HEALTH, "down"),
        ("c3", "fr", HEALTH_FR, "down"),
    ):
        chat = Chat(app, user=user, lang=lang)
        await chat.say(text)
        await chat.press(f"fb:{action}:{_topic(text)}")
    topic = _topic(HEALTH)
    async with app.sessions() as s, s.begin():
        old = AnswerFeedback(
            topic="reg.cedula",
            lang="ht",
            channel="whatsapp",
            helpful=False,
            at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        s.add(old)
    monkeypatch.setenv("SELLO_DATABASE_URL", database_url)
    assert await _cli(["kb", "feedback"]) == 0
    out = capsys.readouterr().out
    assert "4 ratings: 1 helpful, 3 not helpful" in out
    lines = out.splitlines()
    assert any(line.split() == [topic, "es", "1", "1"] for line in lines), out
    assert any(line.split() == [_topic(HEALTH_FR), "fr", "0", "1"] for line in lines), out
    assert any(line.split() == ["reg.cedula", "ht", "0", "1"] for line in lines), out
    assert "consultorio" in out  # the masked question of a 👎
    assert await _cli(["kb", "feedback", "--since", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    assert "3 ratings" in out and "reg.cedula" not in out
    assert await _cli(["kb", "feedback", "--since", "yesterday"]) == 2


async def _cli(argv: list[str]) -> int:
    """The CLI runs its own event loop: run it in a thread, as from a terminal."""
    import asyncio

    try:
        return await asyncio.to_thread(main, argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


async def test_rating_buttons_on_telegram(telegram, run_bot, database_url):
    user = 5550999
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(user, HEALTH)
    [answer] = await telegram.wait_sent(user, 1)
    markup = answer.params["reply_markup"]
    rows = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    topic = _topic(HEALTH)
    assert [b["callback_data"] for b in rows[-1]] == [f"fb:up:{topic}", f"fb:down:{topic}"]
    telegram.press(user, f"fb:down:{topic}")
    sent = await telegram.wait_sent(user, 2)
    assert "¿Qué estabas buscando?" in sent[1].text


async def test_rating_buttons_on_whatsapp_within_its_limits(wa, graph):  # noqa: F811
    phone = "56900000051"
    await wa.say(phone, HEALTH)
    sent = await graph.wait(phone, 1)
    topic = _topic(HEALTH)
    assert ids_of(sent[0])[-2:] == [f"fb:up:{topic}", f"fb:down:{topic}"]
    await wa.press(phone, f"fb:down:{topic}", kind="list_reply")
    sent = await graph.wait(phone, 2)
    # The prompt has one button: a reply button, title within 20 characters.
    assert sent[1]["interactive"]["type"] == "button"
    assert ids_of(sent[1]) == ["fb:skip"]
    await wa.press(phone, "fb:skip")
    await graph.wait(phone, 3)
    assert graph.problems == []


async def test_a_thumbs_down_on_an_earlier_answer_keeps_the_flow_the_user_is_in(chat: Chat):
    """It started "what were you looking for?" and so ended the orientation (the review of
    2026-12-07)."""
    await chat.say(HEALTH)
    topic = _topic(HEALTH)
    await chat.say("/papeles")
    out = await chat.press(f"fb:down:{topic}")
    assert "¿Qué estabas buscando?" not in out
    out = await chat.say("ninguna")
    assert "pregunta 2" in out, out
    [row] = await _rows(chat.app)
    assert row.helpful is False and row.looking_for is None
