"""The bulletin: subscriptions, composing, delivery at the platform's rate, reports, crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.cli import main
from intents.bulletin import split
from storage import officers, users
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Bulletin, Outbox, Subscription, User
from tests.conftest import bot_settings
from tests.test_telegram_webhook import free_port

OFFICER = 8001
OFFICER_OTHER = 8002
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BASE = 100_000  # subscribers' Telegram ids start here


async def seed(url: str, n: int, region: str = "13", lang: str = "es") -> None:
    """`n` subscribed migrants (region 13 unless told) and two officers."""
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as s, s.begin():
        for tg, reg in ((OFFICER, "13"), (OFFICER_OTHER, "05")):
            await officers.add(
                s, region_code=reg, name=f"Oficial {tg}", telegram_id=str(tg), now=NOW
            )
            user = await users.get_or_create(s, "telegram", str(tg), str(tg), NOW)
            user.role, user.region_code = "officer", reg
        await s.execute(
            insert(User),
            [
                {
                    "channel": "telegram",
                    "external_id": str(BASE + i),
                    "chat_id": str(BASE + i),
                    "role": "migrant",
                    "language": lang,
                    "created_at": NOW,
                    "last_seen_at": NOW,
                }
                for i in range(n)
            ],
        )
        ids = (
            (
                await s.execute(
                    select(User.id).where(User.external_id.in_([str(BASE + i) for i in range(n)]))
                )
            )
            .scalars()
            .all()
        )
        await s.execute(
            insert(Subscription),
            [
                {
                    "user_id": ids[i],
                    "active": True,
                    "region_code": region,
                    "comuna_cut": None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(n)
            ],
        )
    await engine.dispose()


async def rows(url: str, model, *where):
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            return (await s.execute(select(model).where(*where))).scalars().all()
    finally:
        await engine.dispose()


def test_long_bulletins_are_split_at_paragraphs():
    paragraphs = [(f"Párrafo {i}. " + "texto " * 150).strip() for i in range(12)]
    parts = split("\n\n".join(paragraphs), limit=4000)
    assert len(parts) > 1 and all(len(p) <= 4000 for p in parts)
    assert all(p.startswith("Párrafo") for p in parts)  # never cut inside a paragraph
    assert "\n\n".join(parts) == "\n\n".join(paragraphs)
    assert split("x" * 9000, limit=4000) == ["x" * 4000, "x" * 4000, "x" * 1000]


async def test_subscribe_choose_comuna_and_leave(telegram, run_bot, database_url):
    await run_bot(bot_settings(database_url, telegram))
    user = 8100
    telegram.message(user, "/suscribir")
    first = await telegram.wait_text(user, "recibirás el boletín")
    telegram.press(user, first.buttons[0]["callback_data"])
    await telegram.wait_text(user, "En qué comuna")
    telegram.message(user, "Quilicura")
    await telegram.wait_text(user, "para Quilicura")
    [sub] = await rows(database_url, Subscription)
    assert sub.active and sub.comuna_cut == "13125" and sub.region_code == "13"
    telegram.message(user, "STOP")  # one word: opt-out
    await telegram.wait_text(user, "ya no recibirás")
    [sub] = await rows(database_url, Subscription)
    assert not sub.active
    telegram.message(user, "/baja")
    await telegram.wait_text(user, "No estabas suscrita/o")


async def test_broadcast_reaches_everyone_once_under_429_403_and_502(
    telegram, run_bot, database_url
):
    n = 400
    await seed(database_url, n)
    telegram.rate_limit = 120  # the platform's global limit (per second)
    telegram.flaky = 0.05  # and 5% of calls fail with 502
    telegram.blocked = {BASE + i for i in range(0, n, 40)}  # 10 users blocked the bot
    await run_bot(replace(bot_settings(database_url, telegram), send_rate=150))  # over the limit
    telegram.message(OFFICER, "/boletin")
    await telegram.wait_text(OFFICER, "Nuevo boletín")
    telegram.message(OFFICER, "Vacunación gratuita este sábado en el CESFAM.\n\nTraiga su carnet.")
    await telegram.wait_text(OFFICER, "¿Para quién es?")
    telegram.press(OFFICER, "bul:role:all")
    await telegram.wait_text(OFFICER, "idioma")
    telegram.press(OFFICER, "bul:lang:all")
    await telegram.wait_text(OFFICER, "comuna en particular")
    telegram.press(OFFICER, "bul:comuna:all")
    preview = await telegram.wait_text(OFFICER, "Llegará a")
    assert "400 personas" in preview.text
    telegram.press(OFFICER, "bul:send:now")
    await telegram.wait_text(OFFICER, "en envío")
    report = await telegram.wait_text(OFFICER, "terminado", timeout=60)
    assert "390 entregados" in report.text and "10 bloquearon" in report.text
    assert "0 fallidos" in report.text

    received = Counter(s.chat_id for s in telegram.sent if s.chat_id >= BASE)
    expected = {BASE + i for i in range(n)} - telegram.blocked
    assert set(received) == expected
    assert set(received.values()) == {1}  # exactly once each
    assert telegram.rejected["429"] > 0 and telegram.rejected["502"] > 0
    blocked_ids = {str(b) for b in telegram.blocked}
    subs = await rows(database_url, User, User.external_id.in_(blocked_ids))
    active = await rows(database_url, Subscription, Subscription.user_id.in_([u.id for u in subs]))
    assert not any(s.active for s in active)
    [bulletin] = await rows(database_url, Bulletin)
    assert bulletin.status == "done" and bulletin.total == 400


async def test_officer_bulletin_stays_in_region_and_baja_stops_a_scheduled_one(
    telegram, run_bot, database_url, capsys
):
    await seed(database_url, 5, region="13")
    await seed_other_region(database_url)
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(OFFICER_OTHER, "/boletin")
    await telegram.wait_text(OFFICER_OTHER, "Nuevo boletín")
    telegram.message(OFFICER_OTHER, "Aviso para Valparaíso")
    await telegram.wait_text(OFFICER_OTHER, "¿Para quién es?")
    telegram.press(OFFICER_OTHER, "bul:role:all")
    await telegram.wait_text(OFFICER_OTHER, "idioma")
    telegram.press(OFFICER_OTHER, "bul:lang:all")
    await telegram.wait_text(OFFICER_OTHER, "comuna en particular")
    telegram.message(OFFICER_OTHER, "Quilicura")  # a comuna of another region
    await telegram.wait_text(OFFICER_OTHER, "de tu región")
    telegram.press(OFFICER_OTHER, "bul:comuna:all")
    assert "1 persona" in (await telegram.wait_text(OFFICER_OTHER, "Llegará a")).text
    later = (datetime.now(UTC) + timedelta(days=1)).astimezone().strftime("%Y-%m-%d %H:%M")
    telegram.message(OFFICER_OTHER, later)
    await telegram.wait_text(OFFICER_OTHER, "programado")
    [pending] = await rows(database_url, Outbox, Outbox.lane == "bulletin")
    assert pending.chat_id == "9900" and pending.status == "pending"
    telegram.message(9900, "/baja")  # leaving takes effect at once, even for queued bulletins
    await telegram.wait_text(9900, "ya no recibirás")
    [cancelled] = await rows(database_url, Outbox, Outbox.lane == "bulletin")
    assert cancelled.status == "cancelled"
    # Migrants cannot broadcast.
    telegram.message(BASE, "/boletin")
    assert "no está disponible" in (await telegram.wait_text(BASE, "no está disponible")).text


async def seed_other_region(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as s, s.begin():
        user = await users.get_or_create(s, "telegram", "9900", "9900", NOW)
        s.add(
            Subscription(
                user_id=user.id,
                active=True,
                region_code="05",
                comuna_cut="05101",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    await engine.dispose()


async def test_cli_bulletin_goes_out_when_the_bot_starts(
    telegram, run_bot, database_url, tmp_path, monkeypatch, capsys
):
    await seed(database_url, 30, lang="fr")
    await seed_other_region(database_url)
    text = tmp_path / "b.txt"
    text.write_text("Bulletin d'information\n\nDeuxième paragraphe.", encoding="utf-8")
    monkeypatch.setenv("SELLO_DATABASE_URL", database_url)
    code = await asyncio.to_thread(
        main, ["bulletin", "send", "--text-file", str(text), "--region", "13", "--lang", "fr"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "queued for 30 subscribers" in out
    bulletin_id = int(out.split()[1])
    await asyncio.to_thread(main, ["bulletin", "status", str(bulletin_id)])
    assert "pending 30, sent 0" in capsys.readouterr().out
    await run_bot(bot_settings(database_url, telegram))  # no bot was running: it goes out now
    await asyncio.to_thread(
        main, ["bulletin", "send", "--text-file", str(text), "--comuna", "05101", "--wait"]
    )
    waited = capsys.readouterr().out
    assert "1/1" in waited and "sent 1" in waited
    for _ in range(100):
        [bulletin] = await rows(database_url, Bulletin, Bulletin.id == bulletin_id)
        if bulletin.status == "done":
            break
        await asyncio.sleep(0.1)
    await asyncio.to_thread(main, ["bulletin", "status", str(bulletin_id)])
    assert "done, 30 recipients; pending 0, sent 30" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["bulletin", "status", "999"]) == 2


async def test_kill_9_in_the_middle_and_restart_loses_nobody(telegram, database_url, tmp_path):
    n = 300
    await seed(database_url, n)
    telegram.rate_limit = 60
    env = {
        **os.environ,
        "SELLO_DATABASE_URL": database_url,
        "SELLO_TELEGRAM_TOKEN": telegram.token,
        "SELLO_TELEGRAM_API_URL": telegram.api_url,
        "SELLO_HTTP_HOST": "127.0.0.1",
        "SELLO_SEND_RATE": "50",
        "SELLO_OUTBOX_STALE_SECONDS": "3",
    }
    text = tmp_path / "b.txt"
    text.write_text("Boletín de prueba", encoding="utf-8")
    send = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "bulletin",
        "send",
        "--text-file",
        str(text),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert await send.wait() == 0

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env={**env, "SELLO_HTTP_PORT": str(free_port())},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    first = await start()
    try:
        for _ in range(300):
            if len([s for s in telegram.sent if s.chat_id >= BASE]) >= 100:
                break
            await asyncio.sleep(0.1)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    at_kill = len([s for s in telegram.sent if s.chat_id >= BASE])
    assert 0 < at_kill < n, "the crash must happen in the middle of the broadcast"
    second = await start()
    try:
        for _ in range(600):
            if {s.chat_id for s in telegram.sent if s.chat_id >= BASE} >= {
                BASE + i for i in range(n)
            }:
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    received = Counter(s.chat_id for s in telegram.sent if s.chat_id >= BASE)
    assert set(received) == {BASE + i for i in range(n)}  # nobody lost
    duplicates = sum(c - 1 for c in received.values())
    assert duplicates <= 50  # at most the batch in flight when killed (Dispatcher.batch)
