"""`sello-bot bulletin send/status`: broadcasts without chat, with a live progress bar."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime

from bot.app import App
from intents.bulletin import create
from intents.engine import utcnow
from intents.i18n import CHILE
from storage import bulletins, directory
from storage.subscriptions import Audience


async def send(app: App, args: argparse.Namespace) -> int:
    try:
        text = args.text_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        print(f"cannot read {args.text_file}: {exc}", file=sys.stderr)
        return 2
    if not text:
        print("the bulletin text is empty", file=sys.stderr)
        return 2
    when = None
    if args.at:
        try:
            when = datetime.strptime(args.at, "%Y-%m-%d %H:%M").replace(tzinfo=CHILE)
        except ValueError:
            print("--at must be YYYY-MM-DD HH:MM (Chile time)", file=sys.stderr)
            return 2
    region = args.region.zfill(2) if args.region else None
    comuna = args.comuna.zfill(5) if args.comuna else None
    async with app.sessions() as session, session.begin():
        if region and await directory.region(session, region) is None:
            print(f"unknown region {args.region!r}", file=sys.stderr)
            return 2
        if comuna and await directory.comuna(session, comuna) is None:
            print(f"unknown comuna {args.comuna!r}", file=sys.stderr)
            return 2
        audience = Audience(role=args.role, region=region, comuna=comuna, lang=args.lang)
        bulletin = await create(session, text, audience, None, utcnow(), when)
        bulletin_id, total = bulletin.id, bulletin.total
    print(
        f"bulletin {bulletin_id} queued for {total} subscribers"
        + (f", scheduled at {args.at} (Chile)" if when else "")
    )
    print("it is delivered by `sello-bot run` (now, if it is running; else when it starts)")
    if args.wait:
        return await _follow(app, bulletin_id, total)
    return 0


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return "█" * filled + "·" * (width - filled)


async def _follow(app: App, bulletin_id: int, total: int, every: float = 0.5) -> int:
    # In a terminal the bar is redrawn in place (a carriage return, no newline); into a file or
    # a pipe each different state is one line, so a log reads as a timeline.
    out = sys.stdout
    tty = out.isatty()
    start = time.monotonic()
    first_done: int | None = None
    last = ""
    while True:
        async with app.sessions() as session:
            counts = await bulletins.counts(session, bulletin_id)
        finished = total - counts["pending"]
        if first_done is None:
            first_done = finished
        elapsed = max(time.monotonic() - start, 1e-6)
        rate = (finished - first_done) / elapsed
        left = (counts["pending"] / rate) if rate > 0 else float("inf")
        eta = "--:--" if left == float("inf") else f"{int(left // 60):02d}:{int(left % 60):02d}"
        line = (
            f"{_bar(finished, total)} {finished}/{total} sent {counts['sent']} "
            f"blocked {counts['blocked']} failed {counts['failed']} · {rate:.1f}/s · "
            f"left {eta}"
        )
        if tty:
            out.write(f"\r{line}   ")
        elif line != last:
            out.write(f"{line}\n")
        last = line
        out.flush()
        if counts["pending"] == 0:
            if tty:
                out.write("\n")
            return await status(app, bulletin_id)
        await asyncio.sleep(every)


async def status(app: App, bulletin_id: int) -> int:
    async with app.sessions() as session:
        bulletin = await bulletins.get(session, bulletin_id)
        if bulletin is None:
            print(f"no bulletin {bulletin_id}", file=sys.stderr)
            return 2
        counts = await bulletins.counts(session, bulletin_id)
    print(
        f"bulletin {bulletin_id}: {bulletin.status}, {bulletin.total} recipients; "
        f"pending {counts['pending']}, sent {counts['sent']}, blocked {counts['blocked']}, "
        f"failed {counts['failed']}, unsubscribed {counts['cancelled']}"
    )
    return 0
