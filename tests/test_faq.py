"""Free-text questions in the FAQ flow (issue 12, item 5): two questions in one message."""

from __future__ import annotations

from tests.conftest import Chat

TWO = (
    "hola, se me vencio el carnet, como lo renuevo. y tambien quiero saber si puedo "
    "trabajar con la solicitud en tramite"
)


def _payloads(chat: Chat) -> list[str]:
    return [b.payload for b in chat.console._buttons]


async def test_two_questions_answer_the_main_one_and_offer_the_other_as_a_button(chat: Chat):
    await chat.say(TWO)
    payloads = _payloads(chat)
    assert payloads[0] == "kb:reg.trabajo_en_tramite"  # the other question, first
    assert "fb:up:reg.cedula_vencida" in payloads  # the main one was answered
    out = await chat.press("kb:reg.trabajo_en_tramite")
    assert "fb:up:reg.trabajo_en_tramite" in _payloads(chat) and out


async def test_one_question_offers_no_other(chat: Chat):
    await chat.say("se me vencio el carnet, como lo renuevo?")
    payloads = _payloads(chat)
    assert "fb:up:reg.cedula_vencida" in payloads
    assert "kb:reg.trabajo_en_tramite" not in payloads
