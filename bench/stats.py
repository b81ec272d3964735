"""Statistics benchmark: a warm /estadisticas answer through the engine, a chart drawn
(uncached), and the import of the shipped edition, on a fresh SQLite database.

Targets (issue 14): text answer <= 20 ms p95 warm, chart <= 300 ms p95 (then cached),
import <= 10 s on SQLite.

Run: python bench/stats.py [--rounds 200] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from intents import statistics  # noqa: E402
from intents.charts import render  # noqa: E402
from intents.engine import utcnow  # noqa: E402
from intents.flood import FloodLimiter  # noqa: E402
from intents.i18n import texts  # noqa: E402
from intents.messages import Incoming  # noqa: E402
from storage import statistics as stats  # noqa: E402
from storage.editions import SHIPPED, read_edition  # noqa: E402
from storage.models import StatEdition  # noqa: E402

PLACES = [
    "Santiago",
    "Antofagasta",
    "Putre",
    "estacion centrl",
    "kilikura",
    "Biobío",
    "Chile",
    "Iquique",
    "Temuco",
    "Arica",
]


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def line(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"{name:<34} n={len(ms):<4} median {sorted(ms)[len(ms) // 2]:7.2f} ms   "
        f"p95 {p95(ms):7.2f} ms   max {max(ms):7.2f} ms"
    )


async def run(rounds: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        app = await build_app(Settings(database_url=db_url))
        print(
            f"build_app (migrations incl. the shipped edition): {time.perf_counter() - started:.2f} s"
        )
        app.engine.flood = FloodLimiter(capacity=10**9)

        # Warm: every place answered once (charts drawn and cached, matplotlib imported).
        for i, place in enumerate(PLACES):
            await app.engine.handle(
                Incoming("bench", "w", "w", text=f"/estadisticas {place}", update_id=f"w{i}")
            )
        answers: list[float] = []
        for k in range(rounds):
            place = PLACES[k % len(PLACES)]
            incoming = Incoming(
                "bench", str(k % 50), str(k % 50), text=f"/estadisticas {place}", update_id=f"a{k}"
            )
            t0 = time.perf_counter()
            replies = await app.engine.handle(incoming)
            answers.append(time.perf_counter() - t0)
            assert replies and replies[-1].attachment is not None
        print(line("answer, warm (engine, cached chart)", answers))

        # The text alone: the queries and the formatting.
        t = texts("es")
        gazetteer = app.engine.services.gazetteer
        assert gazetteer is not None
        text_only: list[float] = []
        for k in range(rounds):
            place = gazetteer.search(PLACES[k % len(PLACES)]).found
            assert place is not None
            t0 = time.perf_counter()
            async with app.sessions() as session:
                figures = await statistics.figures(session, place)
            assert figures is not None
            statistics.text(t, figures)
            text_only.append(time.perf_counter() - t0)
        print(line("text only (queries + formatting)", text_only))

        # Charts drawn without the cache, every place in each language.
        charts: list[float] = []
        for lang in ("es", "ht", "fr", "en"):
            tl = texts(lang)
            for name in PLACES:
                place = gazetteer.search(name).found
                assert place is not None
                async with app.sessions() as session:
                    figures = await statistics.figures(session, place)
                assert figures is not None
                data = statistics.chart_data(tl, figures)
                t0 = time.perf_counter()
                png = render(data, tl.number)
                charts.append(time.perf_counter() - t0)
                assert png.startswith(b"\x89PNG")
        print(line("chart rendered (uncached)", charts))
        print(f"charts cached after the answers: {len(app.engine.services.charts)}")

        # Import of the shipped edition: the stored one removed first, then loaded again.
        imports: list[float] = []
        for _ in range(3):
            async with app.sessions() as session, session.begin():
                await session.execute(delete(StatEdition))
            t0 = time.perf_counter()
            async with app.sessions() as session:
                cuts, regions = await stats.known_codes(session)
            edition = await asyncio.to_thread(read_edition, SHIPPED, cuts, regions)
            async with app.sessions() as session, session.begin():
                await stats.store(session, edition, utcnow())
            imports.append(time.perf_counter() - t0)
        print(line(f"import of the shipped edition ({edition.row_count} rows)", imports))
        await app.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.url))


if __name__ == "__main__":
    main()
