"""/borrar erases what it promises: after it, a dump of the whole database (every table, every
column) holds none of the person's words or identifiers. Cases keep their audit trail with
the person pseudonymized, as /privacidad says."""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, select, text

from bot.officers import add_officer
from intents.engine import Engine
from intents.masking import mask_personal
from intents.messages import Incoming
from storage import cases, codes, officers, outbox, privacy, subscriptions, users
from storage.models import Base, Bulletin, Case, Officer, UnansweredQuestion, User
from tests.test_privacy import privacy_engine

CONTACT = "700000017"  # the municipal contact's Telegram id (and private chat id)
OFFICER = "700000099"
OFFICER_NAME = "Ana Prueba"
OFFICER_EMAIL = "ana.prueba@example.cl"
OFFICER_PHONE = "+56 9 0000 0099"
RUT = "12.345.678-5"
PHONE = "+56 9 0000 0017"
EMAIL = "carla.prueba@example.cl"
RELAYED = "Mensaje privado xilofono-diecisiete para la encargada"
QUESTION = f"zorblax quimérico de marte, mi rut {RUT}, fono {PHONE}, correo {EMAIL}"
# Kept on purpose: the case and its events stay for SERMIG, without who wrote them.
CASE_TEXT = "Niña sin matrícula escolar en La Florida"
UPDATES = itertools.count(910_000_001)


async def say(engine: Engine, user: str, *, text: str | None = None, payload: str | None = None):
    update = str(next(UPDATES))  # Telegram's update ids are plain counters
    incoming = Incoming(
        "telegram", user, user, text=text, payload=payload, update_id=update, durable=True
    )
    return await engine.handle(incoming)


async def dump(app: Any) -> str:
    """Every row of every table of the live database, as text."""
    reflected = MetaData()
    async with app.db.connect() as conn:
        await conn.run_sync(reflected.reflect)
        # A table added to the models is covered as soon as it exists in the database.
        assert set(Base.metadata.tables) <= set(reflected.tables)
        parts: list[str] = []
        for name in sorted(reflected.tables):
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
            for row in rows:
                parts.append(name + ": " + json.dumps(list(row), default=str, ensure_ascii=False))
    return "\n".join(parts)


async def fill_every_table(app: Any) -> dict[str, Any]:
    """A municipal contact and their officer, with data in every table that can hold it."""
    now = datetime.now(UTC)
    engine = privacy_engine(app)
    async with app.sessions() as s, s.begin():
        directory_entry = await officers.add(
            s,
            region_code="13",
            name=OFFICER_NAME,
            telegram_id=OFFICER,
            email=OFFICER_EMAIL,
            phone=OFFICER_PHONE,
            now=now,
        )
        officer = await users.get_or_create(s, "telegram", OFFICER, OFFICER, now)
        officer.role, officer.region_code = "officer", "13"
        await s.flush()
        code = await codes.issue(s, "13110", now, created_by=officer.id)
    await say(engine, CONTACT, text="/registro ZZZZZZZZ")  # a wrong code: an attempt
    await say(engine, CONTACT, text=f"/registro {code.code}")
    await say(engine, CONTACT, text=QUESTION)  # unanswered
    await say(engine, CONTACT, payload="relay:open")
    await say(engine, CONTACT, text=f"{RELAYED} {PHONE}")
    async with app.sessions() as s, s.begin():
        contact = await users.get(s, "telegram", CONTACT)
        found = await users.get(s, "telegram", OFFICER)
        assert contact is not None and contact.role == "municipal" and found is not None
        officer = found
        await subscriptions.subscribe(s, contact, now, "13110", "13")
        case = await cases.open_case(
            s,
            comuna_cut="13110",
            region_code="13",
            category="educacion",
            description=CASE_TEXT,
            urgency="normal",
            opened_by=contact,
            now=now,
        )
        cases.add_event(s, case, "taken", officer, now, status_from="abierto")
        case.assigned_to = officer.id
        outbox.enqueue(s, officer, f"Nuevo caso {case.number}: {CASE_TEXT}", now)
        bulletin = Bulletin(
            author_id=officer.id,
            text="Boletín de diciembre",
            filters={},
            status="queued",
            total=1,
            created_at=now,
            scheduled_at=now,
        )
        s.add(bulletin)
        await s.flush()
        outbox.enqueue(
            s, contact, "Boletín de diciembre", now, lane="bulletin", bulletin_id=bulletin.id
        )
        relay_id = await s.scalar(text("SELECT max(id) FROM relay_messages"))
    await say(engine, OFFICER, payload=f"relay:reply:{relay_id}")
    await say(engine, OFFICER, text="Respuesta de la encargada: la llamo mañana")
    async with app.sessions() as s:
        assert await s.scalar(select(UnansweredQuestion.id)) is not None
    return {"engine": engine, "case": case.id, "directory_entry": directory_entry.id}


