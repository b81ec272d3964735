"""`sello-bot console link`: a one-time sign-in link for an officer, admin or contact."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.app import App
from intents.flows.console import link_url
from storage import console, officers, users
from storage.db import Session
from storage.models import User

CONSOLE_ROLES = ("officer", "admin", "municipal")


async def _user(app: App, session: Session, args: argparse.Namespace) -> User | None:
    if args.telegram:
        return await users.get(session, "telegram", args.telegram.strip())
    if args.whatsapp:
        raw = args.whatsapp.strip()
        found = await users.get(session, "whatsapp", raw)
        digits = "".join(c for c in raw if c.isdigit())
        return found or await users.get(session, "whatsapp", digits)
    officer = await officers.get(session, args.officer)
    if officer is None or not officer.active:
        return None
    for channel, external in (("telegram", officer.telegram_id), ("whatsapp", officer.whatsapp)):
        if external:
            found = await users.get(session, channel, external)
            if found is not None:
                return found
    return None


async def link(app: App, args: argparse.Namespace, now: datetime) -> int:
    async with app.sessions() as session, session.begin():
        user = await _user(app, session, args)
        if user is None or user.role not in CONSOLE_ROLES:
            print("no officer, admin or municipal contact with that id")
            return 2
        token = console.issue_link(session, user, now)
    print("one-time sign-in link to the console (valid 15 minutes):")
    print(link_url(app.settings.public_url, token))
    return 0
