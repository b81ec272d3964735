"""End to end on Telegram: the real PTB Application against a fake Bot API on loopback."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import HandledUpdate, User
from tests.conftest import bot_settings

USER = 5550001


async def test_start_shows_greeting_and_menu_and_registers_commands(
    telegram, run_bot, database_url
):
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "/start")
    sent = await telegram.wait_sent(USER, 2)
    assert "Sello Migrante" in sent[0].text
    payloads = [b["callback_data"] for b in sent[1].buttons]
    assert "menu:reg" in payloads and "lang:menu" in payloads
    # The command menu exists in every language, described in that language.
    assert set(telegram.commands) == {"", "ht", "fr", "en"}
    names = [c["command"] for c in telegram.commands["en"]]
    assert "idioma" in names and "ayuda" in names


async def test_a_question_gets_a_sourced_answer(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "me atienden en el consultorio si no tengo papeles?")
    [answer] = await telegram.wait_sent(USER, 1)
    assert "FONASA" in answer.text
    assert "https://" in answer.text and "revisado" in answer.text
    assert len(answer.text) <= 1000


async def test_menu_button_then_topic_button(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    telegram.press(USER, "menu:derechos")
    [section] = await telegram.wait_sent(USER, 1)
    payloads = [b["callback_data"] for b in section.buttons]
    assert "kb:derechos.salud" in payloads
    telegram.press(USER, "kb:derechos.educacion")
    sent = await telegram.wait_sent(USER, 2)
    assert "IPE" in sent[1].text


async def test_unknown_button_is_answered_not_crashed(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    telegram.press(USER, "kb:no.such.topic")
    telegram.press(USER, "zzz:whatever")
    sent = await telegram.wait_sent(USER, 2)
    assert all("ya no está disponible" in s.text for s in sent)


async def test_language_switch_changes_replies(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "/idioma")
    [picker] = await telegram.wait_sent(USER, 1)
    assert {b["callback_data"] for b in picker.buttons} == {
        "lang:es",
        "lang:ht",
        "lang:fr",
        "lang:en",
    }
    telegram.press(USER, "lang:en")
    sent = await telegram.wait_sent(USER, 3)
    assert "English" in sent[1].text
    telegram.message(USER, "/ayuda")
    sent = await telegram.wait_sent(USER, 4)
    assert "/menu" in sent[3].text and "language" in sent[3].text.lower()


async def test_duplicate_update_is_handled_once(telegram, run_bot, database_url):
    bot = await run_bot(bot_settings(database_url, telegram))
    first = telegram.message(USER, "/menu")
    await telegram.wait_sent(USER, 1)
    # Telegram delivers the same update again (e.g. after a crash before confirming it).
    telegram.push(
        {
            "update_id": first,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": USER, "type": "private"},
                "from": {"id": USER, "is_bot": False, "first_name": "Prueba"},
                "text": "/menu",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
    )
    telegram.message(USER, "/ayuda")
    await telegram.wait_sent(USER, 2)
    await telegram.settle()
    assert len(telegram.to(USER)) == 2
    async with bot.app.sessions() as session:
        handled = await session.scalar(select(func.count()).select_from(HandledUpdate))
    assert handled == 2


async def test_a_flood_from_one_user_is_cut_and_others_still_answered(
    telegram, run_bot, database_url
):
    await run_bot(bot_settings(database_url, telegram))
    for i in range(100):
        telegram.message(USER, f"hola {i}")
    telegram.message(USER + 1, "/menu")
    await telegram.wait_sent(USER + 1, 1)
    await telegram.settle()
    flood_replies = telegram.to(USER)
    # Unlimited, 100 greetings would get 200 messages (answer + menu each).
    assert 1 <= len(flood_replies) <= 40
    assert any("muchos mensajes" in s.text for s in flood_replies)


async def test_unsupported_media_gets_a_short_localized_reply(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    sticker = {
        "file_id": "f1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    telegram.message(USER, None, sticker=sticker)
    telegram.message(USER + 1, None, lang="fr", location={"latitude": -33.45, "longitude": -70.66})
    telegram.message(
        USER + 2, None, lang="en", voice={"file_id": "v", "file_unique_id": "v1", "duration": 3}
    )
    [es] = await telegram.wait_sent(USER, 1)
    [fr] = await telegram.wait_sent(USER + 1, 1)
    [en] = await telegram.wait_sent(USER + 2, 1)
    assert "texto" in es.text
    assert es.text != fr.text and es.text != en.text


async def test_overlong_text_is_refused_politely(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "papeles " * 400)
    [reply] = await telegram.wait_sent(USER, 1)
    assert "muy largo" in reply.text


async def test_group_chat_ignored_unless_addressed(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    group = -100123
    telegram.message(USER, "hola a todos", chat_id=group, chat_type="supergroup")
    telegram.message(
        USER, "@SelloTestBot como saco el carnet?", chat_id=group, chat_type="supergroup"
    )
    # The answer, then (this user never wrote to the bot privately) where notices will go.
    reply, note = await telegram.wait_sent(group, 2)
    await telegram.settle()
    assert len(telegram.to(group)) == 2
    assert "Registro Civil" in reply.text
    assert "Escríbeme en privado" in note.text and not telegram.to(USER)


async def test_restart_in_the_middle_of_a_flow_keeps_the_state(telegram, run_bot, database_url):
    first = await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "/idioma")
    await telegram.wait_sent(USER, 1)
    await first.stop()
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(USER, "français")
    sent = await telegram.wait_sent(USER, 3)
    assert "français" in sent[1].text.lower()
    second_app = await _user(database_url, USER)
    assert second_app.language == "fr" and second_app.flow is None


async def _user(url: str, user_id: int) -> User:
    from storage.db import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await session.scalar(select(User).where(User.external_id == str(user_id)))
            assert found is not None
            return found
    finally:
        await engine.dispose()


async def test_updates_in_flight_finish_before_stop(telegram, run_bot, database_url):
    bot = await run_bot(bot_settings(database_url, telegram))
    for i in range(5):
        telegram.message(USER + i, "/menu")
    await telegram.wait_sent(USER, 1)
    await bot.stop()
    for i in range(5):
        assert len(telegram.to(USER + i)) == 1
