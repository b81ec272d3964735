"""Engine benchmark: messages/s through the whole engine (dedup, user, flow, matcher, SQLite).

1,000 simulated users each send a few questions and commands, many at once (as PTB's
concurrent update processing would), against a fresh SQLite database in WAL mode.

The matcher alone is measured in the same run, on the same texts, so the engine's own cost
(the unit of work around the matching) is the ratio of the two, whatever the machine. The two
legs alternate, a round of messages (each user's next one) at a time.

Run: python bench/engine.py [--users 1000] [--messages 5] [--concurrency 64] [--url URL]
     [--mix realistic|short]
     [--profile N]  (cProfile of the engine run: the N functions with most own time)
     [--precomputed]  (every text matched before the run: the unit of work's own cost)
     [--cold]  (no warm-up of the engine's caches: charts, topic buttons, word walks)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_app  # noqa: E402
from bot.runner import freeze_what_was_loaded  # noqa: E402
from bot.settings import Settings  # noqa: E402
from intents.flood import FloodLimiter  # noqa: E402
from intents.messages import Incoming  # noqa: E402
from knowledge.evaluation import question_set  # noqa: E402

# The earlier figures' ten short texts (`--mix short`), kept to compare with them.
SHORT = [
    "como saco el carnet chileno",
    "hola",
    "/menu",
    "mi hijo puede ir al colegio sin rut?",
    "que es el sello migrante",
    "cuanto cuesta la prorroga de turismo",
    "me atienden en el consultorio sin papeles",
    "receta de empanadas",
    "gracias",
    "/ayuda",
]

# The default mix is what people really send: the questions, greetings, thanks and
# out-of-scope messages of our own labelled tuning sets (long, slangy, misspelt, in four
# languages), and about one message in seven a command or a typed menu word.
TUNING = ("questions_tuning", "real_tuning", "messy_tuning", "written_tuning")
COMMANDS = ["/start", "/menu", "/ayuda", "/idioma", "menu", "/privacidad"]


def realistic(rng: random.Random, count: int) -> list[str]:
    texts = [
        json.loads(line)["text"]
        for name in TUNING
        for line in question_set(name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        rng.choice(COMMANDS) if rng.random() < 1 / 7 else rng.choice(texts) for _ in range(count)
    ]


def matcher_time(app, texts: list[str]) -> tuple[int, float, float]:
    """The matcher alone on the texts the engine matches (those that are not commands): how
    many, and the seconds they took by the clock and by this process's CPU time."""
    questions = [t for t in texts if not t.startswith("/")]
    match = app.engine.services.matcher.match
    start, cpu = time.perf_counter(), time.process_time()
    for text in questions:
        match(text)
    return len(questions), time.perf_counter() - start, time.process_time() - cpu


