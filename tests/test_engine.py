"""The engine through the console channel: flows, routing, bad input, state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from intents.engine import Engine
from intents.messages import Incoming, Reply
from storage import directory, officers
from storage.models import UnansweredQuestion, User
from tests.conftest import Chat


async def test_start_greets_and_offers_the_menu(chat: Chat):
    out = await chat.say("/start")
    assert "Sello Migrante" in out
    assert "[1]" in out


async def test_command_words_work_without_slash_on_the_console(chat: Chat):
    assert "Elige un tema" in await chat.say("menu")
    assert "/idioma" in await chat.say("ayuda")


async def test_a_question_starting_with_a_command_word_is_still_a_question(chat: Chat):
    out = await chat.say("ayuda con el carnet, como saco la cedula chilena")
    assert "Registro Civil" in out


async def test_unknown_command_is_explained(chat: Chat):
    assert "/ayuda" in await chat.say("/volar")


async def test_cancel_with_and_without_a_flow(chat: Chat):
    assert "nada que cancelar" in await chat.say("/cancelar")
    await chat.say("/idioma")
    assert "Listo" in await chat.say("/cancelar")
    assert "nada que cancelar" in await chat.say("/cancelar")


async def test_language_typed_in_the_flow_and_wrong_answer(chat: Chat):
    await chat.say("/idioma")
    assert "No conozco ese idioma" in await chat.say("klingon")
    await chat.say("kreyol")
    async with chat.app.sessions() as s:
        user = await s.scalar(select(User).where(User.external_id == "1"))
        assert user is not None and user.language == "ht" and user.flow is None


async def test_idioma_with_an_argument_sets_it_at_once(chat: Chat):
    out = await chat.say("/idioma en")
    assert "English" in out


async def test_out_of_scope_question_gets_fallback_and_is_logged(chat: Chat):
    out = await chat.say("cual es la mejor receta de empanadas de pino para el 18")
    assert "ChileAtiende" in out
    async with chat.app.sessions() as s:
        logged = (await s.execute(select(UnansweredQuestion))).scalars().all()
    assert [q.lang for q in logged] == ["es"]
    assert logged[0].asked_at is not None


async def test_empty_and_whitespace_messages(chat: Chat):
    assert "pregunta" in await chat.say("   ")


async def test_flow_expires_after_inactivity(app):
    clock = [datetime(2026, 11, 28, 10, 0, tzinfo=UTC)]
    engine = Engine(app.sessions, app.engine.services, clock=lambda: clock[0])
    user = Incoming("console", "9", "9", text="/idioma")
    await engine.handle(user)
    clock[0] += timedelta(hours=2)
    replies = await engine.handle(Incoming("console", "9", "9", text="english"))
    # "english" is plainly English: the conversation follows it, but it chose nothing.
    assert "has expired" in replies[0].text
    async with app.sessions() as s:
        stored = await s.scalar(select(User).where(User.external_id == "9"))
        assert stored is not None and stored.language is None


async def test_dynamic_adhesion_answer_reads_the_directory(chat: Chat):
    async with chat.app.sessions() as s, s.begin():
        await directory.set_adhered(s, "13110", date(2018, 3, 15))  # La Florida
    out = await chat.press("kb:sello.municipios_adheridos")
    # The 9 comunas a public source confirms (shipped) and the one an admin added.
    assert (
        "conoce 10 comunas con el Sello, de unas 141" in out and "lista oficial es de SERMIG" in out
    )
    out = await answer(chat, "la muni de La Florida esta en el sello?")
    assert "La Florida firmó su adhesión al Sello Migrante (el 15 de marzo de 2018)" in out
    out = await answer(chat, "la muni de Iquique esta en el sello?")
    # Not listed is not "no": the directory is incomplete, the official list is SERMIG's.
    assert "Iquique no figura en nuestro directorio, pero eso no quiere decir que no" in out
    assert "no está adherida" not in out


async def test_sello_directory_starts_from_the_confirmed_comunas_with_their_source(chat: Chat):
    out = await answer(chat, "quilicura tiene el sello?")
    assert "Quilicura está certificada con el Sello Migrante (el 13 de diciembre de 2015)" in out
    assert "https://ru.scribd.com/document/394053875/Sello-Migrante" in out
    out = await answer(chat, "esta valparaiso en el sello migrante")
    assert "Valparaíso renovó (revalidó) su Sello Migrante" in out
    assert "municipalidaddevalparaiso.cl" in out
    async with chat.app.sessions() as s:
        assert await directory.count_adhered(s) == 9
        quillota = await directory.comuna(s, "05501")
        assert quillota is not None and quillota.sello_status == "adherida"
        assert quillota.adhered_since is None  # the source gives a year only, kept as evidence
        assert quillota.sello_evidence and "2017" in quillota.sello_evidence


async def answer(chat: Chat, question: str, topic: str = "sello.municipios_adheridos") -> str:
    """Ask; when the bot only suggests topics, press the expected one (as a user would)."""
    out = await chat.say(question)
    if "¿Te refieres a" in out:
        out = await chat.press(f"kb:{topic}")
    return out


async def test_dynamic_officer_answer_reads_the_officers_table(chat: Chat):
    async with chat.app.sessions() as s, s.begin():
        await officers.add(
            s,
            region_code="05",
            name="Rosa Inventada",
            email="rosa@example.org",
            telegram_id="777",
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        user = await s.scalar(select(User).where(User.external_id == "1"))
        if user is None:
            from storage import users

            user = await users.get_or_create(
                s, "console", "1", "1", datetime(2026, 1, 1, tzinfo=UTC)
            )
        user.comuna_cut = "05101"  # Valparaíso
    # A migrant who lives there gets the way to the regional directorate, not the officer's
    # own contact: the officers serve the municipalities.
    out = await chat.press("kb:sello.encargado_regional")
    assert "Rosa Inventada" not in out and "rosa@example.org" not in out
    assert "serviciomigraciones.cl" in out
    await set_role(chat, "municipal")
    out = await chat.press("kb:sello.encargado_regional")
    assert "Rosa Inventada" in out and "rosa@example.org" in out


async def set_role(chat: Chat, role: str, comuna: str | None = None) -> None:
    async with chat.app.sessions() as s, s.begin():
        user = await s.scalar(select(User).where(User.external_id == chat.console.user))
        assert user is not None
        user.role = role
        if comuna:
            user.comuna_cut = comuna


async def press(chat: Chat, payload: str) -> list[Reply]:
    return await chat.app.engine.handle(
        Incoming("console", chat.console.user, chat.console.user, payload=payload)
    )


def payloads(replies: list[Reply]) -> list[str]:
    return [b.payload for r in replies for b in r.flat_buttons]


async def test_next_step_buttons_follow_the_role(chat: Chat):
    topic = next(t for t in chat.app.engine.services.kb.topics.values() if "/caso" in t.actions)
    await chat.say("hola")
    replies = await press(chat, f"kb:{topic.id}")
    assert "cmd:caso" not in payloads(replies)  # a migrant cannot open cases
    # A replayed or forged next-step button still meets the server-side role check.
    # (for someone not enrolled: no case flow, an explanation of who opens cases and how)
    refused = (await press(chat, "cmd:caso"))[0].text
    assert "/registro" in refused and "Nuevo caso Sello" not in refused
    assert "No hay nada que cancelar" in await chat.say("/cancelar")
    await set_role(chat, "municipal", comuna="13110")
    replies = await press(chat, f"kb:{topic.id}")
    assert "cmd:caso" in payloads(replies)
    started = await press(chat, "cmd:caso")
    assert "Nuevo caso Sello" in started[0].text  # the case flow began, as with /caso
    assert "Listo" in await chat.say("/cancelar")


async def test_next_step_buttons_for_everyone_and_unknown_ones(chat: Chat):
    topic = next(
        t for t in chat.app.engine.services.kb.topics.values() if "/suscribir" in t.actions
    )
    replies = await press(chat, f"kb:{topic.id}")
    assert "cmd:suscribir" in payloads(replies)
    for forged in ("cmd:", "cmd:volar", "cmd:CASO", "cmd:caso extra"):
        assert "ya no está disponible" in (await press(chat, forged))[0].text


async def test_help_topic_lists_the_commands_of_the_role(chat: Chat):
    out = await answer(chat, "que cosas sabes hacer tu?", topic="bot.ayuda")
    assert "/idioma" in out and "/caso" not in out and "/casos" not in out
    await set_role(chat, "municipal", comuna="13110")
    out = await answer(chat, "que cosas sabes hacer tu?", topic="bot.ayuda")
    assert "/caso" in out and "/encargado" in out and "/boletin" not in out
