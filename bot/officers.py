"""CLI actions on regional officers."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.app import App
from storage import directory, officers, users
from storage.errors import Duplicate


async def add_officer(app: App, args: argparse.Namespace, now: datetime) -> int:
    region = args.region.zfill(2)
    if not args.telegram and not args.whatsapp:
        print("give --telegram ID or --whatsapp PHONE: the officer must be reachable")
        return 2
    async with app.sessions() as session, session.begin():
        if await directory.region(session, region) is None:
            print(f"unknown region {region!r}; region codes are 01..16")
            return 2
        try:
            officer = await officers.add(
                session,
                region_code=region,
                name=args.name.strip(),
                telegram_id=args.telegram,
                whatsapp=args.whatsapp,
                email=args.email,
                phone=args.phone,
                now=now,
            )
        except Duplicate:
            print("an officer with that Telegram id or WhatsApp number already exists")
            return 2
        for channel, external in (("telegram", args.telegram), ("whatsapp", args.whatsapp)):
            if external:
                user = await users.get_or_create(session, channel, external, external, now)
                user.role = "officer"
                user.region_code = region
    print(f"officer {officer.id} added: {officer.name}, region {region}")
    return 0


async def list_officers(app: App) -> int:
    async with app.sessions() as session:
        rows = await officers.listing(session)
        if not rows:
            print("no officers registered")
        for o in rows:
            channels = ", ".join(
                f"{k}={v}" for k, v in (("telegram", o.telegram_id), ("whatsapp", o.whatsapp)) if v
            )
            print(
                f"{o.id}\t{o.region_code}\t{o.name}\t{o.email or '-'}\t{o.phone or '-'}\t{channels}"
            )
    return 0


async def remove_officer(app: App, officer_id: int) -> int:
    """Deactivate the officer and take the officer role from their chat accounts."""
    async with app.sessions() as session, session.begin():
        officer = await officers.get(session, officer_id)
        if officer is None or not officer.active:
            print(f"no active officer with id {officer_id}")
            return 2
        officer.active = False
        for channel, external in (
            ("telegram", officer.telegram_id),
            ("whatsapp", officer.whatsapp),
        ):
            if external:
                user = await users.get(session, channel, external)
                if user is not None and user.role == "officer":
                    user.role = "migrant"
                    user.region_code = None
        # Free the unique ids so the person can be registered again later.
        officer.telegram_id = None
        officer.whatsapp = None
    print(f"officer {officer_id} removed")
    return 0
