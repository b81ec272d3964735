"""CLI actions on the directory: which comunas are adhered to the Sello Migrante."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from bot.app import App
from storage import directory


async def adhere(app: App, cut: str, since: date | None) -> int:
    async with app.sessions() as session, session.begin():
        comuna = await directory.set_adhered(session, cut.strip().zfill(5), since)
        if comuna is None:
            print(f"unknown comuna code {cut!r} (CUT, e.g. 13110)")
            return 2
        name = comuna.name
    if since is None:
        print(f"{name} ({comuna.cut}) is no longer marked as adhered")
    else:
        print(f"{name} ({comuna.cut}) adhered since {since.isoformat()}")
    return 0


async def import_csv(app: App, path: Path) -> int:
    """Columns `cut,since`; every row is checked before any is written (all or nothing)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        print(f"cannot read {path}: {exc}")
        return 2
    parsed: list[tuple[str, date]] = []
    problems = []
    for number, row in enumerate(rows, 2):
        cut = (row.get("cut") or "").strip().zfill(5)
        try:
            since = date.fromisoformat((row.get("since") or "").strip())
        except ValueError:
            problems.append(f"line {number}: 'since' must be YYYY-MM-DD")
            continue
        parsed.append((cut, since))
    async with app.sessions() as session, session.begin():
        for cut, _ in parsed:
            if await directory.comuna(session, cut) is None:
                problems.append(f"unknown comuna code {cut}")
        if problems:
            for problem in problems:
                print(problem)
            print("nothing imported")
            return 2
        for cut, since in parsed:
            await directory.set_adhered(session, cut, since)
    print(f"{len(parsed)} comunas marked as adhered")
    return 0


async def list_adhered(app: App) -> int:
    async with app.sessions() as session:
        rows = [c for c in await directory.all_comunas(session) if directory.in_sello(c)]
    for c in rows:
        since = c.adhered_since.isoformat() if c.adhered_since else ""
        print(f"{c.cut}\t{c.name}\t{since}\t{c.sello_status or ''}\t{c.sello_source or ''}")
    print(f"{len(rows)} adhered comunas")
    return 0
