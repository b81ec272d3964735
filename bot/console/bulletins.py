"""Console pages of the bulletin: compose, audience size, preview, send or schedule, and a
live progress view — through the same functions as /boletin in chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.console.web import CONFIG_KEY, Visit, redirect, signed_in
from intents.bulletin import create, report_text, split
from intents.flows.bulletin import MAX_TEXT, ROLES, _audience
from intents.i18n import CHILE, LANGUAGE_NAMES
from intents.router import parse_id
from storage import bulletins, casework, console, subscriptions
from storage.models import Bulletin

RECENT = 20


def _officer(visit: Visit) -> web.Response | None:
    if visit.user.role not in ("officer", "admin"):
        return visit.render("forbidden.html", status=403)
    return None


async def _recent(visit: Visit) -> list[Bulletin]:
    return [b for b in await bulletins.newest(visit.db, RECENT) if _visible(visit, b)]


def _visible(visit: Visit, bulletin: Bulletin) -> bool:
    """Admins see every bulletin; officers those of their region."""
    return (
        visit.user.role == "admin"
        or (bulletin.filters or {}).get("region") == visit.user.region_code
    )


@signed_in
async def compose(visit: Visit) -> web.StreamResponse:
    refused = _officer(visit)
    if refused is not None:
        return refused
    return await _form(visit, {}, None)


async def _form(visit: Visit, values: dict[str, str], error: str | None) -> web.Response:
    return visit.render(
        "bulletin.html",
        status=400 if error else 200,
        values=values,
        error=error,
        roles=ROLES,
        languages=LANGUAGE_NAMES,
        comunas=await casework.comunas_in_scope(visit.db, visit.scope),
        recent=await _recent(visit),
    )


def _parse_when(raw: str, now: datetime) -> datetime | None | str:
    """'' -> None (now); a future local Chilean time -> aware datetime; else an error."""
    if not raw:
        return None
    try:
        local = datetime.strptime(raw.strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        return "Escribe fecha y hora así: 2026-12-01 09:30, o usa los botones."
    when = local.replace(tzinfo=CHILE)
    if when <= now:
        return "Esa hora ya pasó. Escribe una fecha y hora futura."
    return when


@signed_in
async def submit(visit: Visit) -> web.StreamResponse:
    refused = _officer(visit)
    if refused is not None:
        return refused
    form = await visit.request.post()
    values = {k: str(form.get(k, "")) for k in ("text", "role", "lang", "comuna", "when")}
    t = visit.context().t
    text = values["text"].strip()
    if not text:
        return await _form(visit, values, t._("Escribe el texto del boletín, o /cancelar."))
    if len(text) > MAX_TEXT:
        message = t._("El boletín es demasiado largo (máximo {max} caracteres).")
        return await _form(visit, values, message.format(max=t.number(MAX_TEXT)))
    comunas = {c.cut for c in await casework.comunas_in_scope(visit.db, visit.scope)}
    if values["comuna"] and values["comuna"] not in comunas:
        return await _form(
            visit, values, t._("Solo puedes enviar boletines a comunas de tu región.")
        )
    data: dict[str, Any] = {
        "text": text,
        "role": values["role"] if values["role"] in ("migrant", "municipal") else None,
        "lang": values["lang"] if values["lang"] in LANGUAGE_NAMES else None,
        "comuna": values["comuna"] or None,
    }
    when = _parse_when(values["when"], visit.now)
    if isinstance(when, str):
        return await _form(visit, values, t._(when))
    ctx = visit.context()
    audience = _audience(ctx, data)
    if form.get("action") != "send":
        size = await subscriptions.audience_size(visit.db, audience)
        return visit.render(
            "bulletin_preview.html",
            values=values,
            parts=split(text),
            size=size,
            when=when,
        )
    bulletin = await create(visit.db, text, audience, visit.user.id, visit.now, when)
    console.audit(
        visit.db, visit.user, "bulletin.send", visit.now, target=f"bulletin:{bulletin.id}"
    )
    return redirect(f"/console/boletin/{bulletin.id}")


async def _bulletin(visit: Visit) -> Bulletin | None:
    bulletin_id = parse_id(visit.request.match_info["bulletin_id"])
    bulletin = await bulletins.get(visit.db, bulletin_id) if bulletin_id else None
    return bulletin if bulletin is not None and _visible(visit, bulletin) else None


async def _progress_values(visit: Visit, bulletin: Bulletin) -> dict[str, Any]:
    counts = await bulletins.counts(visit.db, bulletin.id)
    done = bulletin.status == "done"
    return {
        "bulletin": bulletin,
        "counts": counts,
        "done": done,
        "report": report_text("es", bulletin, counts) if done else None,
    }


async def _progress(visit: Visit, template: str) -> web.StreamResponse:
    refused = _officer(visit)
    if refused is not None:
        return refused
    bulletin = await _bulletin(visit)
    if bulletin is None:
        return visit.render("not_found.html", status=404)
    return visit.render(template, **await _progress_values(visit, bulletin))


@signed_in
async def progress_page(visit: Visit) -> web.StreamResponse:
    return await _progress(visit, "bulletin_progress.html")


@signed_in
async def progress_fragment(visit: Visit) -> web.StreamResponse:
    """What htmx polls: just the counts block."""
    return await _progress(visit, "_progress.html")


ROUTES = (
    web.get("/console/boletin", compose),
    web.post("/console/boletin", submit),
    web.get("/console/boletin/{bulletin_id}", progress_page),
    web.get("/console/boletin/{bulletin_id}/progreso", progress_fragment),
)


__all__ = ["ROUTES", "CONFIG_KEY"]