async def erase(engine: Engine, user: str) -> None:
    await say(engine, user, text="/borrar")
    done = await say(engine, user, payload="priv:erase:yes")
    assert "borré tus datos" in done[0].text


def test_unanswered_questions_are_masked_like_cases_and_more():
    masked, hidden = mask_personal(QUESTION)
    assert hidden == 3
    for needle in (RUT, PHONE, EMAIL, "0000 0017"):
        assert needle not in masked
    assert masked.startswith("zorblax quimérico de marte")
    assert mask_personal("tengo 3 hijos de 5 y 8 años y pago 100.000 pesos") == (
        "tengo 3 hijos de 5 y 8 años y pago 100.000 pesos",
        0,
    )


async def test_after_borrar_a_dump_of_the_database_holds_nothing_of_the_contact(app):
    filled = await fill_every_table(app)
    before = await dump(app)
    for needle in (CONTACT, "xilofono-diecisiete", CASE_TEXT):
        assert needle in before  # the fill really put the contact's data everywhere
    await erase(filled["engine"], CONTACT)
    after = await dump(app)
    for needle in (CONTACT, "xilofono-diecisiete", RUT, PHONE, "0000 0017", EMAIL):
        assert needle not in after, needle
    # The question stays for the content team, masked and tied to nobody.
    assert "zorblax quimérico de marte" in after
    # The case stays for SERMIG, with nobody as its author.
    assert CASE_TEXT in after
    async with app.sessions() as s:
        case = await s.get(Case, filled["case"])
        assert case is not None and case.opened_by is None
        assert await users.get(s, "telegram", OFFICER) is not None  # others untouched


async def test_an_officer_s_data_export_has_their_directory_entry(app):
    """/misdatos of an officer includes what SERMIG's directory holds about them."""
    await fill_every_table(app)
    async with app.sessions() as s:
        me = await users.get(s, "telegram", OFFICER)
        assert me is not None
        data = await privacy.export_user(s, me.id)
    [entry] = data["directory_entry"]
    assert (entry["name"], entry["email"], entry["phone"], entry["telegram_id"]) == (
        OFFICER_NAME,
        OFFICER_EMAIL,
        OFFICER_PHONE,
        OFFICER,
    )
    json.dumps(data)


async def test_an_erased_officer_leaves_the_directory_and_can_be_registered_again(app):
    filled = await fill_every_table(app)
    await erase(filled["engine"], OFFICER)
    after = await dump(app)
    for needle in (OFFICER, OFFICER_NAME, OFFICER_EMAIL, OFFICER_PHONE):
        assert needle not in after, needle
    async with app.sessions() as s:
        assert await officers.listing(s, "13") == []
        entry = await s.get(Officer, filled["directory_entry"])
        assert entry is not None and entry.active is False
    args = argparse.Namespace(
        region="13",
        telegram=OFFICER,
        whatsapp=None,
        name=OFFICER_NAME,
        email=OFFICER_EMAIL,
        phone=OFFICER_PHONE,
    )
    assert await add_officer(app, args, datetime.now(UTC)) == 0
    async with app.sessions() as s:
        listed = await officers.listing(s, "13")
        assert [o.telegram_id for o in listed] == [OFFICER]
        again = await s.scalar(select(User).where(User.external_id == OFFICER))
        assert again is not None and again.role == "officer"


