"""The web console over HTTP (aiohttp test client): sign-in, sessions, scope, CSRF, actions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, select

from bot.app import App
from bot.console import routes
from bot.http import make_server
from intents.context import Context
from intents.i18n import texts
from intents.messages import Incoming
from storage import cases, officers, users
from storage.models import Case, CaseEvent, ConsoleAudit, ConsoleSession, Outbox, User

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LINK = re.compile(r"http://127\.0\.0\.1:8080(/console/entrar/[A-Za-z0-9_-]+)")


@dataclass
class World:
    app: App
    client: TestClient
    officer13: User
    officer05: User
    admin: User
    contact: User  # municipal contact of La Florida (13110), on Telegram
    contact_valpo: User
    case13: Case
    case05: Case


async def _user(session, channel: str, ext: str, role: str, **attrs: str) -> User:
    user = await users.get_or_create(session, channel, ext, ext, NOW)
    user.role = role
    for key, value in attrs.items():
        setattr(user, key, value)
    user.language = "es"
    return user


async def seed(app: App) -> dict[str, int]:
    async with app.sessions() as s, s.begin():
        officer13 = await _user(s, "telegram", "8001", "officer", region_code="13")
        await officers.add(s, region_code="13", name="Ana Prueba", telegram_id="8001", now=NOW)
        officer05 = await _user(s, "telegram", "8002", "officer", region_code="05")
        admin = await _user(s, "telegram", "8003", "admin")
        contact = await _user(
            s, "telegram", "8004", "municipal", comuna_cut="13110", region_code="13"
        )
        valpo = await _user(
            s, "telegram", "8005", "municipal", comuna_cut="05101", region_code="05"
        )
        await s.flush()
        case13 = await cases.open_case(
            s,
            comuna_cut="13110",
            region_code="13",
            category="salud",
            description="Familia sin atención en el CESFAM",
            urgency="urgente",
            opened_by=contact,
            now=NOW,
        )
        case05 = await cases.open_case(
            s,
            comuna_cut="05101",
            region_code="05",
            category="vivienda",
            description="Desalojo en un campamento",
            urgency="normal",
            opened_by=valpo,
            now=NOW,
        )
        return {
            "officer13": officer13.id,
            "officer05": officer05.id,
            "admin": admin.id,
            "contact": contact.id,
            "contact_valpo": valpo.id,
            "case13": case13.id,
            "case05": case05.id,
        }


@pytest.fixture
async def world(app: App) -> AsyncIterator[World]:
    ids = await seed(app)
    server = make_server([routes(app.engine, "http://127.0.0.1:8080")])
    client = TestClient(TestServer(server))
    await client.start_server()
    async with app.sessions() as s:
        loaded = {
            k: await s.get(User if not k.startswith("case") else Case, v) for k, v in ids.items()
        }
    yield World(app=app, client=client, **loaded)  # type: ignore[arg-type]
    await client.close()


async def link_for(app: App, user: User) -> str:
    """A link as /panel issues it, through the chat flow."""
    from intents.flows.console import panel

    async with app.sessions() as s, s.begin():
        me = await s.get(User, user.id)
        assert me is not None
        ctx = Context(
            s,
            me,
            Incoming("telegram", me.external_id, me.chat_id, text="/panel"),
            texts("es"),
            app.engine.clock(),
            app.engine.services,
        )
        [reply] = await panel(ctx)
    found = LINK.search(reply.text)
    assert found, reply.text
    return found.group(1)


async def sign_in(w: World, user: User) -> TestClient:
    path = await link_for(w.app, user)
    response = await w.client.post(path, allow_redirects=False)
    assert response.status == 303, await response.text()
    return w.client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_get_never_uses_the_link_post_signs_in_once(world: World) -> None:
    path = await link_for(world.app, world.officer13)
    for _ in range(2):  # a chat app's preview, then the person
        page = await world.client.get(path)
        assert page.status == 200
        assert '<form method="post"' in await page.text()
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 303
    response = await world.client.post(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/casos"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Path=/console" in cookie
    assert response.headers["Referrer-Policy"] == "no-referrer"
    inbox = await world.client.get("/console/casos")
    assert inbox.status == 200 and world.case13.number in await inbox.text()
    # Used up: a second POST (or GET) is refused, from any browser.
    world.client.session.cookie_jar.clear()
    assert (await world.client.post(path, allow_redirects=False)).status == 404
    assert (await world.client.get(path)).status == 404
    async with world.app.sessions() as s:
        [row] = (await s.execute(select(ConsoleSession))).scalars().all()
        stored = {r.action for r in (await s.execute(select(ConsoleAudit))).scalars()}
    token = path.rsplit("/", 1)[1]
    assert token not in row.id_hash and len(row.id_hash) == 64  # only hashes are stored
    assert stored == {"signin"}


async def test_expired_or_unknown_link_and_secure_cookie_on_https(world: World) -> None:
    path = await link_for(world.app, world.officer13)
    clock = world.app.engine.clock
    world.app.engine.clock = lambda: clock() + timedelta(minutes=16)
    assert (await world.client.post(path, allow_redirects=False)).status == 404
    world.app.engine.clock = clock
    assert (
        await world.client.post("/console/entrar/nosuchtoken", allow_redirects=False)
    ).status == 404
    server = make_server([routes(world.app.engine, "https://sello.example.org")])
    async with TestClient(TestServer(server)) as https:
        response = await https.post(await link_for(world.app, world.admin), allow_redirects=False)
        assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]


async def test_panel_is_for_officers_admins_and_contacts_and_rate_limited(world: World) -> None:
    from intents.errors import NotAllowed
    from intents.flows.console import panel

    async with world.app.sessions() as s, s.begin():
        migrant = await _user(s, "telegram", "8099", "migrant")
        ctx = Context(
            s,
            migrant,
            Incoming("telegram", "8099", "8099", text="/panel"),
            texts("es"),
            NOW,
            world.app.engine.services,
        )
        with pytest.raises(NotAllowed):
            await panel(ctx)
    for _ in range(5):
        await link_for(world.app, world.contact)
    async with world.app.sessions() as s, s.begin():
        me = await s.get(User, world.contact.id)
        ctx = Context(
            s,
            me,
            Incoming("telegram", "8004", "8004", text="/panel"),
            texts("es"),
            world.app.engine.clock(),
            world.app.engine.services,
        )
        [reply] = await panel(ctx)
    assert "muchos enlaces" in reply.text and "/console/" not in reply.text


async def test_sign_in_attempts_are_rate_limited(world: World) -> None:
    for i in range(10):
        response = await world.client.post(f"/console/entrar/guess{i}", allow_redirects=False)
        assert response.status == 404
    path = await link_for(world.app, world.officer13)
    assert (await world.client.post(path, allow_redirects=False)).status == 429


async def test_scope_officer_region_admin_all_contact_comuna(world: World) -> None:
    await sign_in(world, world.officer13)
    text = await (await world.client.get("/console/casos")).text()
    assert world.case13.number in text and world.case05.number not in text
    assert (await world.client.get(f"/console/casos/{world.case13.id}")).status == 200
    assert (await world.client.get(f"/console/casos/{world.case05.id}")).status == 404
    for bad in ("abc", "0", "999999", "12345678901234567890", "%C2%B2"):
        assert (await world.client.get(f"/console/casos/{bad}")).status == 404
    # Acting on another region's case is a 404 too, and changes nothing.
    page = await (await world.client.get("/console/casos")).text()
    response = await world.client.post(
        f"/console/casos/{world.case05.id}", data={"csrf": csrf_of(page), "action": "take"}
    )
    assert response.status == 404
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.admin)
    text = await (await world.client.get("/console/casos")).text()
    assert world.case13.number in text and world.case05.number in text
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact_valpo)
    text = await (await world.client.get("/console/casos")).text()
    assert world.case05.number in text and world.case13.number not in text
    page = await world.client.get(f"/console/casos/{world.case05.id}")
    assert page.status == 200 and "Tomar" not in await page.text()  # contacts only read
    response = await world.client.post(
        f"/console/casos/{world.case05.id}", data={"csrf": csrf_of(text), "action": "take"}
    )
    assert response.status == 403


async def test_filters_counts_and_search(world: World) -> None:
    await sign_in(world, world.admin)
    text = await (await world.client.get("/console/casos?urgencia=urgente")).text()
    assert world.case13.number in text and world.case05.number not in text
    text = await (await world.client.get("/console/casos?q=campamento")).text()
    assert world.case05.number in text and world.case13.number not in text
    text = await (await world.client.get("/console/casos?comuna=05101&estado=abierto")).text()
    assert world.case05.number in text and world.case13.number not in text
    text = await (await world.client.get("/console/casos?estado=cerrado")).text()
    assert "No hay casos" in text
    # Nonsense filter values are ignored, never an error.
    response = await world.client.get("/console/casos?estado=x&pagina=-1&antiguedad=9&comuna=%27")
    assert response.status == 200 and world.case13.number in await response.text()


async def test_filters_unclosed_age_and_a_page_past_the_end(world: World) -> None:
    """The address's filters as storage gets them: "sin cerrar" is every status but closed,
    an age is a time before now, a page past the end is the last one."""
    async with world.app.sessions() as s, s.begin():
        closed = await s.get(Case, world.case05.id)
        assert closed is not None
        closed.status = "cerrado"
    await sign_in(world, world.admin)
    clock = world.app.engine.clock
    world.app.engine.clock = lambda: NOW + timedelta(days=3)
    try:
        text = await (await world.client.get("/console/casos?estado=sin_cerrar")).text()
        assert world.case13.number in text and world.case05.number not in text
        text = await (await world.client.get("/console/casos?antiguedad=1")).text()
        assert world.case13.number in text and world.case05.number in text
        text = await (await world.client.get("/console/casos?antiguedad=7")).text()
        assert "No hay casos" in text and world.case13.number not in text
        text = await (await world.client.get("/console/casos?estado=sin_cerrar&pagina=9")).text()
        assert world.case13.number in text and world.case05.number not in text
    finally:
        world.app.engine.clock = clock


async def test_post_without_or_with_wrong_csrf_is_refused(world: World) -> None:
    await sign_in(world, world.officer13)
    for data in ({"action": "take"}, {"action": "take", "csrf": "x" * 43}):
        response = await world.client.post(f"/console/casos/{world.case13.id}", data=data)
        assert response.status == 403
    response = await world.client.post("/console/salir", data={})
    assert response.status == 403
    async with world.app.sessions() as s:
        assert (await s.get(Case, world.case13.id)).status == "abierto"  # type: ignore[union-attr]


async def test_take_reply_close_notify_the_contact_like_chat(world: World) -> None:
    await sign_in(world, world.officer13)
    url = f"/console/casos/{world.case13.id}"
    page = await (await world.client.get(url)).text()
    csrf = csrf_of(page)
    response = await world.client.post(url, data={"csrf": csrf, "action": "take"})
    assert response.status == 200 and "Tomaste el caso" in await response.text()
    response = await world.client.post(
        url,
        data={"csrf": csrf, "action": "reply", "text": "Los atenderán el lunes; RUT 12.345.678-5"},
    )
    text = await response.text()
    assert "Respuesta enviada" in text and "Los atenderán el lunes" in text
    response = await world.client.post(url, data={"csrf": csrf, "action": "reply", "text": "  "})
    assert "Escribe el texto" in await response.text()
    response = await world.client.post(url, data={"csrf": csrf, "action": "nonsense"})
    assert response.status == 403
    response = await world.client.post(url, data={"csrf": csrf, "action": "cerrado"})
    assert "cerrado" in await response.text() and "Tomar" not in await response.text()
    async with world.app.sessions() as s:
        events = (
            (
                await s.execute(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == world.case13.id)
                    .order_by(CaseEvent.id)
                )
            )
            .scalars()
            .all()
        )
        outbox = (
            (
                await s.execute(
                    select(Outbox).where(Outbox.user_id == world.contact.id).order_by(Outbox.id)
                )
            )
            .scalars()
            .all()
        )
        audit = [
            (a.action, a.target, a.user_id)
            for a in (await s.execute(select(ConsoleAudit).order_by(ConsoleAudit.id))).scalars()
        ]
    assert [(e.kind, e.actor_role, e.status_to) for e in events] == [
        ("opened", "municipal", "abierto"),
        ("taken", "officer", "en_revision"),
        ("message", "officer", None),
        ("status", "officer", "respondido"),
        ("status", "officer", "cerrado"),
    ]
    assert "12.345.678" not in (events[2].body or "")  # masked like in chat
    assert [o.channel for o in outbox] == ["telegram"] * 3
    assert "revisando" in outbox[0].text and "Los atenderán el lunes" in outbox[1].text
    assert "cerrado" in outbox[2].text
    target = f"case:{world.case13.id}"
    assert audit == [
        ("signin", None, world.officer13.id),
        ("case.take", target, world.officer13.id),
        ("case.reply", target, world.officer13.id),
        ("case.cerrado", target, world.officer13.id),
    ]


async def test_refer_from_the_console(world: World) -> None:
    await sign_in(world, world.officer13)
    url = f"/console/casos/{world.case13.id}"
    csrf = csrf_of(await (await world.client.get(url)).text())
    response = await world.client.post(
        url, data={"csrf": csrf, "action": "refer", "text": "OPD La Florida"}
    )
    text = await response.text()
    assert "derivado a OPD La Florida" in text
    async with world.app.sessions() as s:
        case = await s.get(Case, world.case13.id)
    assert case is not None and (case.status, case.referred_to) == ("derivado", "OPD La Florida")


async def test_sign_out_ends_the_session(world: World) -> None:
    await sign_in(world, world.officer13)
    csrf = csrf_of(await (await world.client.get("/console/casos")).text())
    response = await world.client.post("/console/salir", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 303
    async with world.app.sessions() as s:
        assert not (await s.execute(select(ConsoleSession))).scalars().all()


async def test_session_expires_after_12_hours_idle(world: World) -> None:
    await sign_in(world, world.officer13)
    clock = world.app.engine.clock
    world.app.engine.clock = lambda: clock() + timedelta(hours=11)
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 200
    world.app.engine.clock = lambda: clock() + timedelta(hours=22)  # 11 h after the last visit
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 200
    world.app.engine.clock = lambda: clock() + timedelta(hours=34, minutes=1)
    response = await world.client.get("/console/casos", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/"
    world.app.engine.clock = clock


async def test_a_user_who_loses_the_role_loses_the_console(world: World) -> None:
    from bot.officers import remove_officer
    from storage.privacy import erase_user

    await sign_in(world, world.officer13)
    async with world.app.sessions() as s:
        [officer] = await officers.listing(s, "13")
    assert await remove_officer(world.app, officer.id) == 0
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 303
    async with world.app.sessions() as s:
        assert not (await s.execute(select(ConsoleSession))).scalars().all()
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact)
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 200
    async with world.app.sessions() as s, s.begin():
        await erase_user(s, world.contact.id, NOW)  # /borrar
    assert (await world.client.get("/console/casos", allow_redirects=False)).status == 303


async def test_pages_cost_a_fixed_number_of_queries(world: World) -> None:
    """No N+1: the inbox with 60 cases costs what it costs with 2."""
    await sign_in(world, world.admin)

    async def count(path: str) -> int:
        seen: list[str] = []

        def listener(*args: object) -> None:
            seen.append(str(args[2]))

        from bot.console.web import CONFIG_KEY

        world.client.server.app[CONFIG_KEY].cache.clear()  # count the statistics' own queries
        event.listen(world.app.db.sync_engine, "before_cursor_execute", listener)
        try:
            assert (await world.client.get(path)).status == 200
        finally:
            event.remove(world.app.db.sync_engine, "before_cursor_execute", listener)
        return len(seen)

    few_inbox = await count("/console/casos")
    few_case = await count(f"/console/casos/{world.case13.id}")
    others = (
        "/console/estadisticas",
        "/console/directorio",
        "/console/preguntas",
        "/console/boletin",
    )
    few_others = [await count(p) for p in others]
    async with world.app.sessions() as s, s.begin():
        contact = await s.get(User, world.contact.id)
        assert contact is not None
        for i in range(60):
            case = await cases.open_case(
                s,
                comuna_cut="13110",
                region_code="13",
                category="otro",
                description=f"Caso de prueba {i}",
                urgency="normal",
                opened_by=contact,
                now=NOW,
            )
            if i == 0:
                for j in range(20):
                    cases.add_event(s, case, "message", contact, NOW, body=f"mensaje {j}")
                many_id = case.id
    assert await count("/console/casos") == few_inbox <= 5
    assert await count(f"/console/casos/{many_id}") == few_case <= 4
    assert [await count(p) for p in others] == few_others
    # Statistics: session, case figures (per month, per comuna, first answers, closings),
    # the place, the admin's selector and the chat's own official figures (edition, trend,
    # national total, nationalities).
    assert few_others[0] <= 11 and max(few_others[1:]) <= 6


def test_cli_console_link_prints_a_working_link_last(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("SELLO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SELLO_PUBLIC_URL", "https://consola.example.org/")
    for name in ("SELLO_TELEGRAM_TOKEN", "SELLO_WHATSAPP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert (
        main(["officer", "add", "--region", "13", "--telegram", "9001", "--name", "Ana Prueba"])
        == 0
    )
    assert (
        main(
            [
                "officer",
                "add",
                "--region",
                "05",
                "--whatsapp",
                "56900000001",
                "--name",
                "Luis Prueba",
            ]
        )
        == 0
    )
    capsys.readouterr()
    for argv in (["--telegram", "9001"], ["--officer", "1"], ["--whatsapp", "+56 9 0000 0001"]):
        assert main(["console", "link", *argv]) == 0
        last = capsys.readouterr().out.strip().splitlines()[-1]
        assert re.fullmatch(r"https://consola\.example\.org/console/entrar/[A-Za-z0-9_-]{43}", last)
    for argv in (["--telegram", "404"], ["--officer", "99"]):
        assert main(["console", "link", *argv]) == 2
    with pytest.raises(SystemExit):
        main(["console", "link"])


async def _subscribers(app: App) -> None:
    """Three subscribers in region 13 (two migrants, one in Spanish), one in region 5."""
    from storage import subscriptions

    async with app.sessions() as s, s.begin():
        for ext, role, lang, cut, region in (
            ("9101", "migrant", "es", "13110", "13"),
            ("9102", "migrant", "fr", "13110", "13"),
            ("9103", "municipal", "es", "13101", "13"),
            ("9104", "migrant", "es", "05101", "05"),
        ):
            user = await _user(s, "telegram", ext, role, region_code=region)
            user.language = lang
            await s.flush()
            await subscriptions.subscribe(s, user, NOW, comuna_cut=cut, region_code=region)


async def test_bulletin_compose_preview_send_and_progress(world: World) -> None:
    from intents.bulletin import Completion

    await _subscribers(world.app)
    await sign_in(world, world.officer13)
    page = await (await world.client.get("/console/boletin")).text()
    csrf = csrf_of(page)
    assert 'for="b-text"' in page and 'id="b-text"' in page  # labelled inputs
    form = {
        "csrf": csrf,
        "text": "Feria de salud el sábado",
        "role": "migrant",
        "lang": "",
        "comuna": "",
        "when": "",
    }
    preview = await world.client.post("/console/boletin", data={**form, "action": "preview"})
    text = await preview.text()
    assert preview.status == 200 and 'id="audience-size">2<' in text  # region 13 migrants only
    assert "Feria de salud el sábado" in text
    async with world.app.sessions() as s:
        assert (
            not (await s.execute(select(Outbox).where(Outbox.lane == "bulletin"))).scalars().all()
        )
    sent = await world.client.post(
        "/console/boletin", data={**form, "action": "send"}, allow_redirects=False
    )
    assert sent.status == 303
    location = sent.headers["Location"]
    progress = await (await world.client.get(location)).text()
    assert 'id="count-pending">2<' in progress and "hx-get" in progress
    async with world.app.sessions() as s, s.begin():
        rows = (await s.execute(select(Outbox).where(Outbox.lane == "bulletin"))).scalars().all()
        assert len(rows) == 2
        rows[0].status, rows[1].status = "sent", "blocked"
        await s.flush()
        await Completion().check(s, [rows[0].bulletin_id], world.app.engine.clock())
    fragment = await (await world.client.get(location + "/progreso")).text()
    assert "<html" not in fragment and "hx-get" not in fragment  # polling stops when done
    assert 'id="count-sent">1<' in fragment and 'id="count-blocked">1<' in fragment
    assert "terminado" in fragment
    # The other region's officer cannot see it; a municipal contact has no bulletin pages.
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.officer05)
    assert (await world.client.get(location)).status == 404
    assert (await world.client.get("/console/boletin/abc")).status == 404
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact)
    assert (await world.client.get("/console/boletin")).status == 403


async def test_bulletin_refuses_bad_input_and_schedules(world: World) -> None:
    await _subscribers(world.app)
    await sign_in(world, world.officer13)
    csrf = csrf_of(await (await world.client.get("/console/boletin")).text())
    base = {"csrf": csrf, "role": "all", "lang": "", "comuna": "", "when": "", "action": "send"}
    for data, needle in (
        ({**base, "text": "  "}, "Escribe el texto"),
        ({**base, "text": "x" * 12_001}, "demasiado largo"),
        ({**base, "text": "Hola", "comuna": "05101"}, "de tu región"),
        ({**base, "text": "Hola", "when": "2020-01-01T09:00"}, "ya pasó"),
        ({**base, "text": "Hola", "when": "mañana"}, "fecha y hora"),
    ):
        response = await world.client.post("/console/boletin", data=data)
        assert response.status == 400 and needle in await response.text()
    response = await world.client.post(
        "/console/boletin", data={**base, "text": "Hola"} | {"csrf": "no"}
    )
    assert response.status == 403
    later = (world.app.engine.clock() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = await world.client.post(
        "/console/boletin", data={**base, "text": "Hola", "when": later}, allow_redirects=False
    )
    assert response.status == 303
    from storage.models import Bulletin

    async with world.app.sessions() as s:
        [bulletin] = (await s.execute(select(Bulletin))).scalars().all()
        audit = (await s.execute(select(ConsoleAudit.action))).scalars().all()
    assert bulletin.total == 3 and bulletin.filters["region"] == "13"
    assert "bulletin.send" in audit


async def test_questions_grouped_masked_and_only_for_staff(world: World) -> None:
    from storage.questions import log_unanswered

    now = world.app.engine.clock()
    async with world.app.sessions() as s, s.begin():
        for text, lang in (
            ("¿Dónde renuevo mi RUT 12.345.678-5 vencido?", "es"),
            ("donde renuevo mi rut vencido", "es"),
            ("Kote m ka renouvle RUT mwen?", "ht"),
            ("¿Hay feria de empleo en Quilicura?", "es"),
        ):
            await log_unanswered(
                s, text=text, lang=lang, channel="telegram", best_topic=None, score=0.1, now=now
            )
        await log_unanswered(
            s,
            text="pregunta antigua",
            lang="es",
            channel="telegram",
            best_topic=None,
            score=0.1,
            now=now - timedelta(days=40),
        )
    await sign_in(world, world.officer13)
    page = await world.client.get("/console/preguntas")
    text = await page.text()
    assert page.status == 200 and "12.345.678" not in text and "pregunta antigua" not in text
    assert "<td>2</td>" in text and "feria de empleo" in text
    assert "pregunta antigua" in await (await world.client.get("/console/preguntas?dias=90")).text()
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact)
    assert (await world.client.get("/console/preguntas")).status == 403
    assert (await world.client.get("/console/directorio")).status == 403


async def test_directory_codes_by_region_and_status_by_admins(world: World) -> None:
    from storage.models import Comuna, EnrollmentCode

    await sign_in(world, world.officer13)
    page = await (await world.client.get("/console/directorio")).text()
    assert "Ana Prueba" in page and "La Florida" in page and "Valparaíso" not in page
    assert "Marcar adherida" not in page  # only admins change the status
    csrf = csrf_of(page)
    response = await world.client.post(
        "/console/directorio", data={"csrf": csrf, "action": "code", "cut": "13110"}
    )
    text = await response.text()
    assert response.status == 200 and "/registro" in text
    response = await world.client.post(
        "/console/directorio", data={"csrf": csrf, "action": "code", "cut": "05101"}
    )
    assert response.status == 400 and "de tu región" in await response.text()
    response = await world.client.post(
        "/console/directorio",
        data={"csrf": csrf, "action": "adhere", "cut": "13110", "since": "2025-01-01"},
    )
    assert response.status == 403
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.admin)
    csrf = csrf_of(await (await world.client.get("/console/directorio")).text())
    response = await world.client.post(
        "/console/directorio",
        data={"csrf": csrf, "action": "adhere", "cut": "05101", "since": "2025-03-01"},
        allow_redirects=False,
    )
    assert response.status == 303
    response = await world.client.post(
        "/console/directorio",
        data={"csrf": csrf, "action": "adhere", "cut": "05101", "since": "ayer"},
    )
    assert response.status == 400
    response = await world.client.post(
        "/console/directorio", data={"csrf": csrf, "action": "withdraw", "cut": "99999"}
    )
    assert response.status == 404
    async with world.app.sessions() as s:
        valpo = await s.get(Comuna, "05101")
        codes_made = (await s.execute(select(EnrollmentCode))).scalars().all()
        audit = (await s.execute(select(ConsoleAudit.action))).scalars().all()
    assert valpo is not None and valpo.adhered_since == datetime(2025, 3, 1).date()
    assert [c.comuna_cut for c in codes_made] == ["13110"]
    assert "code.issue" in audit and "comuna.adhere" in audit


async def test_statistics_of_the_scope(world: World) -> None:
    async with world.app.sessions() as s, s.begin():
        case = await s.get(Case, world.case13.id)
        officer = await s.get(User, world.officer13.id)
        assert case is not None and officer is not None
        cases.add_event(s, case, "message", officer, NOW + timedelta(hours=3), body="respuesta")
        cases.change_status(s, case, "cerrado", officer, NOW + timedelta(hours=10))
    await sign_in(world, world.officer13)
    text = await (await world.client.get("/console/estadisticas")).text()
    assert 'id="stat-total">1<' in text  # region 13 only
    assert 'id="stat-answer">3 h<' in text and 'id="stat-close">10 h<' in text
    assert "<svg" in text and "2026-11" in text
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.admin)
    assert 'id="stat-total">2<' in await (await world.client.get("/console/estadisticas")).text()


async def test_help_lists_panel_for_staff_and_the_daily_purge_drops_idle_sessions(
    world: World,
) -> None:
    from bot.retention import purge_once
    from intents.flows.menu import help_text

    async with world.app.sessions() as s:
        for user, shown in ((world.officer13, True), (world.contact, True)):
            me = await s.get(User, user.id)
            ctx = Context(
                s, me, Incoming("telegram", "x", "x"), texts("es"), NOW, world.app.engine.services
            )
            assert ("/panel" in help_text(ctx)) is shown
        migrant = User(channel="telegram", external_id="m", chat_id="m", role="migrant")
        ctx = Context(
            s, migrant, Incoming("telegram", "m", "m"), texts("es"), NOW, world.app.engine.services
        )
        assert "/panel" not in help_text(ctx)
    await sign_in(world, world.officer13)
    now = world.app.engine.clock()
    await purge_once(world.app.sessions, 180, now + timedelta(hours=1))
    async with world.app.sessions() as s:
        assert len((await s.execute(select(ConsoleSession))).scalars().all()) == 1
    await purge_once(world.app.sessions, 180, now + timedelta(hours=13))
    async with world.app.sessions() as s:
        assert not (await s.execute(select(ConsoleSession))).scalars().all()


async def test_contact_adds_a_message_that_reaches_the_regions_officer(world: World) -> None:
    await sign_in(world, world.contact)
    url = f"/console/casos/{world.case13.id}"
    page = await (await world.client.get(url)).text()
    assert 'for="message-text"' in page
    csrf = csrf_of(page)
    response = await world.client.post(
        url, data={"csrf": csrf, "action": "message", "text": "Gracias, pasaporte AB1234567"}
    )
    text = await response.text()
    assert "Mensaje agregado" in text and "AB1234567" not in text
    response = await world.client.post(
        f"/console/casos/{world.case05.id}",
        data={"csrf": csrf, "action": "message", "text": "hola"},
    )
    assert response.status == 404
    response = await world.client.post(url, data={"csrf": csrf, "action": "reply", "text": "hola"})
    assert response.status == 403
    async with world.app.sessions() as s:
        notes = (
            (await s.execute(select(Outbox).where(Outbox.user_id == world.officer13.id)))
            .scalars()
            .all()
        )
    assert len(notes) == 1 and "Nuevo mensaje de la municipalidad" in notes[0].text
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.officer13)
    csrf = csrf_of(await (await world.client.get(url)).text())
    response = await world.client.post(url, data={"csrf": csrf, "action": "message", "text": "x"})
    assert response.status == 403


async def test_questions_show_thumbs_down_newest_first_paginated_and_topics_per_week(
    world: World,
) -> None:
    from storage import feedback

    now = world.app.engine.clock()
    async with world.app.sessions() as s, s.begin():
        uid = world.contact.id
        for i in range(23):  # 23 👎 on "renovar": two pages of 20
            row = feedback.record(
                s,
                user_id=uid,
                topic="renovar",
                lang="es",
                channel="telegram",
                helpful=False,
                question=f"pregunta número {i:02d}",
                now=now - timedelta(hours=23 - i),
            )
        row.looking_for = "mi RUT 12.345.678-5 y el plazo"
        for _ in range(3):
            feedback.record(
                s,
                user_id=uid,
                topic="salud",
                lang="ht",
                channel="whatsapp",
                helpful=True,
                question=None,
                now=now,
            )
        feedback.record(
            s,
            user_id=uid,
            topic="viejo",
            lang="es",
            channel="telegram",
            helpful=False,
            question="pregunta vieja",
            now=now - timedelta(days=60),
        )
    await sign_in(world, world.officer13)
    text = await (await world.client.get("/console/preguntas")).text()
    assert "23 valoraciones negativas" in text
    newest = text.index("pregunta número 22")
    assert newest < text.index("pregunta número 21") and "pregunta número 02" not in text
    assert "12.345.678" not in text and "y el plazo" in text  # masked
    assert "pregunta vieja" not in text and ">viejo<" not in text
    week = f"{now.isocalendar()[0]}-S{now.isocalendar()[1]:02d}"
    assert f"<td>{week}</td><td>ht</td><td>salud</td><td>3</td><td>0</td>" in text
    second = await (await world.client.get("/console/preguntas?pagina=2")).text()
    assert "pregunta número 02" in second and "pregunta número 22" not in second
    assert "Página 2 / 2" in second
    far = await (await world.client.get("/console/preguntas?pagina=99")).text()
    assert "Página 2 / 2" in far  # past the end: the last page
    assert ">viejo<" in await (await world.client.get("/console/preguntas?dias=90")).text()
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact)
    assert (await world.client.get("/console/preguntas")).status == 403


async def test_statistics_show_the_official_figures_and_chart_of_the_users_place(
    world: World,
) -> None:
    from storage import statistics as stats
    from tests.test_statistics import region_estimate

    es = texts("es").number
    async with world.app.sessions() as s:  # the shipped edition, loaded at start
        edition = await stats.latest(s)
    assert edition is not None
    await sign_in(world, world.officer13)
    rm, valpo = region_estimate("13"), region_estimate("05")
    text = await (await world.client.get("/console/estadisticas?lugar=05")).text()
    last = max(rm)
    assert f"<td>{last}</td><td>{es(rm[last])}</td>" in text  # their region, whatever is asked
    assert es(valpo[last]) not in text and 'name="lugar"' not in text
    assert 'src="/console/estadisticas/grafico"' in text and 'alt="Gráfico — ' in text
    chart = await world.client.get("/console/estadisticas/grafico?lugar=05")
    png = await chart.read()
    assert chart.status == 200 and chart.content_type == "image/png"
    assert (
        png.startswith(b"\x89PNG")
        and world.app.engine.services.charts.get((edition.id, "region", "13", "es")) == png
    )  # the chat's cache: drawn once
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.contact)  # La Florida: its own comuna
    text = await (await world.client.get("/console/estadisticas")).text()
    assert "📊 La Florida" in text and "Permisos de residencia en La Florida" in text
    world.client.session.cookie_jar.clear()
    await sign_in(world, world.admin)  # any region or comuna, picked in a labelled select
    text = await (await world.client.get("/console/estadisticas?lugar=05")).text()
    assert f"<td>{last}</td><td>{es(valpo[last])}</td>" in text
    assert '<label for="s-lugar">' in text and '<option value="05101" >' in text
    assert 'src="/console/estadisticas/grafico?lugar=05"' in text
    text = await (await world.client.get("/console/estadisticas?lugar=05101")).text()
    assert "📊 Valparaíso" in text
    for bad in ("99", "x' or 1=1", "123456789"):  # unknown or malformed: a message, a 404
        page = await world.client.get("/console/estadisticas", params={"lugar": bad})
        assert page.status == 200
        chart = await world.client.get("/console/estadisticas/grafico", params={"lugar": bad})
        assert chart.status in (200, 404)
    assert (await world.client.get("/console/estadisticas/grafico?lugar=99")).status == 404


async def test_statistics_medians_per_comuna_count_the_first_answer_and_the_closing(
    world: World,
) -> None:
    """The figures computed by GROUP BY and narrow queries: the first officer message of a
    case (not the last) and its first closing, per comuna and in total."""
    async with world.app.sessions() as s, s.begin():
        officer = await s.get(User, world.officer13.id)
        contact = await s.get(User, world.contact.id)
        case = await s.get(Case, world.case13.id)
        assert officer is not None and contact is not None and case is not None
        cases.add_event(s, case, "message", contact, NOW + timedelta(hours=1), body="hola")
        cases.add_event(s, case, "message", officer, NOW + timedelta(hours=2), body="uno")
        cases.add_event(s, case, "message", officer, NOW + timedelta(hours=30), body="dos")
        cases.change_status(s, case, "cerrado", officer, NOW + timedelta(days=40))
        other = await cases.open_case(
            s,
            comuna_cut="13110",
            region_code="13",
            category="salud",
            description="Otro caso",
            urgency="normal",
            opened_by=contact,
            now=NOW,
        )
        cases.add_event(s, other, "message", officer, NOW + timedelta(hours=6), body="tres")
    await sign_in(world, world.officer13)
    text = await (await world.client.get("/console/estadisticas")).text()
    assert 'id="stat-total">2<' in text and 'id="stat-answer">4 h<' in text  # median of 2, 6
    assert 'id="stat-close">960 h<' in text
    assert "<tr><td>2026-11</td><td>2</td><td>0</td></tr>" in text
    assert "<tr><td>2027-01</td><td>0</td><td>1</td></tr>" in text  # closed in January
    assert "<tr><td>La Florida</td><td>2</td><td>4.0</td><td>960.0</td></tr>" in text


class _Controls(HTMLParser):
    """The form controls of a page and its labels: which ids labels point to, which
    controls sit inside a <label>, and every id (to catch duplicates)."""

    SKIP = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self) -> None:
        super().__init__()
        self.label_depth = 0
        self.label_for: list[str] = []
        self.ids: list[str] = []
        self.controls: list[tuple[str, str | None, bool]] = []  # (tag, id, wrapped)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "label":
            self.label_depth += 1
            if found.get("for"):
                self.label_for.append(str(found["for"]))
        elif tag in ("select", "textarea") or (
            tag == "input" and (found.get("type") or "text") not in self.SKIP
        ):
            self.controls.append((tag, found.get("id"), self.label_depth > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)


def unlabelled(html: str) -> list[str]:
    """Controls without a label (neither a <label for=id> nor a wrapping <label>), labels
    pointing at nothing, and duplicate ids (a label would reach the wrong control)."""
    page = _Controls()
    page.feed(html)
    problems = [
        f"<{tag} id={cid!r}>"
        for tag, cid, wrapped in page.controls
        if not wrapped and (cid is None or cid not in page.label_for)
    ]
    problems += [f"label for={f!r} without control" for f in page.label_for if f not in page.ids]
    problems += [
        f"duplicate id {i!r}" for i in sorted({i for i in page.ids if page.ids.count(i) > 1})
    ]
    return problems


def test_the_label_check_catches_unlabelled_controls() -> None:
    assert (
        unlabelled('<label for="a">A</label><input id="a"><label>B <select></select></label>') == []
    )
    assert unlabelled('<input name="q">') == ["<input id=None>"]
    assert unlabelled('<label for="b">B</label><textarea id="a"></textarea>') == [
        "<textarea id='a'>",
        "label for='b' without control",
    ]
    assert unlabelled('<label>A</label><select id="s"></select>') == ["<select id='s'>"]
    assert unlabelled('<input type="hidden" name="csrf"><button>ok</button>') == []
    assert unlabelled('<label for="x">1</label><input id="x"><input id="x">') == [
        "duplicate id 'x'"
    ]


async def test_every_page_labels_every_control(world: World) -> None:
    """Every page each role can reach, parsed: each input, select and textarea is labelled."""
    from storage import feedback

    await _subscribers(world.app)
    async with world.app.sessions() as s, s.begin():
        feedback.record(
            s,
            user_id=world.contact.id,
            topic="renovar",
            lang="es",
            channel="telegram",
            helpful=False,
            question="¿y el plazo?",
            now=world.app.engine.clock(),
        )
    pages: dict[str, str] = {}
    link = await link_for(world.app, world.officer13)
    pages["signin"] = await (await world.client.get(link)).text()
    pages["home"] = await (await world.client.get("/console/")).text()
    for who in (world.officer13, world.admin, world.contact):
        world.client.session.cookie_jar.clear()
        await sign_in(world, who)
        paths = ["/console/casos", f"/console/casos/{world.case13.id}", "/console/estadisticas"]
        if who.role != "municipal":
            paths += ["/console/boletin", "/console/preguntas", "/console/directorio"]
        for path in paths:
            response = await world.client.get(path)
            assert response.status == 200, path
            pages[f"{who.role} {path}"] = await response.text()
        if who.role == "officer":
            csrf = csrf_of(pages["officer /console/casos"])
            form = {"csrf": csrf, "text": "Feria", "role": "migrant", "lang": "", "comuna": ""}
            preview = await world.client.post(
                "/console/boletin", data={**form, "when": "", "action": "preview"}
            )
            pages["preview"] = await preview.text()
            sent = await world.client.post(
                "/console/boletin",
                data={**form, "when": "", "action": "send"},
                allow_redirects=False,
            )
            pages["progress"] = await (await world.client.get(sent.headers["Location"])).text()
            code = await world.client.post(
                "/console/directorio", data={"csrf": csrf, "action": "code", "cut": "13110"}
            )
            pages["code issued"] = await code.text()
    assert len(pages) == 20
    assert {name: unlabelled(html) for name, html in pages.items() if unlabelled(html)} == {}
    assert (
        sum(len(re.findall(r"<(?:input|select|textarea)\b", html)) for html in pages.values()) > 40
    )


def _contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_custom_colours_pass_wcag_aa_in_light_and_dark_schemes() -> None:
    """Text colours set with their background: 4.5:1. Chart bars against the page: 3:1 on
    Pico's white and on its dark background (Pico follows prefers-color-scheme: a fill
    not overridden for the dark scheme is drawn on the dark page too)."""
    from bot.console.web import HERE

    css = (HERE / "static" / "console.css").read_text()
    dark_start = css.find("prefers-color-scheme: dark")
    fills: dict[str, dict[str, str]] = defaultdict(dict)  # selector -> scheme -> fill
    checked = 0
    for rule in re.finditer(r"([^{}]+)\{([^{}]*)\}", css):
        body = dict(
            (k.strip(), v.strip())
            for k, _, v in (d.partition(":") for d in rule.group(2).split(";"))
        )
        text, back = body.get("color", ""), body.get("background", "")
        if text.startswith("#") and back.startswith("#"):
            full = [c if len(c) == 7 else "#" + "".join(x * 2 for x in c[1:]) for c in (text, back)]
            assert _contrast(*full) >= 4.5, rule.group(0)
            checked += 1
        if body.get("fill", "").startswith("#"):
            scheme = "dark" if 0 <= dark_start < rule.start() else "light"
            selector = rule.group(1).split("{")[-1].strip()
            fills[selector][scheme] = body["fill"]
    for selector, by_scheme in fills.items():
        light = by_scheme["light"]
        assert _contrast(light, "#ffffff") >= 3, selector
        assert _contrast(by_scheme.get("dark", light), "#13171f") >= 3, selector
    assert checked >= 4 and len(fills) >= 2


async def test_an_unexpected_error_shows_the_error_page_and_is_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The same policy as the chat channels (bot/failure.py): a traceback in the log, and a
    page in the console's own look instead of aiohttp's bare 500."""
    client = await sign_in(world, world.officer13)
    clock = world.app.engine.clock

    def broken() -> datetime:
        raise RuntimeError("a bug")

    world.app.engine.clock = broken
    try:
        page = await client.get("/console/casos")
    finally:
        world.app.engine.clock = clock
    assert page.status == 500
    body = await page.text()
    assert "Algo salió mal de mi lado" in body and "/console/static/console.css" in body
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the console's headers still
    assert [r for r in caplog.records if r.name == "bot.failure" and r.exc_info is not None]
