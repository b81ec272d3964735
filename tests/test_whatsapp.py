"""WhatsApp end to end: real-shaped Cloud API webhooks in, a fake Graph API out."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.settings import Secret, Settings
from storage import officers, users
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Case, Outbox, Subscription, User
from tests.conftest import bot_settings
from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraph, ids_of, text_of
from tests.test_telegram_webhook import free_port

SECRET = "app-secret"
VERIFY = "verify-me"
PHONE = "56911111111"
_ids = itertools.count(1)


@pytest.fixture
async def graph():
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


def wa_settings(url: str, graph: FakeGraph, telegram=None) -> Settings:
    base = bot_settings(url, telegram) if telegram is not None else Settings(database_url=url)
    return replace(
        base,
        http_host="127.0.0.1",
        http_port=free_port(),
        whatsapp_token=Secret(TOKEN),
        whatsapp_phone_id=PHONE_ID,
        whatsapp_app_secret=Secret(SECRET),
        whatsapp_verify_token=Secret(VERIFY),
        whatsapp_api_url=graph.api_url,
        whatsapp_bulletin_template="boletin_sello",
        whatsapp_reply_template="tienes_respuesta",
    )


def message(frm: str | None, kind: str = "text", user_id: str | None = None, **content) -> dict:
    body = {"id": f"wamid.IN{next(_ids)}", "timestamp": str(int(time.time())), "type": kind}
    if frm:
        body["from"] = frm
    if kind == "text":
        body["text"] = {"body": content["text"]}
    elif kind == "interactive":
        body["interactive"] = content["interactive"]
    else:
        body[kind] = content.get("media", {"id": "media1"})
    if user_id and not frm:
        body["from_user_id"] = user_id
    return body


def envelope(*changes: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "WABA1", "changes": [{"field": "messages", "value": value} for value in changes]}
        ],
    }


def value(messages: list[dict], contacts: list[dict] | None = None, statuses=None) -> dict:
    v = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "56 2 0000 0000", "phone_number_id": PHONE_ID},
        "contacts": contacts
        if contacts is not None
        else [{"profile": {"name": "Prueba"}, "wa_id": m["from"]} for m in messages if "from" in m],
        "messages": messages,
    }
    if statuses:
        v["statuses"] = statuses
    return v


class Hook:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/webhooks/whatsapp"

    async def post(self, body: dict | bytes, signature: str | None = "valid") -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            )
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.url, data=raw, headers=headers) as r,
        ):
            return r.status

    async def say(self, frm: str, text: str) -> int:
        return await self.post(envelope(value([message(frm, text=text)])))

    async def press(self, frm: str, button_id: str, kind: str = "button_reply") -> int:
        interactive = {"type": kind, kind: {"id": button_id, "title": "x"}}
        return await self.post(
            envelope(value([message(frm, "interactive", interactive=interactive)]))
        )


@pytest.fixture
async def wa(graph, run_bot, database_url):
    settings = wa_settings(database_url, graph)
    await run_bot(settings)
    hook = Hook(settings.http_port)
    for _ in range(50):
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{settings.http_port}/healthz") as r,
            ):
                if r.status == 200:
                    break
        except aiohttp.ClientError:
            pass
        import asyncio

        await asyncio.sleep(0.1)
    return hook


async def test_verification_handshake(wa):
    async with aiohttp.ClientSession() as http:
        ok = await http.get(
            wa.url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY,
                "hub.challenge": "1158201444",
            },
        )
        assert ok.status == 200 and await ok.text() == "1158201444"
        bad = await http.get(
            wa.url, params={"hub.mode": "subscribe", "hub.verify_token": "no", "hub.challenge": "1"}
        )
        assert bad.status == 403


async def test_signatures_and_malformed_bodies(wa, graph):
    body = envelope(value([message(PHONE, text="hola")]))
    assert await wa.post(body, signature=None) == 401
    assert await wa.post(body, signature="sha256=" + "0" * 64) == 403
    assert await wa.post(body, signature="md5=abc") == 403
    assert await wa.post(b"{not json") == 400
    assert await wa.post(b"[1, 2]") == 400
    assert await wa.post({"object": "page", "entry": []}) == 400
    assert graph.sent == []  # nothing forged or broken was processed
    assert await wa.post(body) == 200
    await graph.wait(PHONE, 1)


async def test_a_question_gets_an_answer_with_buttons_within_limits(wa, graph):
    await wa.say(PHONE, "me atienden en el consultorio si no tengo papeles?")
    sent = await graph.wait(PHONE, 1)
    assert "FONASA" in text_of(sent[0]) and "revisado" in text_of(sent[0])
    await wa.say(PHONE, "menu")  # commands work as words
    sent = await graph.wait(PHONE, 2)
    assert sent[-1]["interactive"]["type"] == "list"  # 5 options: a list, not buttons
    assert "menu:reg" in ids_of(sent[-1])
    await wa.press(PHONE, "menu:derechos", kind="list_reply")
    sent = await graph.wait(PHONE, 3)
    assert "kb:derechos.salud" in ids_of(sent[-1])
    await wa.say(PHONE, "/idioma")
    sent = await graph.wait(PHONE, 4)
    assert sent[-1]["interactive"]["type"] == "list"
    assert graph.problems == []


async def test_several_entries_changes_and_messages_in_one_call(wa, graph):
    a, b, c = "56922222222", "56933333333", "56944444444"
    body = envelope(
        value([message(a, text="hola"), message(b, text="/ayuda")]),
        value([message(c, text="gracias")]),
    )
    body["entry"].append(
        {
            "id": "WABA2",
            "changes": [{"field": "messages", "value": value([message(a, text="menu")])}],
        }
    )
    assert await wa.post(body) == 200
    await graph.wait(a, 2)  # the greeting with the menu, then the menu again
    await graph.wait(b, 1)
    await graph.wait(c, 1)


async def test_duplicate_delivery_is_handled_once(wa, graph):
    first = message(PHONE, text="/ayuda")
    await wa.post(envelope(value([first])))
    await graph.wait(PHONE, 1)
    await wa.post(envelope(value([first])))  # Meta retries the same wamid
    await wa.say(PHONE, "gracias")
    await graph.wait(PHONE, 2)
    import asyncio

    await asyncio.sleep(0.5)
    assert len(graph.to(PHONE)) == 2


@pytest.mark.parametrize("kind", ["image", "audio", "document", "sticker", "location", "reaction"])
async def test_media_get_a_short_reply(wa, graph, kind):
    await wa.post(envelope(value([message(PHONE, kind)])))
    [reply] = await graph.wait(PHONE, 1)
    assert "texto" in text_of(reply)


async def test_one_word_stop_unsubscribes_a_sentence_does_not(wa, graph, database_url):
    await wa.say(PHONE, "suscribir")
    await graph.wait(PHONE, 1)
    await wa.say(PHONE, "no me digas stop por favor")
    await graph.wait(PHONE, 2)
    assert (await _rows(database_url, Subscription))[0].active
    await wa.say(PHONE, "STOP")
    assert "ya no recibirás" in text_of((await graph.wait(PHONE, 3))[-1])
    assert not (await _rows(database_url, Subscription))[0].active


async def test_business_scoped_user_id_is_the_key(wa, graph, database_url):
    bsuid = "CL.13491208655302741918"
    # Before: known by phone only.
    await wa.say(PHONE, "hola")
    await graph.wait(PHONE, 1)  # the greeting with the menu
    # Now the contact carries the BSUID too: the same user, re-keyed.
    msg = message(PHONE, text="gracias")
    await wa.post(
        envelope(
            value([msg], contacts=[{"profile": {"name": "P"}, "wa_id": PHONE, "user_id": bsuid}])
        )
    )
    await graph.wait(PHONE, 2)
    # Later the user hides the phone: still the same user, answered by BSUID.
    msg = message(None, text="menu", user_id=bsuid)
    await wa.post(envelope(value([msg], contacts=[{"profile": {"name": "P"}, "user_id": bsuid}])))
    await graph.wait(bsuid, 1)
    found = await _rows(database_url, User)
    assert [u.external_id for u in found] == [bsuid]  # one person, one user


async def test_status_updates_are_recorded(wa, graph, database_url):
    await wa.say(PHONE, "suscribir")
    await graph.wait(PHONE, 1)
    async with _session(database_url) as s, s.begin():
        user = (await s.execute(select(User))).scalar_one()
        s.add(
            Outbox(
                user_id=user.id,
                channel="whatsapp",
                chat_id=PHONE,
                lane="bulletin",
                text="x",
                status="sent",
                attempts=1,
                next_attempt_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
                sent_message_id="wamid.OUT99",
            )
        )
    statuses = [
        {
            "id": "wamid.OUT99",
            "status": "read",
            "timestamp": str(int(time.time())),
            "recipient_id": PHONE,
        }
    ]
    assert await wa.post(envelope(value([], contacts=[], statuses=statuses))) == 200
    for _ in range(50):
        [row] = [r for r in await _rows(database_url, Outbox) if r.sent_message_id == "wamid.OUT99"]
        if row.receipt:
            break
        import asyncio

        await asyncio.sleep(0.1)
    assert row.receipt == "read"


async def test_graph_api_errors_are_retried_for_replies(wa, graph):
    graph.fail_next = [
        (429, {"code": 130429, "message": "rate"}),
        (500, {"code": 1, "message": "oops"}),
    ]
    await wa.say(PHONE, "/ayuda")
    await graph.wait(PHONE, 1, timeout=15)


def _session(url: str):
    engine = create_engine(url)
    factory = session_factory(engine)

    class _Ctx:
        async def __aenter__(self):
            self.s = factory()
            return await self.s.__aenter__()

        async def __aexit__(self, *exc):
            await self.s.__aexit__(*exc)
            await engine.dispose()

    return _Ctx()


async def _rows(url: str, model):
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            return (
                (await s.execute(select(model).order_by(*model.__table__.primary_key)))
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()


OFFICER = 7701
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def _seed_cross(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as s, s.begin():
        await officers.add(
            s, region_code="13", name="Ana Ficticia", telegram_id=str(OFFICER), now=NOW
        )
        officer = await users.get_or_create(s, "telegram", str(OFFICER), str(OFFICER), NOW)
        officer.role, officer.region_code = "officer", "13"
        contact = await users.get_or_create(s, "whatsapp", PHONE, PHONE, NOW)
        contact.role, contact.comuna_cut, contact.region_code = "municipal", "13110", "13"
    await engine.dispose()


async def test_case_opened_on_whatsapp_answered_on_telegram(graph, telegram, run_bot, database_url):
    await _seed_cross(database_url)
    settings = wa_settings(database_url, graph, telegram)
    await run_bot(settings)
    hook = Hook(settings.http_port)
    import asyncio

    await asyncio.sleep(0.5)
    await hook.say(PHONE, "caso")
    await graph.wait(PHONE, 1)
    await hook.press(PHONE, "case:cat:educacion", kind="list_reply")
    await graph.wait(PHONE, 2)
    await hook.say(PHONE, "Niños sin matrícula en la escuela del sector")
    await graph.wait(PHONE, 3)
    await hook.press(PHONE, "case:urg:normal")
    await graph.wait(PHONE, 4)
    await hook.press(PHONE, "case:ok:yes")
    opened = await graph.wait(PHONE, 5)
    assert "abierto" in text_of(opened[-1])
    note = await telegram.wait_text(OFFICER, "Nuevo caso Sello")
    case_id = note.buttons[0]["callback_data"].split(":")[-1]
    telegram.press(OFFICER, f"ofc:reply:{case_id}")
    await telegram.wait_text(OFFICER, "Escribe tu respuesta")
    telegram.message(OFFICER, "Hablamos con el DAEM; los matriculan esta semana.")
    sent = await graph.wait(PHONE, 6)
    assert "los matriculan esta semana" in text_of(sent[-1])
    assert graph.problems == []

    # A late answer (outside the 24-hour window): the "you have a reply" template, and
    # the full answer as soon as the contact writes back.
    async with _session(database_url) as s, s.begin():
        await s.execute(
            update(User)
            .where(User.channel == "whatsapp")
            .values(last_inbound_at=datetime.now(UTC) - timedelta(hours=30))
        )
    telegram.press(OFFICER, f"ofc:reply:{case_id}")
    await telegram.wait_text(OFFICER, "Escribe tu respuesta", timeout=10)
    telegram.message(OFFICER, "Confirmado: el lunes 9:00.")
    sent = await graph.wait(PHONE, 7)
    assert sent[-1]["type"] == "template"
    assert sent[-1]["template"]["name"] == "tienes_respuesta"
    # The dispatcher records "held" after the template has gone out: wait for it.
    for _ in range(100):
        held = [r for r in await _rows(database_url, Outbox) if r.status == "held"]
        if held:
            break
        await asyncio.sleep(0.1)
    assert len(held) == 1
    await hook.say(PHONE, "hola, vi el aviso")
    for _ in range(100):
        if any("el lunes 9:00" in text_of(p) for p in graph.to(PHONE)):
            break
        await asyncio.sleep(0.1)
    assert any("el lunes 9:00" in text_of(p) for p in graph.to(PHONE))
    [case] = await _rows(database_url, Case)
    assert case.status == "respondido"


async def test_bulletin_uses_the_template_outside_the_window(
    graph, run_bot, database_url, tmp_path, monkeypatch
):
    engine = create_engine(database_url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with session_factory(engine)() as s, s.begin():
        for phone, last in (
            ("56955555555", now - timedelta(hours=1)),
            ("56966666666", now - timedelta(days=3)),
        ):
            user = await users.get_or_create(s, "whatsapp", phone, phone, now)
            user.last_inbound_at, user.language = last, "fr"
            s.add(Subscription(user_id=user.id, active=True, created_at=now, updated_at=now))
    await engine.dispose()
    settings = wa_settings(database_url, graph)
    await run_bot(settings)
    import asyncio

    from bot.cli import main

    text = "Bulletin: vaccination gratuite samedi.\n\nApportez votre carte."
    path = tmp_path / "b.txt"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SELLO_DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["bulletin", "send", "--text-file", str(path)]) == 0
    inside = (await graph.wait("56955555555", 1))[0]
    outside = (await graph.wait("56966666666", 1))[0]
    assert inside["type"] == "text" and "Apportez" in inside["text"]["body"]
    assert outside["type"] == "template"
    assert outside["template"]["name"] == "boletin_sello"
    assert outside["template"]["language"]["code"] == "fr"
    parameter = outside["template"]["components"][0]["parameters"][0]["text"]
    assert "\n" not in parameter and "Apportez" in parameter


# -- attachments ----------------------------------------------------------------------------


async def test_misdatos_arrives_as_an_uploaded_document(wa, graph):
    """The data export is a file: uploaded to the media store, sent as a document whose
    caption says what it is; not its caption alone."""
    phone = "56900000031"
    assert await wa.say(phone, "/misdatos") == 200
    [sent] = await graph.wait(phone, 1)
    assert sent["type"] == "document", sent
    upload = graph.upload(sent["document"]["id"])
    assert upload.mime == "application/json" and upload.filename == "misdatos.json"
    assert sent["document"]["filename"] == "misdatos.json"
    data = json.loads(upload.content)
    assert data["profile"]["channel"] == "whatsapp" and data["profile"]["external_id"] == phone
    assert "/borrar" in text_of(sent)
    assert graph.problems == []


async def test_a_refused_upload_still_sends_the_caption(wa, graph):
    graph.refuse_uploads = True
    phone = "56900000032"
    assert await wa.say(phone, "/misdatos") == 200
    [sent] = await graph.wait(phone, 1)
    assert sent["type"] == "text" and "/borrar" in text_of(sent)
    assert graph.uploads == []
