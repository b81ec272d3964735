"""Storage on SQLite and on PostgreSQL: migrations, directory, users, idempotency keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from storage import directory, officers, questions, updates, users
from storage.db import create_engine, session_factory
from storage.errors import AlreadyHandled
from storage.migrate import upgrade
from storage.models import Comuna, Region

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def test_directory_is_seeded_from_the_official_list(sessions):
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Comuna)) == 346
        assert await s.scalar(select(func.count()).select_from(Region)) == 16
        iquique = await directory.comuna(s, "01101")
        assert iquique is not None and iquique.name == "Iquique" and iquique.region_code == "01"
        # Codes are text: the leading zero is kept.
        assert (await directory.region(s, "01")) is not None


async def test_upgrade_is_idempotent(database_url):
    engine = create_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)
    async with session_factory(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Comuna)) == 346
    await engine.dispose()


async def test_user_is_created_once_per_channel_identity(sessions):
    async with sessions() as s, s.begin():
        a = await users.get_or_create(s, "telegram", "42", "42", NOW)
    async with sessions() as s, s.begin():
        b = await users.get_or_create(s, "telegram", "42", "42", NOW)
        c = await users.get_or_create(s, "whatsapp", "42", "42", NOW)
    assert a.id == b.id != c.id
    assert b.role == "migrant"


async def test_flow_state_survives_a_new_session(sessions):
    async with sessions() as s, s.begin():
        user = await users.get_or_create(s, "telegram", "7", "7", NOW)
        users.set_flow(user, "language", "choose", {"k": "v"}, NOW)
    async with sessions() as s:
        again = await users.get(s, "telegram", "7")
        assert again is not None
        assert (again.flow, again.flow_step, again.flow_data) == ("language", "choose", {"k": "v"})


async def test_an_update_can_be_claimed_only_once(sessions):
    async with sessions() as s, s.begin():
        await updates.claim(s, "telegram", "100", NOW)
    async with sessions() as s, s.begin():
        with pytest.raises(AlreadyHandled):
            await updates.claim(s, "telegram", "100", NOW)
        # the same key on another channel is another update
        await updates.claim(s, "whatsapp", "100", NOW)


async def test_officers_and_adhesion(sessions):
    async with sessions() as s, s.begin():
        await officers.add(
            s,
            region_code="13",
            name="Ana Ficticia",
            telegram_id="900",
            email="ana@example.org",
            now=NOW,
        )
        await directory.set_adhered(s, "13110", date(2019, 5, 2))
    async with sessions() as s:
        assert [o.name for o in await officers.listing(s, "13")] == ["Ana Ficticia"]
        assert await officers.listing(s, "01") == []
        assert await directory.count_adhered(s) == 10  # 9 confirmed by public sources + 1


async def test_unanswered_questions_are_logged_with_time_and_language(sessions):
    async with sessions() as s, s.begin():
        await questions.log_unanswered(
            s,
            text="¿receta de sopaipillas?",
            lang="es",
            channel="telegram",
            best_topic=None,
            score=0.1,
            now=NOW,
        )
    async with sessions() as s:
        [row] = await questions.since(s)
        assert row.lang == "es" and row.asked_at.replace(tzinfo=UTC) == NOW


async def test_stored_times_come_back_aware_in_utc(sessions):
    """One UTC type for every time column: SQLite's naive values and PostgreSQL's session
    zone both come back as aware UTC; a naive value written is taken as UTC."""
    from datetime import timedelta, timezone

    santiago = timezone(timedelta(hours=-3))
    written = datetime(2026, 12, 6, 9, 30, tzinfo=santiago)  # 12:30 UTC
    async with sessions() as s, s.begin():
        user = await users.get_or_create(s, "console", "t1", "t1", written)
        user.last_inbound_at = datetime(2026, 12, 6, 12, 45)  # naive: UTC
    async with sessions() as s:
        user = await users.get(s, "console", "t1")
        assert user is not None
        assert user.created_at == datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
        assert user.created_at.utcoffset() == timedelta(0)
        assert user.last_inbound_at == datetime(2026, 12, 6, 12, 45, tzinfo=UTC)
        assert user.last_inbound_at.tzinfo is not None


async def test_a_second_officer_with_the_same_telegram_id_is_our_duplicate(sessions):
    """The driver's IntegrityError does not leak out of storage: callers catch our error."""
    from storage.errors import Duplicate

    now = datetime.now(UTC)
    async with sessions() as s, s.begin():
        await officers.add(s, region_code="13", name="Ana Prueba", telegram_id="9001", now=now)
    with pytest.raises(Duplicate):
        async with sessions() as s, s.begin():
            await officers.add(s, region_code="05", name="Eva Prueba", telegram_id="9001", now=now)


async def test_a_comuna_referred_to_but_missing_is_an_inconsistency_not_an_assert(sessions):
    from storage.errors import Inconsistent

    async with sessions() as s:
        assert (await directory.known_comuna(s, "13101")).cut == "13101"
        with pytest.raises(Inconsistent):
            await directory.known_comuna(s, "99999")


def test_user_attributes_are_named_as_their_columns():
    """storage/users.py reads the user's row with Core and sets it as the loaded state of a
    User (`_adopt`), and writes changed attributes as columns (`save`): both need each
    mapped attribute to carry its column's name. A renamed attribute would fail here, not
    silently lose a value."""
    from sqlalchemy import inspect

    from storage.models import User

    mapper = inspect(User)
    assert {p.key for p in mapper.column_attrs} == {c.key for c in User.__table__.columns}
    assert all(p.key == p.columns[0].key for p in mapper.column_attrs)
