"""Privacy (Ley 19.628, Ley 21.719): what is stored, a copy of it, its erasure, log purging."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.app
import intents.engine
from intents.engine import Engine
from intents.flows import privacy as privacy_flow
from intents.i18n import texts
from intents.messages import Incoming, Reply
from storage import attempts, cases, codes, feedback, outbox, privacy, relays, subscriptions, users
from storage.models import (
    AnswerFeedback,
    Attempt,
    Case,
    CaseEvent,
    EnrollmentCode,
    HandledUpdate,
    Outbox,
    RelayMessage,
    Subscription,
    UnansweredQuestion,
    User,
)
from tests.conftest import Chat, bot_settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ME, OTHER, OFFICER = "1", "2", "3"


def _flows() -> tuple[Any, ...]:
    """The engine's flows with privacy before the knowledge-base fallback (once registered
    in intents.engine, the same tuple)."""
    flows = intents.engine.FLOWS
    if any(flow.name == "privacy" for flow in flows):
        return flows
    return (*flows[:-1], privacy_flow.FLOW, flows[-1])


def privacy_engine(app: Any, clock: Callable[[], datetime] | None = None) -> Engine:
    if clock is None:
        return Engine(app.sessions, app.engine.services, flows=_flows())
    return Engine(app.sessions, app.engine.services, flows=_flows(), clock=clock)


@pytest.fixture
def chat(app: Any) -> Chat:
    app.engine = privacy_engine(app)
    return Chat(app)


async def _ask(engine: Engine, user: str, *, text: str | None = None, payload: str | None = None):
    return await engine.handle(Incoming("console", user, user, text=text, payload=payload))


async def _seed(app: Any) -> dict[str, Any]:
    """Me: a municipal contact of La Florida with a subscription, a case, relay messages, a
    used code, attempts and a pending notification. Other: a contact with their own case.
    An officer of region 13 who took my case and answered my relay."""
    async with app.sessions() as s, s.begin():
        me = await users.get_or_create(s, "console", ME, ME, NOW)
        me.role, me.comuna_cut, me.region_code, me.language = "municipal", "13110", "13", "es"
        other = await users.get_or_create(s, "console", OTHER, OTHER, NOW)
        other.role, other.comuna_cut, other.region_code = "municipal", "05101", "05"
        officer = await users.get_or_create(s, "console", OFFICER, OFFICER, NOW)
        officer.role, officer.region_code = "officer", "13"
        await s.flush()
        await subscriptions.subscribe(s, me, NOW, "13110", "13")
        await subscriptions.subscribe(s, other, NOW)
        mine = await cases.open_case(
            s,
            comuna_cut="13110",
            region_code="13",
            category="educacion",
            description="Niña sin matrícula escolar en La Florida",
            urgency="normal",
            opened_by=me,
            now=NOW,
        )
        cases.add_event(s, mine, "message", me, NOW, body="Agrego que es urgente para marzo")
        cases.add_event(s, mine, "taken", officer, NOW, status_from="abierto")
        mine.assigned_to = officer.id
        theirs = await cases.open_case(
            s,
            comuna_cut="05101",
            region_code="05",
            category="salud",
            description="Caso ajeno de Valparaíso",
            urgency="urgente",
            opened_by=other,
            now=NOW,
        )
        await relays.add(
            s,
            contact=me,
            officer=None,
            region_code="13",
            direction="to_officer",
            body="Consulta mía para la encargada",
            now=NOW,
        )
        answer = await relays.add(
            s,
            contact=me,
            officer=officer,
            region_code="13",
            direction="to_contact",
            body="Respuesta de la encargada",
            now=NOW,
        )
        await relays.add(
            s,
            contact=other,
            officer=None,
            region_code="05",
            direction="to_officer",
            body="Mensaje ajeno",
            now=NOW,
        )
        code = await codes.issue(s, "13110", NOW, created_by=officer.id)
        code.used_by, code.used_at = me.id, NOW
        await attempts.record(s, me.id, "enroll", NOW)
        await attempts.record(s, me.id, "relay", NOW)
        await attempts.record(s, other.id, "relay", NOW)
        outbox.enqueue(s, me, "Tu caso fue tomado", NOW)
        outbox.enqueue(s, officer, "Nuevo caso", NOW)
        await s.flush()
        return {
            "me": me.id,
            "other": other.id,
            "officer": officer.id,
            "mine": mine.id,
            "my_number": mine.number,
            "their_number": theirs.number,
            "answer": answer.id,
            "code": code.code,
        }


async def _count(app: Any, model: Any, *where: Any) -> int:
    async with app.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# -- /privacidad -----------------------------------------------------------------------------


async def test_privacidad_says_what_why_how_long_who_and_the_rights(chat: Chat):
    out = await chat.say("/privacidad")
    for needle in ("Qué guardo", "Para qué", "180 días", "Quién los ve", "Nadie lee"):
        assert needle in out
    assert "Ley 19.628" in out and "Ley 21.719" in out
    assert "/misdatos" in out and "/borrar" in out
    assert await chat.say("privacy") == out  # the English alias, without a slash


@pytest.mark.parametrize(
    ("lang", "kept"),
    [
        ("es", "salvo las de tus últimas respuestas"),
        ("en", "except those of your latest answers"),
        ("fr", "sauf celles de vos dernières réponses"),
        ("ht", "eksepte kesyon dènye repons ou yo"),
    ],
)
async def test_privacidad_tells_the_truth_about_the_questions_kept_for_ratings(app, lang, kept):
    """It said "I don't keep your questions with your name" while the answers one may rate
    (👍 / 👎) keep their masked questions on the user row, as /misdatos shows (a new-user
    trial, tenth session)."""
    chat = Chat(app, user=f"p-{lang}", lang=lang)
    out = await chat.say("/privacidad")
    assert kept in out and "👎" in out


# -- /misdatos -------------------------------------------------------------------------------


async def test_misdatos_shows_the_masks_in_the_readers_language(app):
    """An English export showed "[dato oculto]" in the rateable answer's question (a new-user
    trial, tenth session): masks are stored in Spanish and shown in the reader's language."""
    engine = privacy_engine(app)
    user = "en-export"
    await engine.handle(
        Incoming(
            "console",
            user,
            user,
            text="can I see a doctor without papers? my passport is AB1234567",
            language_hint="en",
        )
    )
    [reply] = await _ask(engine, user, text="/misdatos")
    assert reply.attachment is not None
    content = reply.attachment.content.decode("utf-8")
    assert texts("en")._("[dato oculto]") in content and "[dato oculto]" not in content
    assert "AB1234567" not in content
    json.loads(content)  # still valid JSON


