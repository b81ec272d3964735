"""Routes of the web console: sign-in by one-time link, the case inbox and case pages.

Every request opens one unit of work, loads the session and its user from the database
(so a user who lost the role loses the console at once) and checks scope exactly as chat
does; every POST carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import failure
from bot.console.filters import AGES, Filters
from bot.routes import Routes
from intents.cases_text import CATEGORIES, ROLE_NAMES, STATUSES, URGENCIES
from intents.context import Context
from intents.engine import Engine
from intents.errors import DomainError, InvalidInput, NotFound
from intents.flows import cases as cases_flow
from intents.flows import officer_cases
from intents.i18n import texts, translations
from intents.messages import Incoming
from intents.router import parse_id
from storage import casework, console
from storage.db import Session
from storage.models import ConsoleSession, User

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "sello_console"
ROLES = ("officer", "admin", "municipal")
ENGINE_KEY = web.AppKey("console_engine", Engine)
T = texts("es")


@dataclass
class ConsoleConfig:
    public_url: str
    secure: bool
    limiter: SignInLimiter
    flash: dict[str, str]
    # Per-server caches of figures that may be a minute old (statistics).
    cache: dict[Any, Any] = field(default_factory=dict)


class SignInLimiter:
    """At most `limit` sign-in attempts per client address in `window` seconds (in memory:
    the one process that serves HTTP)."""

    def __init__(
        self, limit: int = 10, window: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        hits = self.seen.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self.seen) > 10_000:  # forget idle addresses
            for k in [k for k, v in self.seen.items() if not v][:5000]:
                del self.seen[k]
        return True


CONFIG_KEY = web.AppKey("console_config", ConsoleConfig)


@dataclass
class Visit:
    """One signed-in request: its unit of work, the user, the session and the time."""

    request: web.Request
    db: Session
    user: User
    session: ConsoleSession
    now: datetime
    engine: Engine

    @property
    def scope(self) -> casework.Scope:
        """What the user may see, for storage's scoped queries."""
        return casework.Scope.of(self.user)

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def context(self, text: str = "") -> Context:
        """The same Context the chat flows get, for the same domain functions."""
        return Context(
            session=self.db,
            user=self.user,
            incoming=Incoming("web", str(self.user.id), "", text=text),
            t=T,
            now=self.now,
            services=self.engine.services,
        )

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        flash = self.request.app[CONFIG_KEY].flash.pop(self.session.id_hash, None)
        values.update(user=self.user, csrf=self.csrf, flash=flash, signed_in=True)
        return aiohttp_jinja2.render_template(template, self.request, values, status=status)


Page = Callable[[Visit], Awaitable[web.StreamResponse]]


def _now(request: web.Request) -> datetime:
    return request.app[ENGINE_KEY].clock()


def _page(template: str, request: web.Request, status: int = 200, **values: Any) -> web.Response:
    values.setdefault("signed_in", False)
    return aiohttp_jinja2.render_template(template, request, values, status=status)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _signed_out() -> web.Response:
    response = redirect("/console/")
    response.del_cookie(COOKIE, path="/console")
    return response


