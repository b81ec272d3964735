"""Repository of users: find or create by channel identity, roles, language and flow state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.dml import Update

from storage import db, directory, outbox
from storage.errors import Inconsistent
from storage.models import User, iso
from storage.states import Role
from storage.upsert import insert_ignore_returning

# last_seen_at is refreshed at most this often: one less write on most messages.
SEEN_RESOLUTION = timedelta(minutes=1)


_USERS: Table = User.__table__  # type: ignore[assignment]
_MAPPER = inspect(User)
# `_adopt` builds Users as the ORM's loader does, which needs the mappers configured (the
# ORM does it on its first query; the first User may come from `_adopt`).
configure_mappers()

# Built once: this query runs on every incoming message. The row is read with Core and made
# the session's User (`_adopt`): what an ORM query returns, without its loading machinery.
_BY_IDENTITY = select(*_USERS.c).where(
    _USERS.c.channel == bindparam("channel"), _USERS.c.external_id == bindparam("external_id")
)


async def get(session: AsyncSession, channel: str, external_id: str) -> User | None:
    rows = await db.read(
        session, _BY_IDENTITY, {"channel": channel, "external_id": external_id}, autoflush=True
    )
    return _adopt(session, rows[0]) if rows else None


def _adopt(session: AsyncSession, row: Mapping[str, Any]) -> User:
    """The session's User for a row just read, as an ORM query would give it: the one the
    session already holds, else a new persistent one with the row's values as loaded."""
    sync = session.sync_session
    held = sync.identity_map.get(_MAPPER.identity_key_from_primary_key((row["id"],)))
    if held is not None:
        return held  # type: ignore[no-any-return]
    user = _MAPPER.class_manager.new_instance()  # as the ORM's loader does: no __init__,
    user.__dict__.update(row)  # the row's values set as loaded, not as changes
    make_transient_to_detached(user)  # its identity; nothing pending
    sync.add(user)
    return user


async def get_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


# The chat_id of someone who has only written in groups: no private chat to reach them at
# yet (a bot cannot start one); messages for them wait in the outbox ("held").
NO_PRIVATE_CHAT = ""


async def get_or_create(
    session: AsyncSession,
    channel: str,
    external_id: str,
    chat_id: str | None,
    now: datetime,
    alias: str | None = None,
) -> User:
    """The user for this channel identity, created on first contact (race-safe).

    `chat_id` is the user's private chat, or None when they wrote in a group: a group never
    becomes where a person is reached. When a private chat appears for someone who had none,
    the messages waiting for it become due.

    `alias` is an older identity of the same person (a WhatsApp phone number, once the
    business-scoped user id appears): that user is re-keyed instead of a new one created.
    """
    user = await get(session, channel, external_id)
    if user is None and alias and alias != external_id:
        user = await get(session, channel, alias)
        if user is not None:
            user.external_id = external_id
    if user is None:
        # ON CONFLICT DO NOTHING: another worker may create the same user at the same time;
        # then RETURNING gives nothing and we read the row it created.
        row = await insert_ignore_returning(
            session,
            _USERS,
            {
                "channel": channel,
                "external_id": external_id,
                "chat_id": chat_id if chat_id is not None else NO_PRIVATE_CHAT,
                "role": Role.MIGRANT,
                "created_at": now,
                "last_seen_at": now,
            },
        )
        user = _adopt(session, row) if row is not None else None
        if user is None:
            user = await get(session, channel, external_id)
        if user is None:
            raise Inconsistent(f"user {channel}:{external_id} neither inserted nor found")
        return user
    last_seen = user.last_seen_at
    if now - last_seen >= SEEN_RESOLUTION:
        user.last_seen_at = now
    if chat_id is not None and user.chat_id != chat_id:
        if user.chat_id == NO_PRIVATE_CHAT:
            await outbox.deliver_waiting(session, user.id, chat_id, now)
        user.chat_id = chat_id
    return user


# One UPDATE per set of changed columns, built once (a handful of sets occur: the detected
# language, the last answer, the flow state…).
_UPDATES: dict[tuple[str, ...], Update] = {}


