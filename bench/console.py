"""Console benchmark: page times with 10,000 cases and 100,000 outbox rows on SQLite.

Every page is requested through aiohttp's test client (the whole server path: routing,
session check, queries, template), signed in as the region-13 officer and as an admin.
Target: p95 <= 150 ms per page. Peak RSS is reported. The statistics are cached for a
minute per scope; "#recomputed" measures them with the cache emptied before each request.

Run: python bench/console.py [--cases 10000] [--outbox 100000] [--requests 40] [--only TEXT]
(--only: just the pages whose path contains TEXT, e.g. --only estadisticas)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.console import routes  # noqa: E402
from bot.console.web import CONFIG_KEY  # noqa: E402
from bot.http import make_server  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import console  # noqa: E402
from storage.models import (  # noqa: E402
    Bulletin,
    Case,
    CaseEvent,
    Comuna,
    Outbox,
    UnansweredQuestion,
    User,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STATUSES = ("abierto", "en_revision", "respondido", "derivado", "cerrado")
WORDS = "salud escuela vivienda trabajo permiso cesfam arriendo visa familia niños".split()


async def seed(app, n_cases: int, n_outbox: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    async with app.sessions() as s, s.begin():
        comunas = (await s.execute(select(Comuna.cut, Comuna.region_code))).all()
        n_users = n_outbox // 2
        await s.execute(
            insert(User),
            [
                {
                    "channel": "telegram",
                    "external_id": str(100000 + i),
                    "chat_id": str(100000 + i),
                    "role": "municipal" if i < 300 else "migrant",
                    "comuna_cut": comunas[i % len(comunas)][0],
                    "region_code": comunas[i % len(comunas)][1],
                    "language": "es",
                    "created_at": NOW,
                    "last_seen_at": NOW,
                }
                for i in range(n_users)
            ],
        )
        officer = User(
            channel="telegram",
            external_id="1",
            chat_id="1",
            role="officer",
            region_code="13",
            language="es",
            created_at=NOW,
            last_seen_at=NOW,
        )
        admin = User(
            channel="telegram",
            external_id="2",
            chat_id="2",
            role="admin",
            language="es",
            created_at=NOW,
            last_seen_at=NOW,
        )
        s.add_all([officer, admin])
        await s.flush()
        first = (await s.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
        region13 = [c for c, r in comunas if r == "13"]
        case_rows = []
        for i in range(n_cases):
            cut, region = (
                (rnd.choice(region13), "13") if i % 2 else comunas[rnd.randrange(len(comunas))]
            )
            opened = NOW - timedelta(days=rnd.randrange(365), minutes=rnd.randrange(1440))
            case_rows.append(
                {
                    "number": f"SM-2026-{i + 1:05d}",
                    "comuna_cut": cut,
                    "region_code": region,
                    "category": "salud",
                    "description": " ".join(rnd.choices(WORDS, k=12)),
                    "urgency": "urgente" if i % 7 == 0 else "normal",
                    "status": STATUSES[i % 5],
                    "opened_by": first + (i % 300),
                    "opened_at": opened,
                    "updated_at": opened,
                }
            )
        await s.execute(insert(Case), case_rows)
        ids = (await s.execute(select(Case.id, Case.opened_at, Case.status))).all()
        events = []
        for case_id, opened, status in ids:
            events.append(
                {
                    "case_id": case_id,
                    "kind": "opened",
                    "actor_role": "municipal",
                    "body": "abrió",
                    "status_to": "abierto",
                    "at": opened,
                }
            )
            if status != "abierto":
                events.append(
                    {
                        "case_id": case_id,
                        "kind": "message",
                        "actor_role": "officer",
                        "body": "respuesta",
                        "at": opened + timedelta(hours=rnd.randrange(1, 72)),
                    }
                )
            if status == "cerrado":
                events.append(
                    {
                        "case_id": case_id,
                        "kind": "status",
                        "actor_role": "officer",
                        "status_from": "respondido",
                        "status_to": "cerrado",
                        "at": opened + timedelta(hours=rnd.randrange(72, 400)),
                    }
                )
        for start in range(0, len(events), 5000):
            await s.execute(insert(CaseEvent), events[start : start + 5000])
        bulletin = Bulletin(
            author_id=officer.id,
            text="Boletín de prueba",
            filters={"region": "13"},
            status="queued",
            total=n_users,
            created_at=NOW,
            scheduled_at=NOW,
        )
        s.add(bulletin)
        await s.flush()
        rows = [
            {
                "user_id": first + (i % n_users),
                "channel": "telegram",
                "chat_id": str(100000 + i % n_users),
                "lane": "bulletin" if i < n_users else "notify",
                "text": "texto",
                "bulletin_id": bulletin.id if i < n_users else None,
                "status": ("sent", "pending", "blocked", "failed")[i % 4],
                "attempts": 1,
                "next_attempt_at": NOW,
                "created_at": NOW,
            }
            for i in range(n_outbox)
        ]
        for start in range(0, len(rows), 5000):
            await s.execute(insert(Outbox), rows[start : start + 5000])
        await s.execute(
            insert(UnansweredQuestion),
            [
                {
                    "text": " ".join(rnd.choices(WORDS, k=6)),
                    "lang": "es",
                    "channel": "telegram",
                    "best_topic": None,
                    "score": 0.2,
                    "asked_at": NOW - timedelta(hours=i),
                }
                for i in range(2000)
            ],
        )
        some_case = case_rows and ids[1][0]
        return {
            "officer": officer.id,
            "admin": admin.id,
            "bulletin": bulletin.id,
            "case": some_case,
        }


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = await build_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db"))
        app.engine.clock = lambda: NOW
        started = time.perf_counter()
        made = await seed(app, args.cases, args.outbox)
        print(
            f"seeded {args.cases} cases, {args.outbox} outbox rows in {time.perf_counter() - started:.1f} s"
        )
        server = make_server([routes(app.engine, "http://127.0.0.1:8080")])
        pages = [
            "/console/casos",
            "/console/casos?estado=sin_cerrar&urgencia=urgente&antiguedad=7",
            "/console/casos?q=cesfam%20arriendo&pagina=3",
            f"/console/casos/{made['case']}",
            f"/console/boletin/{made['bulletin']}/progreso",
            "/console/boletin",
            "/console/estadisticas",
            "/console/estadisticas#recomputed",
            "/console/directorio",
            "/console/preguntas",
        ]
        pages = [p for p in pages if args.only in p]
        # As `sello-bot run` does after start-up (bot/runner.py): what was loaded stays out of
        # the collector's full passes, which would otherwise pause a request now and then.
        gc.collect()
        gc.freeze()
        async with TestClient(TestServer(server)) as client:
            for role in ("officer", "admin"):
                client.session.cookie_jar.clear()
                async with app.sessions() as s, s.begin():
                    user = await s.get(User, made[role])
                    token = console.issue_link(s, user, NOW)
                assert (
                    await client.post(f"/console/entrar/{token}", allow_redirects=False)
                ).status == 303
                print(f"\n{role}: page p50 / p95 / max (ms) over {args.requests} requests")
                for path in pages:
                    times = []
                    for _ in range(args.requests):
                        if path.endswith("#recomputed"):  # the figures' cache emptied first
                            server[CONFIG_KEY].cache.clear()
                        t0 = time.perf_counter()
                        response = await client.get(path)
                        body = await response.text()
                        times.append((time.perf_counter() - t0) * 1000)
                        assert response.status == 200, (path, response.status, body[:200])
                    times.sort()
                    p95 = times[int(len(times) * 0.95) - 1]
                    flag = "ok" if p95 <= 150 else "OVER"
                    label = re.sub(r"/\d+", "/ID", path)
                    print(
                        f"  {label:70s} {statistics.median(times):6.1f} {p95:6.1f} {times[-1]:6.1f}  {flag}"
                    )
        await app.close()
    print(f"\npeak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--outbox", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--only", default="", help="only the pages whose path contains this")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
