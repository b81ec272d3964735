"""Repository of enrollment codes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EnrollmentCode, User, iso

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


# -- a person's rights (storage/personal.py) -----------------------------------------------------


async def export_for(session: AsyncSession, user: User) -> dict[str, Any]:
    """The codes the person used (which comuna, when) and how many they issued."""
    used = (
        await session.scalars(
            select(EnrollmentCode)
            .where(EnrollmentCode.used_by == user.id)
            .order_by(EnrollmentCode.used_at)
        )
    ).all()
    issued = await session.scalar(
        select(func.count()).select_from(EnrollmentCode).where(EnrollmentCode.created_by == user.id)
    )
    return {
        "enrollment_codes_used": [
            {"comuna_cut": code.comuna_cut, "used_at": iso(code.used_at)} for code in used
        ],
        "enrollment_codes_issued": int(issued or 0),
    }


async def erase_for(session: AsyncSession, user: User, now: datetime) -> dict[str, int]:
    """Codes keep used_at, so a used code stays used; only who used or issued it is forgotten."""
    erased = 0
    for statement in (
        update(EnrollmentCode).where(EnrollmentCode.used_by == user.id).values(used_by=None),
        update(EnrollmentCode).where(EnrollmentCode.created_by == user.id).values(created_by=None),
    ):
        result = await session.execute(statement)
        erased += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return {"enrollment_codes": erased}