async def test_misdatos_is_a_json_file_of_my_data_and_nobody_elses(app):
    seeded = await _seed(app)
    engine = privacy_engine(app)
    replies: list[Reply] = await _ask(engine, ME, text="/misdatos")
    assert len(replies) == 1 and replies[0].attachment is not None
    file = replies[0].attachment
    assert file.filename == "misdatos.json" and file.mime == "application/json"
    assert "Niña sin matrícula".encode() in file.content  # UTF-8, not \u escapes
    data = json.loads(file.content.decode("utf-8"))

    profile = data["profile"]
    assert profile["id"] == seeded["me"] and profile["external_id"] == ME
    assert (profile["channel"], profile["role"], profile["language"]) == (
        "console",
        "municipal",
        "es",
    )
    assert profile["comuna"] == {"cut": "13110", "name": "La Florida"}
    assert profile["region"]["code"] == "13" and profile["created_at"].startswith("2026-11-28")
    assert data["subscription"]["active"] is True and data["subscription"]["comuna_cut"] == "13110"
    assert [c["number"] for c in data["cases_opened"]] == [seeded["my_number"]]
    assert data["cases_opened"][0]["status"] == "abierto"
    assert data["cases_opened"][0]["description"].startswith("Niña sin matrícula")
    assert [e["kind"] for e in data["case_events"]] == ["opened", "message"]  # not the officer's
    assert {m["body"] for m in data["relay_messages"]} == {
        "Consulta mía para la encargada",
        "Respuesta de la encargada",
    }
    assert data["enrollment_codes_used"][0]["comuna_cut"] == "13110"
    assert sorted(a["kind"] for a in data["rate_limited_attempts"]) == ["enroll", "relay"]
    assert data["pending_outbox_messages"] == 1

    raw = file.content.decode("utf-8")
    for foreign in (seeded["their_number"], "Caso ajeno", "Mensaje ajeno", "Valparaíso"):
        assert foreign not in raw
    # The other side of a conversation is a role, never an id.
    assert all("officer_id" not in m and "contact_id" not in m for m in data["relay_messages"])


