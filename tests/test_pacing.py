"""Bulletins are paced evenly: a dispatcher set just under the platform's limit (28/s against
30/s over a sliding second) gets no 429, even at the start of a broadcast."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.telegram import TelegramSender
from bot.dispatcher import Dispatcher
from storage import outbox, users
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Outbox
from tests.fakes.telegram_api import FakeTelegram

RECIPIENTS = 70  # two and a half seconds at 28/s


async def test_a_broadcast_at_28_per_second_gets_no_429_from_a_30_per_second_platform(
    telegram: FakeTelegram, tmp_path
):
    telegram.rate_limit = 30
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pacing.db'}")
    await upgrade(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as s, s.begin():
        for i in range(RECIPIENTS):
            user = await users.get_or_create(s, "telegram", str(5000 + i), str(5000 + i), now)
            await s.flush()
            outbox.enqueue(s, user, "Boletín de prueba", now, lane=outbox.BULLETIN)
    sender = TelegramSender(telegram.token, telegram.api_url)
    dispatcher = Dispatcher(
        sessions, {"telegram": sender}, lambda: datetime.now(UTC), rate=28, concurrency=64
    )
    try:
        while await dispatcher.run_once("telegram"):
            pass
        async with sessions() as s:
            statuses = [row.status for row in (await s.execute(Outbox.__table__.select())).all()]
    finally:
        await sender.close()
        await engine.dispose()
    assert telegram.rejected["429"] == 0
    assert statuses == ["sent"] * RECIPIENTS
