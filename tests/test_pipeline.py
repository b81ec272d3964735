"""The engine's order of decisions (Engine.admission, Engine.guards): what is refused or
answered before what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import App
from intents.messages import Incoming, Reply
from storage.models import User

UNREADABLE = "caracteres que no puedo leer"


async def say(app: App, text: str | None = None, **fields: Any) -> list[Reply]:
    return await app.engine.handle(Incoming("console", "5", "5", text=text, **fields))


async def flow_of(app: App) -> tuple[str | None, str | None]:
    async with app.sessions() as s:
        user = await s.scalar(select(User).where(User.external_id == "5"))
    assert user is not None
    return user.flow, user.flow_step


async def test_control_characters_are_refused_before_a_button_is_looked_up(app: App):
    for payload in ("cmd:menu\u202e", "lang:en\x00", "kb:nope\x1b[31m"):
        replies = await say(app, payload=payload)
        assert [UNREADABLE in r.text for r in replies] == [True], payload


async def test_control_characters_are_refused_before_a_flow_step_reads_them(app: App):
    await say(app, "/idioma")
    before = await flow_of(app)
    assert before[0] == "language"
    replies = await say(app, "quiero el español, por favor\x07")
    assert UNREADABLE in replies[0].text
    assert await flow_of(app) == before  # the step never saw it


async def test_control_characters_in_a_group_are_refused_before_it_is_read_as_a_question(
    app: App,
):
    replies = await say(app, "como saco el carnet\u2066", private=False)
    assert UNREADABLE in replies[0].text
    assert all("Registro Civil" not in r.text for r in replies)


async def test_media_is_refused_before_a_flow_step(app: App):
    await say(app, "/idioma")
    before = await flow_of(app)
    replies = await say(app, None, media="sticker")
    assert [r.text for r in replies] == [
        "Por ahora solo entiendo mensajes de texto. Escribe tu pregunta o usa /menu."
    ]
    assert await flow_of(app) == before


async def test_a_flow_this_version_no_longer_knows_ends_and_the_text_is_a_question(app: App):
    await say(app, "hola")
    async with app.sessions() as s, s.begin():
        user = await s.scalar(select(User).where(User.external_id == "5"))
        assert user is not None
        user.flow, user.flow_step = "retired", "ask"
    replies = await say(app, "como saco el carnet de identidad chileno")
    assert any("Registro Civil" in r.text for r in replies)
    assert await flow_of(app) == (None, None)


async def test_a_redelivered_update_is_not_handled_a_second_time(app: App):
    first = await say(app, "/idioma", update_id="7", durable=True)
    assert (await flow_of(app))[0] == "language"
    await say(app, "/cancelar", update_id="8", durable=True)
    # The platform delivers 7 again (its replies were never confirmed as sent): the same
    # replies come back from the journal, and the user is not put back into the flow.
    again = await say(app, "/idioma", update_id="7", durable=True)
    assert [r.text for r in again] == [r.text for r in first]
    assert await flow_of(app) == (None, None)
    # Once confirmed, a redelivery is silent.
    await app.engine.confirm_sent(Incoming("console", "5", "5", update_id="7", durable=True))
    assert await say(app, "/idioma", update_id="7", durable=True) == []
    assert await flow_of(app) == (None, None)
