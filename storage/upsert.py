"""INSERT … ON CONFLICT DO NOTHING for the dialects we run on (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from storage import db

# Built once per dialect and table, the values passed as parameters: a statement built anew
# for each call costs more to build and to look up in the compiled cache than to run (the
# update-dedupe claim runs on every incoming message).
_IGNORING: dict[tuple[str, Table], Insert] = {}


def _ignoring(dialect: str, table: Table) -> Insert:
    statement = _IGNORING.get((dialect, table))
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _IGNORING[dialect, table] = insert(table).on_conflict_do_nothing()
    return statement


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique key already holds it; True when inserted.

    The database's unique constraint decides (no check-then-insert race, no savepoint).
    """
    statement = _ignoring(db.dialect_name(session), table)
    return bool(await db.write(session, statement, values))


async def insert_ignore_returning(
    session: AsyncSession, table: Table, values: dict[str, Any]
) -> Mapping[str, Any] | None:
    """Insert a row unless a unique key already holds it: the new row (every column, as the
    database wrote it), or None on conflict."""
    statement = _returning(db.dialect_name(session), table)
    rows = await db.read(session, statement, values)
    return rows[0] if rows else None


_RETURNING: dict[tuple[str, Table], Insert] = {}


def _returning(dialect: str, table: Table) -> Insert:
    statement = _RETURNING.get((dialect, table))
    if statement is None:
        statement = _RETURNING[dialect, table] = _ignoring(dialect, table).returning(*table.c)
    return statement


async def upsert_increment(
    session: AsyncSession, table: Table, key: str, value: Any, counter: str
) -> int:
    """Insert (key=value, counter=1) or add 1 to the counter; return the new counter.

    One statement: the row lock (PostgreSQL) or the write lock (SQLite) makes concurrent
    increments wait for each other, so no two callers ever get the same number.
    """
    dialect = db.dialect_name(session)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(table)
        .values({key: value, counter: 1})
        .on_conflict_do_update(index_elements=[table.c[key]], set_={counter: table.c[counter] + 1})
        .returning(table.c[counter])
    )
    return int((await session.execute(upsert)).scalar_one())
