"""INSERT … ON CONFLICT DO NOTHING for the dialects we run on (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique key already holds it; True when inserted.

    The database's unique constraint decides (no check-then-insert race, no savepoint).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def insert_ignore_returning(session: AsyncSession, entity: Any, values: dict[str, Any]) -> Any:
    """An ORM INSERT … ON CONFLICT DO NOTHING RETURNING the new object (none on conflict)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(entity).values(**values).on_conflict_do_nothing().returning(entity)
