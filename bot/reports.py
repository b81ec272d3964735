"""Reports for SERMIG: cases as CSV (masked descriptions stay masked)."""

from __future__ import annotations

import csv
from pathlib import Path

from bot.app import App
from storage import cases, directory

COLUMNS = (
    "number",
    "region",
    "comuna",
    "category",
    "urgency",
    "status",
    "referred_to",
    "opened_at",
    "updated_at",
    "description",
)


async def export_cases(app: App, region: str | None, path: Path) -> int:
    region_code = region.zfill(2) if region else None
    async with app.sessions() as session:
        if region_code and await directory.region(session, region_code) is None:
            print(f"unknown region {region!r}")
            return 2
        rows = await cases.export_rows(session, region_code)
        names = {c.cut: c.name for c in await directory.all_comunas(session)}
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for case in rows:
            writer.writerow(
                [
                    case.number,
                    case.region_code,
                    names.get(case.comuna_cut, case.comuna_cut),
                    case.category,
                    case.urgency,
                    case.status,
                    case.referred_to or "",
                    case.opened_at.isoformat(),
                    case.updated_at.isoformat(),
                    case.description,
                ]
            )
    print(f"{len(rows)} cases written to {path}")
    return 0
