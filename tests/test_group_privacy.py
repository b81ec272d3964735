"""A group never receives private notifications: case notices, relays and bulletins go to a
person's private chat only; a group mention never changes where they are reached, and someone
who has only written in groups gets their notices once they open a private chat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, text, update

from storage import bulletins, subscriptions, users
from storage.db import create_engine, session_factory
from storage.migrate import alembic_config, upgrade
from storage.models import Outbox, User
from storage.subscriptions import Audience
from tests.conftest import bot_settings
from tests.test_cases import (
    CONTACT_FLORIDA,
    OFFICER_05,
    OFFICER_13,
    _button,
    _open_case,
    _seed,
    _state,
)

GROUP = -1001234567
GROUP_OFFICER = 7020  # a region-13 officer who has only ever written in the group
BOT = "@SelloTestBot"
PRIVATE_NOTE = "Escríbeme en privado"


@pytest.fixture
async def world(telegram, run_bot, database_url):
    """Two officers (regions 13 and 05) and two municipal contacts, all with private chats."""
    await _seed(database_url)
    return await run_bot(bot_settings(database_url, telegram))


async def _in_group(telegram, user: int, text: str) -> list:
    """Mention the bot in the group; return the group's messages sent in answer."""
    before = len(telegram.to(GROUP))
    telegram.message(user, f"{BOT} {text}", chat_id=GROUP, chat_type="supergroup")
    await telegram.wait_sent(GROUP, before + 1)
    await telegram.settle()
    return telegram.to(GROUP)[before:]


async def _execute(url: str, statement) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s, s.begin():
            await s.execute(statement)
    finally:
        await engine.dispose()


async def test_group_mentions_never_redirect_a_case_life_cycle(world, telegram, database_url):
    # Both sides of the case talk to the bot in a shared group first.
    for user in (CONTACT_FLORIDA, OFFICER_13):
        answer = await _in_group(telegram, user, "como saco el carnet?")
        assert len(answer) == 1 and PRIVATE_NOTE not in answer[0].text  # reachable: no note
    group_before = len(telegram.to(GROUP))

    sent = await _open_case(telegram, CONTACT_FLORIDA, "Familia sin atención en el CESFAM")
    note = (await telegram.wait_sent(OFFICER_13, 1))[0]
    assert "La Florida" in note.text
    telegram.press(OFFICER_13, _button([note], "ofc:take:"))
    assert "revisando" in (await telegram.wait_sent(CONTACT_FLORIDA, len(sent) + 1))[-1].text
    case_id = _button([note], "ofc:take:").rsplit(":", 1)[1]
    telegram.press(OFFICER_13, f"ofc:reply:{case_id}")
    await telegram.wait_sent(OFFICER_13, 3)
    telegram.message(OFFICER_13, "Coordinamos con el CESFAM; los atenderán el lunes.")
    answer = (await telegram.wait_sent(CONTACT_FLORIDA, len(sent) + 2))[-1]
    assert "los atenderán el lunes" in answer.text
    await telegram.settle()

    assert len(telegram.to(GROUP)) == group_before  # nothing of the case reached the group
    assert all("CESFAM" not in s.text and "SM-" not in s.text for s in telegram.to(GROUP))
    people = await _state(database_url, User, User.external_id.in_(("7001", "7002")))
    assert {u.external_id: u.chat_id for u in people} == {"7001": "7001", "7002": "7002"}
    rows = await _state(database_url, Outbox)
    assert rows and {r.chat_id for r in rows} <= {"7001", "7002"}
    assert {r.status for r in rows} == {"sent"}


async def test_someone_who_only_wrote_in_a_group_gets_notices_once_they_write_privately(
    world, telegram, database_url
):
    # First contact in the group: the answer there says to write in private.
    answer = await _in_group(telegram, GROUP_OFFICER, "hola")
    assert PRIVATE_NOTE in answer[-1].text
    await _execute(
        database_url,
        update(User)
        .where(User.external_id == str(GROUP_OFFICER))
        .values(role="officer", region_code="13"),
    )

    sent = await _open_case(telegram, CONTACT_FLORIDA, "Niña sin matrícula en el liceo")
    await telegram.wait_sent(OFFICER_13, 1)  # the officer with a private chat is told at once
    await telegram.settle()
    [waiting] = await _state(
        database_url, Outbox, Outbox.user_id.in_(select(User.id).where(User.external_id == "7020"))
    )
    assert waiting.status == "held" and waiting.chat_id == ""
    assert "liceo" in waiting.text

    # Writing in the group again still sends nothing private there.
    again = await _in_group(telegram, GROUP_OFFICER, "como saco el carnet?")
    assert PRIVATE_NOTE in again[-1].text
    assert all("liceo" not in s.text and "SM-" not in s.text for s in telegram.to(GROUP))
    assert not telegram.to(GROUP_OFFICER)

    # The first private message opens the way: the waiting notice goes to the private chat.
    telegram.message(GROUP_OFFICER, "/start")
    notice = await telegram.wait_text(GROUP_OFFICER, "liceo")
    assert "La Florida" in notice.text and notice.chat_id == GROUP_OFFICER
    # The platform has the notice; the dispatcher records "sent" just after: wait for it.
    for _ in range(200):
        [done] = await _state(database_url, Outbox, Outbox.id == waiting.id)
        if done.status != "sending":
            break
        await asyncio.sleep(0.02)
    assert done.status == "sent" and done.chat_id == str(GROUP_OFFICER)
    assert all("liceo" not in s.text for s in telegram.to(GROUP))
    [person] = await _state(database_url, User, User.external_id == str(GROUP_OFFICER))
    assert person.chat_id == str(GROUP_OFFICER)
    assert len(sent) >= 1 and not telegram.to(OFFICER_05)


