"""The WhatsApp inbox: a call is stored before its 200, processed from the database (at
start too), and a call that cannot be stored gets a 503 so that WhatsApp delivers it again."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from storage import inbox
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import HandledUpdate, InboxEvent
from tests.fakes.graph_api import FakeGraph
from tests.test_whatsapp import PHONE, Hook, _rows, envelope, message, value, wa_settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def graph():
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()


async def _sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _refuse_writes(url: str) -> None:
    """The inbox cannot be written (as with a full disk): every insert fails."""
    if url.startswith("sqlite"):
        await _sql(
            url,
            "CREATE TRIGGER disk_full BEFORE INSERT ON inbox "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
    else:
        await _sql(
            url,
            "CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
            "'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER disk_full BEFORE INSERT ON inbox "
            "FOR EACH ROW EXECUTE FUNCTION disk_full()",
        )


async def _up(hook: Hook) -> None:
    for _ in range(100):
        try:
            if await hook.post(b"{}") == 400:  # serving (an empty call is malformed)
                return
        except Exception:
            pass
        await asyncio.sleep(0.1)


async def test_a_call_that_cannot_be_stored_gets_503_then_is_answered_when_delivered_again(
    graph, run_bot, database_url
):
    settings = wa_settings(database_url, graph)
    await upgrade_only(database_url)
    await _refuse_writes(database_url)
    await run_bot(settings)
    hook = Hook(settings.http_port)
    await _up(hook)
    call = envelope(value([message(PHONE, text="/ayuda")]))
    assert await hook.post(call) == 503  # not stored: WhatsApp must try again
    await asyncio.sleep(0.5)
    assert graph.sent == []
    await _sql(
        database_url, "DROP TRIGGER disk_full" + ("" if "sqlite" in database_url else " ON inbox")
    )
    assert await hook.post(call) == 200  # WhatsApp's retry
    await graph.wait(PHONE, 1)
    await asyncio.sleep(0.5)
    assert len(graph.to(PHONE)) == 1
    assert await _rows(database_url, InboxEvent) == []  # done calls leave the inbox


async def upgrade_only(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def test_calls_left_in_the_inbox_are_processed_at_start(graph, run_bot, database_url):
    """One call stored but never claimed, one claimed by a worker that died: both answered
    by the next worker, each message once."""
    await upgrade_only(database_url)
    other = "56900000002"
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    async with session_factory(engine)() as s, s.begin():
        await inbox.store(
            s, "whatsapp", json.dumps(envelope(value([message(PHONE, text="/ayuda")]))), now
        )
        dead = await inbox.store(
            s, "whatsapp", json.dumps(envelope(value([message(other, text="/ayuda")]))), now
        )
    async with session_factory(engine)() as s, s.begin():
        [oldest] = await inbox.claim(s, "whatsapp", now, 1, timedelta(seconds=30))
        assert oldest.id != dead  # oldest first
        [claimed] = await inbox.claim(s, "whatsapp", now, 1, timedelta(seconds=30))
        assert claimed.id == dead
        await inbox.release(s, [oldest.id])  # handed back by a worker that stopped cleanly
        claimed.claimed_at = now - timedelta(minutes=5)  # its worker died long ago
    await engine.dispose()
    settings = wa_settings(database_url, graph)
    await run_bot(settings)
    await graph.wait(PHONE, 1)
    await graph.wait(other, 1)
    await asyncio.sleep(0.5)
    assert len(graph.to(PHONE)) == 1 and len(graph.to(other)) == 1
    assert await _rows(database_url, InboxEvent) == []
    journal = await _rows(database_url, HandledUpdate)
    assert len(journal) == 2 and all(h.replied_at is not None for h in journal)


async def test_claims_are_exclusive_and_stale_ones_are_taken_over(database_url):
    await upgrade_only(database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    stale = timedelta(seconds=30)
    try:
        async with sessions() as s, s.begin():
            for n in range(3):
                await inbox.store(s, "whatsapp", f'{{"n": {n}}}', NOW)
            await inbox.store(s, "telegram", "{}", NOW)  # another channel's
        if "postgresql" in database_url:
            # Two workers at once: SKIP LOCKED gives each its own calls.
            async with sessions() as a, a.begin(), sessions() as b, b.begin():
                first = [r.id for r in await inbox.claim(a, "whatsapp", NOW, 2, stale)]
                second = [r.id for r in await inbox.claim(b, "whatsapp", NOW, 2, stale)]
            assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
        else:
            async with sessions() as a, a.begin():
                first = [r.id for r in await inbox.claim(a, "whatsapp", NOW, 2, stale)]
            async with sessions() as b, b.begin():
                second = [r.id for r in await inbox.claim(b, "whatsapp", NOW, 2, stale)]
            assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
        async with sessions() as s, s.begin():
            assert await inbox.claim(s, "whatsapp", NOW + stale / 2, 5, stale) == []
            await inbox.touch(s, first, NOW + stale / 2)  # the first worker is alive
        async with sessions() as s, s.begin():
            # Past the stale time only the second worker's call is taken over.
            taken = await inbox.claim(s, "whatsapp", NOW + stale * 1.2, 5, stale)
            assert [r.id for r in taken] == second and taken[0].attempts == 2
            await inbox.done(s, second[0])
        async with sessions() as s:
            assert await inbox.backlog(s) == 3
    finally:
        await engine.dispose()


async def test_a_call_whose_processing_fails_is_tried_again_later_and_a_stop_hands_back_the_rest(
    database_url,
):
    from bot.inbox import Inbox

    await upgrade_only(database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    done: list[str] = []
    failures = 0
    gate = asyncio.Event()

    async def process(body: str) -> None:
        nonlocal failures
        if body == "fails once" and not failures:
            failures += 1
            raise RuntimeError("database unavailable")
        if body == "slow":
            await gate.wait()  # still working when the worker is stopped
        done.append(body)

    worker = Inbox(
        sessions,
        "whatsapp",
        process,
        lambda: datetime.now(UTC),
        stale_after=timedelta(seconds=0.6),
        poll=0.05,
    )
    stop = asyncio.Event()
    try:
        for body in ("fails once", "fine"):
            await worker.store(body)
        running = asyncio.create_task(worker.run(stop, grace=0.2))
        for _ in range(100):
            if len(done) == 2:
                break
            await asyncio.sleep(0.05)
        assert done == ["fine", "fails once"]  # tried again once its claim went stale
        assert failures == 1
        await worker.store("slow")
        await asyncio.sleep(0.2)
        stop.set()
        await running
        async with sessions() as s:
            [left] = (await s.execute(select(InboxEvent))).scalars().all()
        assert left.body == "slow" and left.status == "pending"  # handed back, not lost
    finally:
        await engine.dispose()