# -- every table classified --------------------------------------------------------------------


def test_every_table_says_whether_it_holds_personal_data():
    """A new table fails here until storage/personal.py says what /misdatos and /borrar do
    with it, or why it holds nothing personal."""
    from storage.personal import TABLES

    unclassified = set(Base.metadata.tables) - set(TABLES)
    assert not unclassified, f"classify in storage/personal.py: {sorted(unclassified)}"
    assert not set(TABLES) - set(Base.metadata.tables)  # no stale entries either


async def test_each_personal_table_is_exported_erased_or_purged_as_declared(app):
    """The declarations are checked against what the privacy code really does: a personal
    table with no export, no erasure, no purge and no transient use fails; so does a declared
    key that the export, the erasure or the purge no longer produce."""
    from storage import privacy
    from storage.personal import personal_tables

    filled = await fill_every_table(app)
    async with app.sessions() as s, s.begin():
        contact = await users.get(s, "telegram", CONTACT)
        assert contact is not None
        exported = await privacy.export_user(s, contact.id)
        purged = await privacy.purge_logs(s, datetime.now(UTC) - timedelta(days=3650))
    async with app.sessions() as s, s.begin():
        contact = await users.get(s, "telegram", CONTACT)
        assert contact is not None
        erased = await privacy.erase_user(s, contact.id, datetime.now(UTC))
    del filled
    for name, kind in personal_tables().items():
        assert kind.exported or kind.erased or kind.purged or kind.transient, name
        if kind.exported:
            assert kind.exported in exported, (name, kind.exported)
        for key in kind.erased:
            assert key in erased, (name, key)
        if kind.purged:
            assert kind.purged in purged, (name, kind.purged)


# -- every personal table exported or erased by its own repository ------------------------------


def test_every_personal_table_is_exported_or_erased_by_a_registered_repository():
    """A personal table whose rows the export or the erasure must reach fails here until the
    repository that holds it is registered in storage/personal.py HOLDERS (with its
    `export_for` and `erase_for`); storage/privacy.py runs only what is registered."""
    from storage.personal import HOLDERS, personal_tables

    held: dict[str, object] = {}
    for holder in HOLDERS:
        for table in holder.tables:
            assert table not in held, f"{table} registered twice"
            held[table] = holder.repository
        assert callable(getattr(holder.repository, "export_for", None)), holder
        assert callable(getattr(holder.repository, "erase_for", None)), holder
    personal = personal_tables()
    unheld = sorted(
        name
        for name, kind in personal.items()
        if (kind.exported or kind.erased) and name not in held
    )
    assert not unheld, f"register the repository of {unheld} in storage.personal.HOLDERS"
    assert set(held) <= set(personal), "a registered table is not classified as personal"
    assert held["users"] is HOLDERS[0].repository  # exported first, erased last


async def test_each_repository_exports_and_erases_the_rows_of_its_own_tables(app):
    """The keys each table declares come from the repository registered for it, and the
    export is nothing but what the repositories give."""
    from storage import privacy
    from storage.personal import HOLDERS, TABLES, Personal

    await fill_every_table(app)
    async with app.sessions() as s, s.begin():
        contact = await users.get(s, "telegram", CONTACT)
        assert contact is not None
        exported = await privacy.export_user(s, contact.id)
        given: dict[str, Any] = {}
        for holder in HOLDERS:
            own = await holder.repository.export_for(s, contact)
            for table in holder.tables:
                kind = TABLES[table]
                assert isinstance(kind, Personal)
                if kind.exported:
                    assert kind.exported in own, (table, kind.exported)
            given.update(own)
        assert json.dumps(given, default=str) == json.dumps(exported, default=str)
        for holder in reversed(HOLDERS):
            erased = await holder.repository.erase_for(s, contact, datetime.now(UTC))
            for table in holder.tables:
                kind = TABLES[table]
                assert isinstance(kind, Personal)
                for key in kind.erased:
                    assert key in erased, (table, key)
