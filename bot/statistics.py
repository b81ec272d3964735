"""CLI actions on the official figures: import an edition, show what the bot would say."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.app import App
from intents import statistics
from intents.engine import utcnow
from intents.i18n import texts
from storage import statistics as stats
from storage.editions import EditionError, read_edition


async def import_edition(app: App, directory: Path, name: str | None = None) -> int:
    """Load a directory in the layout of data/estadisticas as a named edition: every file is
    checked first and a malformed one is refused (file, line, reason) with nothing stored; the
    same edition imported again changes nothing."""
    async with app.sessions() as session:
        cuts, regions = await stats.known_codes(session)
    try:
        # Reading and checking ~15,000 lines is blocking work: off the event loop.
        edition = await asyncio.to_thread(read_edition, directory, cuts, regions, name=name)
    except EditionError as exc:
        for problem in exc.problems:
            print(problem)
        print("nothing imported")
        return 2
    async with app.sessions() as session, session.begin():
        edition_id, outcome = await stats.store(session, edition, utcnow())
        stored_name = next(e.name for e in await stats.editions(session) if e.id == edition_id)
    if outcome is stats.Stored.SAME:
        print(f"these files are already imported as edition {stored_name!r}: nothing changed")
    else:
        verb = "replaced" if outcome is stats.Stored.REPLACED else "imported"
        print(f"edition {edition.name!r} {verb}: {edition.row_count} figures")
    return 0


async def show(app: App, place_name: str, *, as_json: bool = False, lang: str = "es") -> int:
    """What the bot would say about a comuna, CUT or region (`--json`: the figures)."""
    t = texts(lang)
    async with app.sessions() as session:
        gazetteer = await statistics.gazetteer(session)
        found = gazetteer.search(place_name)
        if found.found is None:
            closest = ", ".join(p.name for p in found.closest)
            print(f"no comuna or region called {place_name!r}; closest: {closest}")
            return 2
        figures = await statistics.figures(session, found.found)
    if figures is None:
        print("no edition of the official figures is loaded (sello-bot stats import DIR)")
        return 2
    if as_json:
        print(json.dumps(statistics.as_json(figures), ensure_ascii=False))
    else:
        print(statistics.text(t, figures))
        print()
        print(statistics.caption(t, figures))
    return 0