async def test_export_of_an_officer_and_of_nobody(app):
    seeded = await _seed(app)
    async with app.sessions() as s:
        data = await privacy.export_user(s, seeded["officer"])
        assert await privacy.export_user(s, 10**9) == {}
    assert data["cases_opened"] == [] and data["subscription"] is None
    assert [e["kind"] for e in data["case_events"]] == ["taken"]
    assert [(m["as"], m["direction"]) for m in data["relay_messages"]] == [
        ("officer", "to_contact")
    ]
    assert data["enrollment_codes_issued"] == 1 and data["pending_outbox_messages"] == 1
    json.dumps(data)  # JSON-ready as it is


# -- /borrar ---------------------------------------------------------------------------------


async def test_borrar_asks_first_and_typing_or_no_erases_nothing(app):
    seeded = await _seed(app)
    engine = privacy_engine(app)
    asked = await _ask(engine, ME, text="/borrar")
    assert "No se puede deshacer" in asked[0].text
    assert "contacto municipal" in asked[0].text  # a municipal contact is told what they lose
    assert [b.payload for b in asked[0].flat_buttons] == ["priv:erase:yes", "priv:erase:no"]

    again = await _ask(engine, ME, text="sí, bórralo todo")
    assert "usa uno de los botones" in again[0].text
    assert [b.payload for b in again[0].flat_buttons] == ["priv:erase:yes", "priv:erase:no"]

    kept = await _ask(engine, ME, payload="priv:erase:no")
    assert "no borré nada" in kept[0].text
    assert await _count(app, User, User.id == seeded["me"]) == 1
    assert await _count(app, Subscription, Subscription.user_id == seeded["me"]) == 1
    # The confirmation is gone: a late "yes" from the same message does nothing.
    late = await _ask(engine, ME, payload="priv:erase:yes")
    assert "no borré nada" in late[0].text
    assert await _count(app, User, User.id == seeded["me"]) == 1

    # /cancelar leaves the confirmation too.
    await _ask(engine, ME, text="/borrar")
    await _ask(engine, ME, text="/cancelar")
    await _ask(engine, ME, payload="priv:erase:yes")
    assert await _count(app, User, User.id == seeded["me"]) == 1