async def test_a_bulletin_waits_for_a_subscriber_without_a_private_chat(
    world, telegram, database_url
):
    await _in_group(telegram, GROUP_OFFICER, "hola")
    text = "Feria de servicios migrantes el sábado en la plaza."
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as s, s.begin():
            person = await users.get(s, "telegram", str(GROUP_OFFICER))
            assert person is not None
            await subscriptions.subscribe(s, person, datetime.now(UTC))
            made = await bulletins.create(
                s, parts=[text], text=text, audience=Audience(), author_id=None,
                now=datetime.now(UTC),
            )  # fmt: skip
        async with session_factory(engine)() as s:
            assert (await bulletins.counts(s, made.id))["pending"] == 1
    finally:
        await engine.dispose()
    await telegram.settle()
    assert all("Feria" not in s.text for s in telegram.to(GROUP))
    assert not telegram.to(GROUP_OFFICER)
    telegram.message(GROUP_OFFICER, "/start")
    notice = await telegram.wait_text(GROUP_OFFICER, "Feria de servicios")
    assert notice.chat_id == GROUP_OFFICER


def _before(connection: Connection, revision: str) -> None:
    """Bring the schema back to just before `revision`."""
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    parent = ScriptDirectory.from_config(cfg).get_revision(revision).down_revision
    command.upgrade(cfg, str(parent))  # a fresh database
    command.downgrade(cfg, str(parent))  # one already at head (PostgreSQL's template)


async def test_the_upgrade_takes_back_group_chats_stored_before_the_fix(database_url):
    """Data stored before the fix: a user whose chat_id was overwritten by a group's, and an
    undelivered notice addressed to that group. After the upgrade both wait for a private chat;
    everyone else is untouched."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_before, "0011")
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            for key, chat, channel in (
                ("7101", str(GROUP), "telegram"),  # overwritten by a group mention
                ("7102", "7102", "telegram"),  # private chat: untouched
                ("56900000001", "56900000001", "whatsapp"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO users (channel, external_id, chat_id, role, created_at, "
                        "last_seen_at) VALUES (:c, :k, :chat, 'migrant', :now, :now)"
                    ),
                    {"c": channel, "k": key, "chat": chat, "now": now},
                )
            ids = dict((await conn.execute(text("SELECT external_id, id FROM users"))).all())
            for user, chat, status in (
                ("7101", str(GROUP), "pending"),
                ("7101", str(GROUP), "sent"),  # history stays as it was
                ("7102", "7102", "pending"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO outbox (user_id, channel, chat_id, lane, text, status, "
                        "attempts, next_attempt_at, created_at) VALUES (:u, 'telegram', :chat, "
                        "'notify', 'Caso SM-2026-00001', :st, 0, :now, :now)"
                    ),
                    {"u": ids[user], "chat": chat, "st": status, "now": now},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            chats = dict((await conn.execute(text("SELECT external_id, chat_id FROM users"))).all())
            rows = (
                await conn.execute(text("SELECT user_id, chat_id, status FROM outbox ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    assert version  # at head again
    assert chats == {"7101": "", "7102": "7102", "56900000001": "56900000001"}
    assert [tuple(r) for r in rows] == [
        (ids["7101"], "", "held"),
        (ids["7101"], str(GROUP), "sent"),
        (ids["7102"], "7102", "pending"),
    ]


async def test_personal_commands_in_a_group_are_sent_to_the_private_chat(world, telegram):
    """/misdatos typed in a group would post the person's export to everyone: in a group only
    questions, the menu, the language and the statistics are answered; the rest is refused
    with a pointer to the private chat, and no flow starts there."""
    for typed in ("/misdatos", "/caso", "/encargado", "/suscribir", "/borrar"):
        answer = await _in_group(telegram, CONTACT_FLORIDA, typed)
        assert len(answer) == 1 and "en privado" in answer[0].text, (typed, answer)
    assert not [m for m in telegram.to(GROUP) if m.method == "sendDocument"]
    # A question is still answered in the group.
    answer = await _in_group(telegram, CONTACT_FLORIDA, "como saco el carnet?")
    assert answer and "en privado" not in answer[0].text