async def run(
    users: int,
    per_user: int,
    concurrency: int,
    url: str | None,
    profile: int = 0,
    mix: str = "realistic",
    precomputed: bool = False,
    warm: bool = True,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        app = await build_app(Settings(database_url=db_url))
        app.engine.flood = FloodLimiter(capacity=per_user + 1)
        # As `sello-bot run` does once started: what was loaded (the knowledge base, the
        # matcher) kept out of the collector's full passes. Without it, each full pass of the
        # run walked the matcher's objects and paused the loop for 50-75 ms here.
        freeze_what_was_loaded()
        rng = random.Random(1)
        count = users * per_user
        texts = (
            realistic(rng, count)
            if mix == "realistic"
            else [rng.choice(SHORT) for _ in range(count)]
        )
        work = [
            Incoming(
                "bench",
                str(u),
                str(u),
                text=texts[k * users + u],
                update_id=f"{u}-{k}",
                language_hint="es",
            )
            for k in range(per_user)
            for u in range(users)
        ]
        latencies: list[float] = []

        async def worker(queue: asyncio.Queue[Incoming]) -> None:
            while not queue.empty():
                item = queue.get_nowait()
                t0 = time.perf_counter()
                replies = await app.engine.handle(item)
                latencies.append(time.perf_counter() - t0)
                assert replies, item

        # Both legs run with warm caches (the typo corrections, folded texts), as a bot that
        # has been running does: the matcher-alone leg used to run after the engine's, so only
        # it had them warm, which lowered the ratio.
        matcher = app.engine.services.matcher
        known = {
            text: matcher.match(text)
            for text in {item.text or "" for item in work if not (item.text or "").startswith("/")}
        }
        match = matcher.match
        if warm:
            # The engine's caches warm too, as in a bot that has been running: every distinct
            # text once, from other users, untimed (charts drawn once per place and language,
            # topic buttons packed once per topic, the language detection's word walks).
            for i, text in enumerate(sorted({item.text or "" for item in work})):
                await app.engine.handle(
                    Incoming("bench", f"warm{i}", f"warm{i}", text=text, update_id=f"warm{i}")
                )

        def precompute(on: bool) -> None:
            if on:  # the engine's own cost: its matches looked up, not computed
                matcher.match = lambda text: known[text] if text in known else match(text)
            elif "match" in vars(matcher):
                del matcher.match  # the instance's lookup gone: the class's method again

        profiler = cProfile.Profile() if profile else None
        # The two legs alternate, one round (every user's next message) at a time, so that a
        # change in the machine's speed during the run (a shared machine) weighs on both alike:
        # measured one after the other, the ratio moved by 0.1 between identical runs.
        total = total_cpu = alone_time = alone_cpu = 0.0
        questions = 0
        for start_at in range(0, len(work), users):
            batch = work[start_at : start_at + users]
            queue: asyncio.Queue[Incoming] = asyncio.Queue()
            for item in batch:
                queue.put_nowait(item)
            precompute(precomputed)
            if profiler is not None:
                profiler.enable()
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker(queue) for _ in range(concurrency)))
            total += time.perf_counter() - start
            total_cpu += time.process_time() - cpu
            if profiler is not None:
                profiler.disable()
            precompute(False)
            n, clock, cpu_time = matcher_time(app, [item.text or "" for item in batch])
            questions += n
            alone_time += clock
            alone_cpu += cpu_time
        alone, alone_cpu = questions / alone_time, questions / alone_cpu
        await app.close()
    latencies.sort()
    print(
        f"engine on {db_url.split(':')[0]}: {len(work)} messages from {users} users, "
        f"concurrency {concurrency}, {mix} texts"
        + (", matches precomputed (the engine's own cost)" if precomputed else "")
        + ("" if warm else ", cold caches")
    )
    print(
        f"  {len(work) / total:.0f} messages/s; latency p50 "
        f"{1000 * statistics.median(latencies):.1f} ms, "
        f"p99 {1000 * latencies[int(len(latencies) * 0.99) - 1]:.1f} ms"
    )
    rate = len(work) / total
    print(
        f"  matcher alone: {alone:.0f} questions/s; the engine does {rate / alone:.2f} of it"
        + (" (cProfile on: slower)" if profiler is not None else "")
    )
    # The same two rates by this process's CPU time: unlike the clock, not slowed by other
    # processes on a shared machine, so the ratio moves less from run to run.
    rate_cpu = len(work) / total_cpu
    print(
        f"  by CPU time: {rate_cpu:.0f} messages/s, matcher alone {alone_cpu:.0f} "
        f"questions/s; ratio {rate_cpu / alone_cpu:.2f}"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument(
        "--mix",
        choices=("realistic", "short"),
        default="realistic",
        help="realistic: our tuning sets' messages and commands; short: the ten texts of "
        "the figures before 2026-12-06",
    )
    parser.add_argument(
        "--precomputed",
        action="store_true",
        help="match every text before the run: the engine's messages/s without the matching",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no warm-up of the engine's caches (charts, buttons, word walks) before the run",
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.users,
            args.messages,
            args.concurrency,
            args.url,
            args.profile,
            args.mix,
            args.precomputed,
            not args.cold,
        )
    )


if __name__ == "__main__":
    main()
