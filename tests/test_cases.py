"""Municipal contacts, Sello cases and the regional officer, end to end on Telegram."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from storage import codes, officers, users
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Case, CaseEvent, EnrollmentCode, User
from tests.conftest import bot_settings

OFFICER_13, CONTACT_FLORIDA, CONTACT_VALPO, OFFICER_05, MIGRANT = 7001, 7002, 7003, 7004, 7005
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def _seed(url: str) -> dict[str, str]:
    engine = create_engine(url)
    await upgrade(engine)
    made: dict[str, str] = {}
    async with session_factory(engine)() as s, s.begin():
        for tg, region, name in (
            (OFFICER_13, "13", "Ana Ficticia"),
            (OFFICER_05, "05", "Luis Inventado"),
        ):
            await officers.add(
                s,
                region_code=region,
                name=name,
                telegram_id=str(tg),
                email=f"{tg}@example.org",
                phone="+56 2 0000 0000",
                now=NOW,
            )
            user = await users.get_or_create(s, "telegram", str(tg), str(tg), NOW)
            user.role, user.region_code = "officer", region
        for tg, cut, region in ((CONTACT_FLORIDA, "13110", "13"), (CONTACT_VALPO, "05101", "05")):
            user = await users.get_or_create(s, "telegram", str(tg), str(tg), NOW)
            user.role, user.comuna_cut, user.region_code = "municipal", cut, region
        fresh = await codes.issue(s, "13110", datetime.now(UTC))
        used = await codes.issue(s, "13110", datetime.now(UTC))
        used.used_at = datetime.now(UTC)
        expired = await codes.issue(s, "13110", datetime.now(UTC) - timedelta(days=8))
        made = {"fresh": fresh.code, "used": used.code, "expired": expired.code}
    await engine.dispose()
    return made


@pytest.fixture
async def world(telegram, run_bot, database_url):
    made = await _seed(database_url)
    bot = await run_bot(bot_settings(database_url, telegram))
    return made, bot


async def _state(url: str, model, *where):
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            return (await s.execute(select(model).where(*where))).scalars().all()
    finally:
        await engine.dispose()


async def test_enrollment_fresh_used_expired_unknown_then_rate_limited(
    world, telegram, database_url
):
    made, _ = world
    for i, code in enumerate((made["used"], made["expired"], "NOSUCH99")):
        telegram.message(MIGRANT, f"/registro {code}")
        sent = await telegram.wait_sent(MIGRANT, i + 1)
    texts = [s.text for s in sent]
    assert "ya fue usado" in texts[0] and "venció" in texts[1] and "no existe" in texts[2]
    telegram.message(MIGRANT, "/registro")
    assert "por ejemplo" in (await telegram.wait_sent(MIGRANT, 4))[-1].text
    telegram.message(MIGRANT, f"/registro {made['fresh'].lower()}")
    done = (await telegram.wait_sent(MIGRANT, 5))[-1].text
    assert "La Florida" in done
    [user] = await _state(database_url, User, User.external_id == str(MIGRANT))
    assert (user.role, user.comuna_cut, user.region_code) == ("municipal", "13110", "13")
    [code] = await _state(database_url, EnrollmentCode, EnrollmentCode.code == made["fresh"])
    assert code.used_by == user.id
    # Someone guessing codes is stopped after 5 wrong tries in 15 minutes.
    guesser = MIGRANT + 50
    for i in range(6):
        telegram.message(guesser, f"/registro WRONG{i:03d}")
    sent = await telegram.wait_sent(guesser, 6)
    assert "Demasiados intentos" in sent[-1].text


async def test_officer_issues_codes_only_for_own_region(world, telegram, database_url):
    telegram.message(OFFICER_13, "/codigo 13110")
    telegram.message(OFFICER_05, "/codigo 13110")
    telegram.message(MIGRANT, "/codigo 13110")
    telegram.message(OFFICER_13, "/codigo")
    ok = await telegram.wait_sent(OFFICER_13, 2)
    assert "La Florida" in ok[0].text and "/registro" in ok[0].text
    assert "por ejemplo" in ok[1].text
    assert "tu región" in (await telegram.wait_sent(OFFICER_05, 1))[0].text
    assert "no está disponible" in (await telegram.wait_sent(MIGRANT, 1))[0].text
    code = ok[0].text.split("/registro ")[-1].strip()
    telegram.message(MIGRANT, f"/registro {code}")
    assert "La Florida" in (await telegram.wait_sent(MIGRANT, 2))[-1].text


def _button(sent, prefix: str) -> str:
    for message in reversed(sent):
        for b in message.buttons:
            if b["callback_data"].startswith(prefix):
                return b["callback_data"]
    raise AssertionError(f"no button {prefix!r} in {[m.text[:40] for m in sent]}")


async def _open_case(telegram, user: int, description: str, urgency: str = "urgente") -> list:
    n = len(telegram.to(user))
    telegram.message(user, "/caso")
    await telegram.wait_sent(user, n + 1)
    telegram.press(user, "case:cat:salud")
    await telegram.wait_sent(user, n + 2)
    telegram.message(user, description)
    await telegram.wait_text(user, "¿Es urgente?")
    n = len(telegram.to(user))
    telegram.press(user, f"case:urg:{urgency}")
    await telegram.wait_sent(user, n + 1)
    telegram.press(user, "case:ok:yes")
    await telegram.wait_text(user, " abierto.")
    return telegram.to(user)


async def test_full_case_life_cycle_with_both_sides_notified(world, telegram, database_url):
    sent = await _open_case(
        telegram,
        CONTACT_FLORIDA,
        "Familia sin atención en el CESFAM; la madre tiene RUT 12.345.678-5 y pasaporte AB1234567",
    )
    assert any("Oculté 2 números" in s.text for s in sent)
    opened = sent[-1].text
    year = datetime.now(UTC).year
    assert f"SM-{year}-00001" in opened
    [case] = await _state(database_url, Case)
    assert "12.345.678" not in case.description and "AB1234567" not in case.description
    assert case.status == "abierto" and case.urgency == "urgente"

    # The region's officer is told at once, with action buttons; the other region's is not.
    note = (await telegram.wait_sent(OFFICER_13, 1))[0]
    assert f"SM-{year}-00001" in note.text and "La Florida" in note.text
    assert not telegram.to(OFFICER_05)
    telegram.press(OFFICER_13, _button([note], "ofc:take:"))
    await telegram.wait_sent(OFFICER_13, 2)
    assert "revisando" in (await telegram.wait_sent(CONTACT_FLORIDA, len(sent) + 1))[-1].text

    telegram.press(OFFICER_13, f"ofc:reply:{case.id}")
    await telegram.wait_sent(OFFICER_13, 3)
    telegram.message(OFFICER_13, "Coordinamos con el CESFAM; los atenderán el lunes.")
    await telegram.wait_sent(OFFICER_13, 4)
    answer = (await telegram.wait_sent(CONTACT_FLORIDA, len(sent) + 2))[-1]
    assert "los atenderán el lunes" in answer.text

    # The contact reads the history and adds a message; the assigned officer is told.
    n = len(telegram.to(CONTACT_FLORIDA))
    telegram.message(CONTACT_FLORIDA, "/miscasos")
    listing = (await telegram.wait_sent(CONTACT_FLORIDA, n + 1))[-1]
    telegram.press(CONTACT_FLORIDA, _button([listing], "case:view:"))
    history = (await telegram.wait_sent(CONTACT_FLORIDA, n + 2))[-1]
    assert "abrió el caso" in history.text and "los atenderán el lunes" in history.text
    telegram.press(CONTACT_FLORIDA, _button([history], "case:msg:"))
    await telegram.wait_sent(CONTACT_FLORIDA, n + 3)
    telegram.message(CONTACT_FLORIDA, "Gracias, confirmamos la hora.")
    await telegram.wait_sent(CONTACT_FLORIDA, n + 4)
    assert "confirmamos la hora" in (await telegram.wait_sent(OFFICER_13, 5))[-1].text

    # The officer sees counts, closes it; the contact is told; the case is read-only now.
    telegram.message(OFFICER_13, "/casos")
    listing = (await telegram.wait_sent(OFFICER_13, 6))[-1]
    assert "respondido: 1" in listing.text
    telegram.press(OFFICER_13, f"ofc:st:{case.id}:cerrado")
    await telegram.wait_sent(OFFICER_13, 7)
    assert "cerrado" in (await telegram.wait_sent(CONTACT_FLORIDA, n + 5))[-1].text
    telegram.press(OFFICER_13, f"ofc:take:{case.id}")  # a stale button
    assert "ya está cerrado" in (await telegram.wait_sent(OFFICER_13, 8))[-1].text

    events = await _state(database_url, CaseEvent, CaseEvent.case_id == case.id)
    kinds = [(e.kind, e.actor_role, e.status_to) for e in events]
    assert kinds == [
        ("opened", "municipal", "abierto"),
        ("taken", "officer", "en_revision"),
        ("message", "officer", None),
        ("status", "officer", "respondido"),
        ("message", "municipal", None),
        ("status", "officer", "cerrado"),
    ]
    assert all(e.at is not None and e.actor_id is not None for e in events)


async def test_nobody_acts_beyond_their_role_by_typing_pressing_or_replaying(
    world, telegram, database_url
):
    await _open_case(telegram, CONTACT_FLORIDA, "Caso de prueba sobre matrícula escolar")
    [case] = await _state(database_url, Case)
    # A migrant cannot open or read cases, nor use officer buttons.
    telegram.message(MIGRANT, "/caso")
    telegram.message(MIGRANT, "/miscasos")
    telegram.press(MIGRANT, f"case:view:{case.id}")
    telegram.press(MIGRANT, f"ofc:take:{case.id}")
    telegram.message(MIGRANT, "/casos")
    refusals = await telegram.wait_sent(MIGRANT, 5)
    assert all(
        "no está disponible" in r.text
        or "Solo los contactos" in r.text
        or "Los casos Sello los abre el contacto municipal" in r.text  # /caso: who and how
        for r in refusals
    )
    assert not any("Nuevo caso Sello" in r.text for r in refusals)
    # Another comuna's contact cannot read it; another region's officer cannot act on it.
    telegram.press(CONTACT_VALPO, f"case:view:{case.id}")
    telegram.press(CONTACT_VALPO, f"ofc:st:{case.id}:cerrado")
    telegram.press(OFFICER_05, f"ofc:take:{case.id}")  # a replayed/forwarded button
    telegram.press(OFFICER_05, f"ofc:view:{case.id}")
    assert "No encuentro" in (await telegram.wait_sent(CONTACT_VALPO, 2))[0].text
    assert all("No encuentro" in r.text for r in await telegram.wait_sent(OFFICER_05, 2))
    telegram.press(OFFICER_13, "ofc:take:abc")  # malformed payload
    assert "No encuentro" in (await telegram.wait_sent(OFFICER_13, 2))[-1].text
    [again] = await _state(database_url, Case)
    assert again.status == "abierto" and again.assigned_to is None


async def test_restart_in_the_middle_of_caso(telegram, run_bot, database_url):
    await _seed(database_url)
    first = await run_bot(bot_settings(database_url, telegram))
    telegram.message(CONTACT_FLORIDA, "/caso")
    await telegram.wait_sent(CONTACT_FLORIDA, 1)
    telegram.press(CONTACT_FLORIDA, "case:cat:vivienda")
    await telegram.wait_sent(CONTACT_FLORIDA, 2)
    await first.stop()
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(CONTACT_FLORIDA, "Familia en campamento necesita orientación")
    await telegram.wait_sent(CONTACT_FLORIDA, 3)
    telegram.message(CONTACT_FLORIDA, "esto no es un botón")
    assert "botones" in (await telegram.wait_sent(CONTACT_FLORIDA, 4))[-1].text
    telegram.press(CONTACT_FLORIDA, "case:urg:normal")
    await telegram.wait_sent(CONTACT_FLORIDA, 5)
    telegram.press(CONTACT_FLORIDA, "case:ok:yes")
    assert "abierto" in (await telegram.wait_sent(CONTACT_FLORIDA, 6))[-1].text
    [case] = await _state(database_url, Case)
    assert case.category == "vivienda" and "campamento" in case.description


async def test_cancel_and_bad_input_in_caso(world, telegram, database_url):
    telegram.message(CONTACT_FLORIDA, "/caso")
    await telegram.wait_sent(CONTACT_FLORIDA, 1)
    telegram.press(CONTACT_FLORIDA, "case:cat:nope")  # an unknown category
    await telegram.wait_sent(CONTACT_FLORIDA, 2)
    telegram.press(CONTACT_FLORIDA, "case:cat:salud")
    await telegram.wait_sent(CONTACT_FLORIDA, 3)
    telegram.message(CONTACT_FLORIDA, "x" * 2100)
    assert "máximo" in (await telegram.wait_sent(CONTACT_FLORIDA, 4))[-1].text
    telegram.message(CONTACT_FLORIDA, "/cancelar")
    await telegram.wait_sent(CONTACT_FLORIDA, 5)
    telegram.press(CONTACT_FLORIDA, "case:ok:yes")  # a stale confirmation
    assert "ya terminó" in (await telegram.wait_sent(CONTACT_FLORIDA, 6))[-1].text
    assert await _state(database_url, Case) == []


async def test_relay_both_ways_with_buttons_and_reply_to(world, telegram, database_url):
    telegram.message(CONTACT_FLORIDA, "/encargado")
    card = (await telegram.wait_sent(CONTACT_FLORIDA, 1))[0]
    assert "Ana Ficticia" in card.text and "7001@example.org" in card.text
    telegram.press(CONTACT_FLORIDA, "relay:open")
    mode = (await telegram.wait_sent(CONTACT_FLORIDA, 2))[-1]
    assert "Modo mensaje" in mode.text
    telegram.message(CONTACT_FLORIDA, "¿Cuándo es la próxima capacitación?")
    assert "Enviado" in (await telegram.wait_sent(CONTACT_FLORIDA, 3))[-1].text
    relayed = (await telegram.wait_sent(OFFICER_13, 1))[0]
    assert "próxima capacitación" in relayed.text and "La Florida" in relayed.text
    # In relay mode a question is relayed, not answered by the knowledge base.
    telegram.message(CONTACT_FLORIDA, "como saco el carnet")
    await telegram.wait_sent(CONTACT_FLORIDA, 4)
    assert "carnet" in (await telegram.wait_sent(OFFICER_13, 2))[-1].text
    # The officer answers by replying to the relayed message (Telegram's reply-to).
    message_id = None
    for _ in range(50):
        rows = await _state(database_url, __import__("storage.models").models.Outbox)
        message_id = next(
            (r.sent_message_id for r in rows if r.chat_id == str(OFFICER_13) and r.sent_message_id),
            None,
        )
        if message_id:
            break
    assert message_id
    telegram.message(
        OFFICER_13,
        "El martes 10, en la Dirección Regional.",
        reply_to_message={
            "message_id": int(message_id),
            "date": 0,
            "chat": {"id": OFFICER_13, "type": "private"},
            "from": {
                "id": 999000,
                "is_bot": True,
                "first_name": "Sello",
                "username": "SelloTestBot",
            },
            "text": relayed.text,
        },
    )
    assert "enviada" in (await telegram.wait_sent(OFFICER_13, 3))[-1].text
    back = (await telegram.wait_sent(CONTACT_FLORIDA, 5))[-1]
    assert "El martes 10" in back.text
    # ...or with the button; and the contact leaves relay mode, back to questions.
    telegram.press(OFFICER_13, _button([relayed], "relay:reply:"))
    await telegram.wait_sent(OFFICER_13, 4)
    telegram.message(OFFICER_13, "Confirmado.")
    assert "Confirmado" in (await telegram.wait_sent(CONTACT_FLORIDA, 6))[-1].text
    telegram.press(CONTACT_FLORIDA, "relay:close")
    assert "salimos" in (await telegram.wait_sent(CONTACT_FLORIDA, 7))[-1].text
    # Officers of other regions cannot answer it, migrants cannot open a relay.
    telegram.press(OFFICER_05, _button([relayed], "relay:reply:"))
    assert "no es de tu región" in (await telegram.wait_sent(OFFICER_05, 1))[0].text
    telegram.message(MIGRANT, "/encargado")  # no relay: who may write, and how to enroll
    refused = (await telegram.wait_sent(MIGRANT, 1))[0].text
    assert "contacto municipal" in refused and "/registro" in refused


async def test_cases_csv_export(world, telegram, database_url, tmp_path, monkeypatch, capsys):
    await _open_case(telegram, CONTACT_FLORIDA, "RUT 9.876.543-2 sin atención", urgency="normal")
    await _open_case(telegram, CONTACT_VALPO, "Consulta sobre vivienda", urgency="normal")
    monkeypatch.setenv("SELLO_DATABASE_URL", database_url)
    out = tmp_path / "cases.csv"
    assert (
        await asyncio.to_thread(main, ["cases", "export", "--region", "13", "--csv", str(out)]) == 0
    )
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["comuna"] for r in rows] == ["La Florida"]
    assert "9.876.543" not in rows[0]["description"] and "[dato oculto]" in rows[0]["description"]
    assert await asyncio.to_thread(main, ["cases", "export", "--csv", str(out)]) == 0
    assert len(list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))) == 2
    assert await asyncio.to_thread(main, ["code", "new", "--comuna", "13110"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed[-1]) == 8 and printed[-1].isalnum()


async def test_a_case_quoting_a_crisis_is_opened_not_answered_with_the_crisis_line(
    world, telegram, database_url
):
    """A municipal contact's case is passed whole to the regional officer, who acts on it: the
    crisis guard (fourteenth session) must not take it for the contact's own crisis."""
    description = "Joven haitiano en el albergue repite 'mwen vle mouri' y 'ya no quiero vivir'"
    sent = await _open_case(telegram, CONTACT_FLORIDA, description)
    assert not any("*4141" in s.text for s in sent)
    [case] = await _state(database_url, Case)
    assert case.description == description