def _update_of(columns: tuple[str, ...]) -> Update:
    statement = _UPDATES.get(columns)
    if statement is None:
        statement = _UPDATES[columns] = (
            update(_USERS)
            .where(_USERS.c.id == bindparam("u_id"))
            .values({c: bindparam(f"v_{c}", type_=_USERS.c[c].type) for c in columns})
        )
    return statement


async def save(session: AsyncSession, user: User) -> None:
    """Write what this unit of work changed in `user` now, in one UPDATE of its changed
    columns, when it is the unit's only pending change: the same statement the unit of work's
    flush would issue at commit, without the flush's bookkeeping (the costliest step of a
    message's database work). Anything else pending, and the flush does it all, as before."""
    state = inspect(user)
    if not state.modified or not state.persistent:
        return
    sync = session.sync_session
    if sync.new or sync.deleted or any(other is not user for other in sync.dirty):
        return
    params: dict[str, Any] = {}
    for key, old in state.committed_state.items():
        prop = _MAPPER.attrs.get(key)
        if not isinstance(prop, ColumnProperty) or key not in state.dict:
            return  # not a plain loaded column: left to the flush
        value = state.dict[key]
        if state.manager[key].impl.is_equal(value, old) is not True:
            params[prop.columns[0].key] = value
    if params:
        columns = tuple(sorted(params))
        values = {f"v_{c}": params[c] for c in columns}
        matched = await db.write(session, _update_of(columns), {"u_id": user.id, **values})
        if matched != 1:
            raise StaleDataError(
                f"UPDATE statement on table 'users' expected to update 1 row(s); "
                f"{matched} were matched."
            )
    state._commit_all(state.dict, sync.identity_map)  # as the flush does once it wrote them


def reachable(user: User) -> bool:
    """Whether the user has a private chat that messages to them can go to."""
    return user.chat_id != NO_PRIVATE_CHAT


def set_flow(
    user: User, flow: str | None, step: str | None, data: dict[str, Any] | None, now: datetime
) -> None:
    user.flow = flow
    user.flow_step = step
    user.flow_data = dict(data) if data is not None else None
    user.flow_updated_at = now if flow else None


async def recipients(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, tuple[str | None, datetime | None]]:
    """For the dispatcher: each user's language (as `User.speaks`) and the time of their last
    message (a customer-service window), in one query."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(
            User.id,
            func.coalesce(User.language, User.detected_language, User.client_language),
            User.last_inbound_at,
        ).where(User.id.in_(user_ids))
    )
    return {int(i): (lang, last) for i, lang, last in rows.all()}


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """The person's profile, as /misdatos gives it."""
    comuna = await directory.comuna(session, user.comuna_cut) if user.comuna_cut else None
    region = await directory.region(session, user.region_code) if user.region_code else None
    profile: dict[str, Any] = {
        "id": user.id,
        "channel": user.channel,
        "external_id": user.external_id,
        "chat_id": user.chat_id,
        "language": user.language,
        "client_language": user.client_language,
        "detected_language": user.detected_language,
        "role": user.role,
        "comuna": {"cut": comuna.cut, "name": comuna.name} if comuna else None,
        "region": {"code": region.code, "name": region.name} if region else None,
        "created_at": iso(user.created_at),
        "last_seen_at": iso(user.last_seen_at),
        "last_inbound_at": iso(user.last_inbound_at),
        "last_answer": user.last_answer,
        "current_flow": (
            {
                "flow": user.flow,
                "step": user.flow_step,
                "data": user.flow_data,
                "updated_at": iso(user.flow_updated_at),
            }
            if user.flow
            else None
        ),
    }
    return {"profile": profile}


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """The user row itself: erased last, once every row that refers to it is gone."""
    await session.delete(user)
    await session.flush()
    return {"user": 1}


async def purge_before(session: AsyncSession, older_than: datetime) -> dict[str, int]:
    """The answers a person can still rate keep their (masked) questions on the user row
    (intents/flows/feedback.py); those of someone not seen for the retention period are
    conversation logs like any other: they go."""
    result = await session.execute(
        update(User)
        .where(User.last_seen_at < older_than, User.last_answer.is_not(None))
        .values(last_answer=None)
        .execution_options(synchronize_session=False)
    )
    return {"recent_answers": int(result.rowcount or 0)}  # type: ignore[attr-defined]