def signed_in(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        engine = request.app[ENGINE_KEY]
        sid = request.cookies.get(COOKIE, "")
        if not sid or len(sid) > 100:
            return redirect("/console/")
        now = _now(request)
        async with engine.sessions() as db, db.begin():
            found = await console.current(db, sid, now)
            if found is None:
                return _signed_out()
            session, user = found
            if (
                user.role not in ROLES
                or (user.role == "officer" and not user.region_code)
                or (user.role == "municipal" and not user.comuna_cut)
            ):
                await console.end_sessions_of(db, user.id)  # the role is gone: so is the console
                return _signed_out()
            if request.method == "POST":
                form = await request.post()
                given = str(form.get("csrf", ""))
                if not hmac.compare_digest(given.encode(), session.csrf.encode()):
                    return _page("forbidden.html", request, status=403)
            result = await handler(Visit(request, db, user, session, now, engine))
        if request.method == "POST":
            for listener in engine.after_commit:  # wake the dispatcher for the outbox
                listener()
        return result

    return wrapped


# --- sign-in -------------------------------------------------------------------------


async def home(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE_KEY]
    sid = request.cookies.get(COOKIE, "")
    if sid and len(sid) <= 100:
        async with engine.sessions() as db, db.begin():
            if await console.current(db, sid, _now(request)) is not None:
                return redirect("/console/casos")
    return _page("home.html", request)


def _client(request: web.Request) -> str:
    return request.remote or "?"


async def signin_page(request: web.Request) -> web.StreamResponse:
    """GET never uses the token up (chat apps fetch links to build previews)."""
    token = request.match_info["token"]
    engine = request.app[ENGINE_KEY]
    async with engine.sessions() as db:
        user = await console.link_user(db, token, _now(request)) if len(token) < 100 else None
    if user is None or user.role not in ROLES:
        return _page("link_invalid.html", request, status=404)
    return _page("signin.html", request, token=token)


async def signin(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    if not config.limiter.allow(_client(request)):
        return _page("link_invalid.html", request, status=429, too_many=True)
    token = request.match_info["token"]
    engine = request.app[ENGINE_KEY]
    now = _now(request)
    async with engine.sessions() as db, db.begin():
        user = await console.redeem_link(db, token, now) if len(token) < 100 else None
        if user is None or user.role not in ROLES:
            return _page("link_invalid.html", request, status=404)
        sid = console.start_session(db, user, now)
        console.audit(db, user, "signin", now)
    response = redirect("/console/casos")
    response.set_cookie(
        COOKIE,
        sid,
        path="/console",
        httponly=True,
        secure=config.secure,
        samesite="Lax",
    )
    return response


@signed_in
async def signout(visit: Visit) -> web.StreamResponse:
    await console.end(visit.db, visit.session)
    console.audit(visit.db, visit.user, "signout", visit.now)
    return _signed_out()


# --- cases ---------------------------------------------------------------------------


@signed_in
async def inbox(visit: Visit) -> web.StreamResponse:
    f = Filters.parse(visit.request.query)
    found = await casework.inbox(visit.db, visit.scope, f.cases(visit.now), f.page)
    comunas = await casework.comunas_in_scope(visit.db, visit.scope)

    def link(**change: Any) -> str:
        params = f.params(**change)
        return "/console/casos" + ("?" + urlencode(params) if params else "")

    return visit.render(
        "inbox.html",
        inbox=found,
        filters=f,
        comunas=comunas,
        ages=AGES,
        link=link,
        page=min(f.page, found.pages),
    )


@signed_in
async def case_view(visit: Visit) -> web.StreamResponse:
    case_id = parse_id(visit.request.match_info["case_id"])
    found = await casework.case_page(visit.db, visit.scope, case_id) if case_id else None
    if found is None:
        return visit.render("not_found.html", status=404)
    case, comuna, events = found
    return visit.render(
        "case.html",
        case=case,
        comuna=comuna,
        events=events,
        officer=visit.user.role in ("officer", "admin"),
    )


ACTIONS = ("take", "reply", "refer", "respondido", "cerrado", "message")


@signed_in
async def case_action(visit: Visit) -> web.StreamResponse:
    """Take, reply, refer, mark answered, close (officers) or add a message (the case's
    municipal contact): the chat flows' own functions."""
    case_id = parse_id(visit.request.match_info["case_id"])
    form = await visit.request.post()
    action = str(form.get("action", ""))
    if case_id is None:
        return visit.render("not_found.html", status=404)
    contact = visit.user.role == "municipal"
    if action not in ACTIONS or contact != (action == "message"):
        return visit.render("forbidden.html", status=403)
    ctx = visit.context(str(form.get("text", "")))
    try:
        if action == "message":  # a contact's message on their own comuna's case
            replies = await cases_flow.add_message(
                ctx, await cases_flow.own_case(ctx, case_id), ctx.text
            )
        elif action == "take":
            replies = await officer_cases.take(ctx, case_id)
        elif action in ("respondido", "cerrado"):
            replies = await officer_cases.set_status(ctx, case_id, action)
        else:
            case = await officer_cases.case_in_scope(ctx, case_id)
            text = officer_cases.clean_text(ctx, ctx.text)
            if action == "reply":
                replies = await officer_cases.reply_to(ctx, case, text)
            else:
                replies = await officer_cases.refer(ctx, case, text)
    except NotFound:
        return visit.render("not_found.html", status=404)
    except InvalidInput as exc:
        visit.request.app[CONFIG_KEY].flash[visit.session.id_hash] = exc.message
        return redirect(f"/console/casos/{case_id}")
    except DomainError as exc:
        visit.request.app[CONFIG_KEY].flash[visit.session.id_hash] = exc.message
        return redirect(f"/console/casos/{case_id}")
    console.audit(visit.db, visit.user, f"case.{action}", visit.now, target=f"case:{case_id}")
    visit.request.app[CONFIG_KEY].flash[visit.session.id_hash] = "\n".join(r.text for r in replies)
    return redirect(f"/console/casos/{case_id}")


# --- setup ---------------------------------------------------------------------------


@web.middleware
async def headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """No framing, no inline scripts, no referrer (sign-in links carry a token)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if not request.path.startswith("/console"):
            raise
        _secure(response)
        raise
    if request.path.startswith("/console"):
        _secure(response)
    return response


@web.middleware
async def error_page(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An unexpected error on a console page: logged with its traceback, and a page that
    says so instead of aiohttp's bare 500 (bot/failure.py)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        if not request.path.startswith("/console"):
            raise
        failure.report("error on a console page", exc)
        return _page("error.html", request, status=500)


def _secure(response: web.StreamResponse) -> None:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")


def _environment(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(translations("es"), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        STATUSES=STATUSES,
        CATEGORIES=CATEGORIES,
        URGENCIES=URGENCIES,
        ROLE_NAMES=ROLE_NAMES,
        when=T.datetime,
        number=T.number,
    )


async def _to_home(request: web.Request) -> web.StreamResponse:
    return redirect("/console/")


def routes(engine: Engine, public_url: str) -> Routes:
    """The console on the bot's HTTP server: its pages and static files, and what it sets on
    the server (its engine and configuration, the templates, the security headers and the
    error page)."""

    def setup(app: web.Application) -> None:
        app[ENGINE_KEY] = engine
        app[CONFIG_KEY] = ConsoleConfig(
            public_url=public_url,
            secure=public_url.lower().startswith("https://"),
            limiter=SignInLimiter(),
            flash={},
        )
        _environment(app)
        app.middlewares.extend((headers, error_page))

    from bot.console import bulletins, pages

    return Routes(
        [
            web.get("/console/", home),
            web.get("/console", _to_home),
            web.get("/console/entrar/{token}", signin_page),
            web.post("/console/entrar/{token}", signin),
            web.post("/console/salir", signout),
            web.get("/console/casos", inbox),
            web.get("/console/casos/{case_id}", case_view),
            web.post("/console/casos/{case_id}", case_action),
            *bulletins.ROUTES,
            *pages.ROUTES,
            web.static("/console/static/", HERE / "static", name="console_static"),
        ],
        setup,
    )