async def test_confirmed_borrar_erases_me_and_keeps_the_case_pseudonymized(app):
    seeded = await _seed(app)
    me = seeded["me"]
    engine = privacy_engine(app)
    await _ask(engine, ME, text="/borrar")
    done = await _ask(engine, ME, payload="priv:erase:yes")
    assert "borré tus datos" in done[0].text and "sin tu nombre" in done[0].text

    assert await _count(app, User, User.id == me) == 0
    assert await _count(app, User, User.external_id == ME) == 0
    assert await _count(app, Subscription, Subscription.user_id == me) == 0
    assert await _count(app, Attempt, Attempt.user_id == me) == 0
    assert await _count(app, Outbox, Outbox.user_id == me) == 0
    assert await _count(app, RelayMessage, RelayMessage.contact_id == me) == 0
    async with app.sessions() as s:
        case = await s.get(Case, seeded["mine"])
        assert case is not None and case.opened_by is None
        assert case.assigned_to == seeded["officer"]
        assert case.description.startswith("Niña sin matrícula")
        events = (
            (await s.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
        )
        assert {(e.kind, e.actor_id) for e in events} == {
            ("opened", None),
            ("message", None),
            ("taken", seeded["officer"]),
        }
        bodies = (await s.execute(select(RelayMessage.body, RelayMessage.contact_id))).all()
        assert ("Consulta mía para la encargada", None) not in bodies
        assert (
            "Respuesta de la encargada",
            None,
        ) in bodies  # the officer's side, addressed to nobody
        code = await s.get(EnrollmentCode, seeded["code"])
        assert code is not None and code.used_by is None and code.used_at is not None
        assert code.created_by == seeded["officer"]
    # Everyone else is untouched.
    for user_id in (seeded["other"], seeded["officer"]):
        assert await _count(app, User, User.id == user_id) == 1
    assert await _count(app, Subscription, Subscription.user_id == seeded["other"]) == 1
    assert await _count(app, Attempt, Attempt.user_id == seeded["other"]) == 1
    assert await _count(app, Outbox, Outbox.user_id == seeded["officer"]) == 1
    assert await _count(app, RelayMessage, RelayMessage.body == "Mensaje ajeno") == 1


async def test_a_replayed_confirmation_button_is_harmless(app):
    seeded = await _seed(app)
    engine = privacy_engine(app)
    # Without ever asking: nothing happens, and the bot says so.
    out = await _ask(engine, OTHER, payload="priv:erase:yes")
    assert "no borré nada" in out[0].text
    assert await _count(app, User, User.id == seeded["other"]) == 1
    assert await _count(app, Subscription, Subscription.user_id == seeded["other"]) == 1

    await _ask(engine, ME, text="/borrar")
    await _ask(engine, ME, payload="priv:erase:yes")
    again = await _ask(engine, ME, payload="priv:erase:yes")  # the same button, pressed again
    assert "no borré nada" in again[0].text
    async with app.sessions() as s:
        fresh = await s.scalar(select(User).where(User.external_id == ME))
        # The engine knows a new sender now: a blank profile, nothing of the erased one.
        assert fresh is not None and fresh.id != seeded["me"]
        assert (fresh.role, fresh.comuna_cut, fresh.flow) == ("migrant", None, None)
        case = await s.get(Case, seeded["mine"])
        assert case is not None and case.opened_by is None
    assert await _count(app, Case) == 2
    junk = await _ask(engine, ME, payload="priv:whatever:yes")
    assert "ya no está disponible" in junk[0].text


async def test_a_confirmation_left_too_long_expires(app):
    seeded = await _seed(app)
    clock = [NOW]
    engine = privacy_engine(app, clock=lambda: clock[0])
    await _ask(engine, ME, text="/borrar")
    clock[0] += timedelta(hours=2)
    out = await _ask(engine, ME, payload="priv:erase:yes")
    assert "no borré nada" in out[0].text
    assert await _count(app, User, User.id == seeded["me"]) == 1


async def test_an_officer_can_erase_themselves_and_the_trail_keeps_the_role(app):
    seeded = await _seed(app)
    engine = privacy_engine(app)
    asked = await _ask(engine, OFFICER, text="/borrar")
    assert "perfil de SERMIG" in asked[0].text
    await _ask(engine, OFFICER, payload="priv:erase:yes")
    async with app.sessions() as s:
        case = await s.get(Case, seeded["mine"])
        assert case is not None and case.assigned_to is None and case.opened_by == seeded["me"]
        taken = await s.scalar(select(CaseEvent).where(CaseEvent.kind == "taken"))
        assert taken is not None and (taken.actor_id, taken.actor_role) == (None, "officer")
        answer = await s.get(RelayMessage, seeded["answer"])
        assert answer is not None and answer.officer_id is None
        assert answer.contact_id == seeded["me"]
        code = await s.get(EnrollmentCode, seeded["code"])
        assert code is not None and code.created_by is None and code.used_by == seeded["me"]


# -- purging old logs --------------------------------------------------------------------------


async def test_purge_logs_deletes_only_old_rows(app):
    seeded = await _seed(app)
    old, new = NOW - timedelta(days=200), NOW - timedelta(days=10)
    cutoff = NOW - timedelta(days=180)
    async with app.sessions() as s, s.begin():
        me = await s.get(User, seeded["me"])
        assert me is not None
        for when, text in ((old, "pregunta vieja"), (new, "pregunta nueva")):
            s.add(
                UnansweredQuestion(
                    text=text,
                    lang="es",
                    channel="console",
                    best_topic=None,
                    score=0.1,
                    asked_at=when,
                )
            )
        s.add(HandledUpdate(channel="telegram", update_key="old", handled_at=old))
        s.add(HandledUpdate(channel="telegram", update_key="new", handled_at=new))
        await attempts.record(s, me.id, "enroll", old)
        for status in ("sent", "failed", "blocked", "cancelled", "pending", "held"):
            row = outbox.enqueue(s, me, f"viejo {status}", old)
            row.status = status
        outbox.enqueue(s, me, "nuevo enviado", new).status = "sent"
        for when, text in ((old, "rating viejo"), (new, "rating nuevo")):
            row = feedback.record(
                s,
                user_id=me.id,
                topic="reg.cedula",
                lang="es",
                channel="telegram",
                helpful=False,
                question=text,
                now=when,
            )
            row.looking_for = f"buscaba {text}"
        # The answers someone may still rate keep their masked questions on the user row: a
        # person not seen for the retention period loses them (they were kept forever).
        me.last_answer = {"recent": [{"topic": "reg.cedula", "question": "pregunta reciente"}]}
        me.last_seen_at = old
    async with app.sessions() as s, s.begin():
        counts = await privacy.purge_logs(s, cutoff)
    assert counts == {
        "unanswered_questions": 1,
        "handled_updates": 1,
        "attempts": 1,
        "outbox": 4,
        "answer_feedback_texts": 1,
        "recent_answers": 1,
    }
    async with app.sessions() as s:
        questions = (await s.execute(select(UnansweredQuestion.text))).scalars().all()
        assert questions == ["pregunta nueva"]
        keys = (await s.execute(select(HandledUpdate.update_key))).scalars().all()
        assert keys == ["new"]
        texts = set((await s.execute(select(Outbox.text))).scalars().all())
    # Undelivered messages are never purged, however old; recent ones stay.
    assert {"viejo pending", "viejo held", "nuevo enviado"} <= texts
    assert not any(t in texts for t in ("viejo sent", "viejo failed", "viejo blocked"))
    assert await _count(app, Attempt, Attempt.user_id == seeded["me"]) == 2  # the recent ones
    assert await _count(app, Case) == 2  # cases are not logs
    # A rating's texts are logs too: the old one loses them, and both ratings stay counted.
    async with app.sessions() as s:
        ratings = (
            await s.execute(
                select(AnswerFeedback.at, AnswerFeedback.question, AnswerFeedback.looking_for)
            )
        ).all()
    by_time = {at: (q, lf) for at, q, lf in ratings if at in (old, new)}
    assert by_time == {old: (None, None), new: ("rating nuevo", "buscaba rating nuevo")}
    async with app.sessions() as s:
        assert (await s.get(User, seeded["me"])).last_answer is None


# -- on Telegram -------------------------------------------------------------------------------


async def test_misdatos_arrives_as_a_document_on_telegram(
    telegram, run_bot, database_url, monkeypatch
):
    monkeypatch.setattr(bot.app, "Engine", partial(Engine, flows=_flows()))
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(4242, "/misdatos")
    sent = await telegram.wait_sent(4242, 1)
    assert sent[0].method == "sendDocument"
    data = json.loads(sent[0].params["document"].decode("utf-8"))
    assert data["profile"]["channel"] == "telegram" and data["profile"]["external_id"] == "4242"
    assert "/borrar" in sent[0].text


# -- a redelivered update ----------------------------------------------------------------------


async def test_a_redelivered_update_keeps_its_file(app):
    """Telegram delivers an update again when its answer was not confirmed: the journaled
    replies come back whole, the data export file included."""
    engine = privacy_engine(app)
    incoming = Incoming(
        "telegram", "4343", "4343", text="/misdatos", update_id="77001", durable=True
    )
    first = await engine.handle(incoming)
    again = await engine.handle(incoming)  # not confirmed as sent: redelivered
    assert first[0].attachment is not None
    assert again == first and again[0].attachment == first[0].attachment
    assert again[0].lang == first[0].lang == "es"


def test_a_journaled_file_over_the_bound_is_left_out_and_its_text_kept():
    from intents.messages import MAX_JOURNALED_ATTACHMENT, Attachment, dump_replies, load_replies

    small = Reply("tus datos", attachment=Attachment("misdatos.json", b'{"a": 1}'))
    huge = Reply("demasiado", attachment=Attachment("x.bin", b"0" * (MAX_JOURNALED_ATTACHMENT + 1)))
    restored = load_replies(json.loads(json.dumps(dump_replies([small, huge]))))
    assert restored[0] == small
    assert restored[1].text == "demasiado" and restored[1].attachment is None
