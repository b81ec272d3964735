"""Repository of enrollment codes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EnrollmentCode

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8
VALIDITY = timedelta(days=7)


async def issue(
    session: AsyncSession, comuna_cut: str, now: datetime, created_by: int | None = None
) -> EnrollmentCode:
    code = EnrollmentCode(
        code="".join(secrets.choice(ALPHABET) for _ in range(LENGTH)),
        comuna_cut=comuna_cut,
        created_by=created_by,
        created_at=now,
        expires_at=now + VALIDITY,
    )
    session.add(code)
    await session.flush()
    return code


async def find(session: AsyncSession, code: str) -> EnrollmentCode | None:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    if not cleaned or len(cleaned) > 16:
        return None
    return await session.get(EnrollmentCode, cleaned, with_for_update=True)
