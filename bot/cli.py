"""`sello-bot`: the command-line interface: chat, ask, eval, run; kb (check, unanswered,
feedback); comuna; stats; db; officer; code; bulletin; cases; console. `sello-bot -h` lists
them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

from bot.app import App, build_app, load_matcher
from bot.settings import IncompleteSettings, Settings
from intents.engine import utcnow
from intents.i18n import LANGUAGES, N_, texts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sello-bot", description="Sello Migrante assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_talk,
        _add_knowledge,
        _add_places,
        _add_maintenance,
        _add_people,
        _add_broadcast,
        _add_cases,
        _add_console,
    ):
        add(sub)
    return parser


# argparse's type for `add_subparsers()`: private, and only an annotation here.
Commands = argparse._SubParsersAction  # type: ignore[type-arg]


def _add_talk(sub: Commands) -> None:
    """chat, ask, eval, run: talking to the assistant, measuring it, serving it."""
    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--user", default="1", help="console user id (default 1)")
    chat.add_argument("--lang", choices=LANGUAGES, help="the client's language")

    ask = sub.add_parser("ask", help="one question to the knowledge base")
    ask.add_argument("text")
    ask.add_argument("--lang", choices=LANGUAGES)
    ask.add_argument("--json", action="store_true")

    ev = sub.add_parser("eval", help="accuracy on a labelled JSONL file")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true")
    ev.add_argument(
        "--baseline",
        action="store_true",
        help="also measure the textbook baseline (TF-IDF + LinearSVC) on the same content",
    )

    sub.add_parser("run", help="serve the channels configured in the environment")


def _add_knowledge(sub: Commands) -> None:
    """kb: the content's contract, the unanswered questions, the answers' feedback."""
    kb = sub.add_parser("kb", help="knowledge-base maintenance")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_check = kb_sub.add_parser("check", help="validate the content against the contract")
    kb_check.add_argument("--topics", type=Path, help="topics.yaml contract (default: shipped)")
    kb_check.add_argument(
        "--eval",
        type=Path,
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="also fail on phrasings copied from this evaluation file (repeatable)",
    )
    kb_unanswered = kb_sub.add_parser("unanswered", help="logged unanswered questions, grouped")
    kb_unanswered.add_argument("--since", type=_date, help="only questions since YYYY-MM-DD")
    kb_feedback = kb_sub.add_parser("feedback", help="answer feedback per topic and language")
    kb_feedback.add_argument("--since", type=_date, help="only feedback since YYYY-MM-DD")


def _add_places(sub: Commands) -> None:
    """comuna, stats: the directory of comunas and the official figures."""
    comuna = sub.add_parser("comuna", help="the directory of comunas")
    c_sub = comuna.add_subparsers(dest="comuna_command", required=True)
    adhere = c_sub.add_parser("adhere", help="mark a comuna as adhered to the Sello Migrante")
    adhere.add_argument("cut", help="the comuna's code (CUT), e.g. 13110")
    adhere.add_argument("--since", type=_date, required=True, help="adhesion date YYYY-MM-DD")
    withdraw = c_sub.add_parser("withdraw", help="mark a comuna as not adhered")
    withdraw.add_argument("cut")
    c_import = c_sub.add_parser("import", help="CSV with columns cut,since (YYYY-MM-DD)")
    c_import.add_argument("file", type=Path)
    c_sub.add_parser("list", help="adhered comunas")

    st = sub.add_parser("stats", help="official figures on foreign residents")
    st_sub = st.add_subparsers(dest="stats_command", required=True)
    st_import = st_sub.add_parser("import", help="load an edition (layout of data/estadisticas)")
    st_import.add_argument("directory", type=Path)
    st_import.add_argument("--edition", help="the edition's name (default: edicion.json's)")
    st_show = st_sub.add_parser("show", help="what the bot says of a comuna, CUT or region")
    st_show.add_argument("place", help="comuna or region name, CUT, region code, or Chile")
    st_show.add_argument("--json", action="store_true")
    st_show.add_argument("--lang", choices=LANGUAGES, default="es")


def _add_maintenance(sub: Commands) -> None:
    """db: the schema."""
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")


def _add_people(sub: Commands) -> None:
    """officer, code: who may do what."""
    officer = sub.add_parser("officer", help="manage regional officers")
    o_sub = officer.add_subparsers(dest="officer_command", required=True)
    add = o_sub.add_parser("add", help="register a regional officer")
    add.add_argument("--region", required=True, help="region code, e.g. 13")
    add.add_argument("--telegram", help="Telegram user id")
    add.add_argument("--whatsapp", help="WhatsApp phone (international, digits)")
    add.add_argument("--name", required=True)
    add.add_argument("--email")
    add.add_argument("--phone")
    o_sub.add_parser("list", help="list officers")
    remove = o_sub.add_parser("remove", help="deactivate an officer (by id from `officer list`)")
    remove.add_argument("id", type=int)

    code = sub.add_parser("code", help="one-time enrollment codes for municipal contacts")
    code_sub = code.add_subparsers(dest="code_command", required=True)
    code_new = code_sub.add_parser("new", help="issue a code for a comuna (valid 7 days)")
    code_new.add_argument("--comuna", required=True, help="the comuna's code (CUT)")


def _add_broadcast(sub: Commands) -> None:
    """bulletin: the boletín informativo."""
    bulletin = sub.add_parser("bulletin", help="broadcast the boletín informativo")
    b_sub = bulletin.add_subparsers(dest="bulletin_command", required=True)
    b_send = b_sub.add_parser("send", help="queue a bulletin for the subscribers")
    b_send.add_argument("--text-file", type=Path, required=True)
    b_send.add_argument("--region", help="region code, e.g. 13")
    b_send.add_argument("--comuna", help="comuna code (CUT)")
    b_send.add_argument("--role", choices=("migrant", "municipal", "officer", "admin"))
    b_send.add_argument("--lang", choices=LANGUAGES)
    b_send.add_argument("--at", help="send later: YYYY-MM-DD HH:MM, Chile time")
    b_send.add_argument("--wait", action="store_true", help="show progress until it ends")
    b_status = b_sub.add_parser("status", help="delivery counts of a bulletin")
    b_status.add_argument("id", type=int)


def _add_cases(sub: Commands) -> None:
    """cases: reporting."""
    cases = sub.add_parser("cases", help="Sello cases")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True)
    export = cases_sub.add_parser("export", help="export cases as CSV for reporting")
    export.add_argument("--region", help="only this region (code, e.g. 13)")
    export.add_argument("--csv", type=Path, required=True, dest="csv_file")


def _add_console(sub: Commands) -> None:
    """console: the officers' web console."""
    console = sub.add_parser("console", help="the officers' web console")
    console_sub = console.add_subparsers(dest="console_command", required=True)
    link = console_sub.add_parser("link", help="print a one-time sign-in link (15 minutes)")
    who = link.add_mutually_exclusive_group(required=True)
    who.add_argument("--telegram", help="Telegram user id")
    who.add_argument("--whatsapp", help="WhatsApp phone number")
    who.add_argument("--officer", type=int, help="officer id (from `officer list`)")


def configure_logging(level: str) -> None:
    """Our logs carry no message texts or phone numbers; below DEBUG, neither do the
    libraries' (httpx logs request URLs, which contain the bot token; aiohttp's access log
    has query strings)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        for noisy in ("httpx", "httpcore", "aiohttp.access", "telegram.ext.Updater"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a YYYY-MM-DD date") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level if args.command == "run" else "WARNING")
    handler = {
        "chat": _chat,
        "ask": _ask,
        "eval": _eval,
        "run": _run,
        "db": _db,
        "kb": _kb,
        "comuna": _comuna,
        "stats": _stats,
        "code": _code,
        "cases": _cases,
        "bulletin": _bulletin,
        "officer": _officer,
        "console": _console,
    }[args.command]
    try:
        return asyncio.run(handler(settings, args))
    except KeyboardInterrupt:
        return 130


# Said before the engine is built: the first start trains the matcher (about 40 s on a small
# machine; later starts load it from the cache in about a second). Silence looks like a hang.
PREPARING_CHAT = N_("Preparando el buscador de respuestas (la primera vez tarda unos 40 segundos)…")
PREPARING_RUN = "Preparing the matcher (the first start takes about 40 seconds; then it is cached)…"


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.console import Console

    print(texts(args.lang)._(PREPARING_CHAT), flush=True)
    app = await build_app(settings)
    try:
        await Console(app.engine, user=args.user, lang=args.lang).run(lambda: input("> "))
    finally:
        await app.close()
    return 0


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.questions import ask

    # On stderr: stdout carries only the answer (`--json` is read by programs).
    print(texts(args.lang)._(PREPARING_CHAT), file=sys.stderr, flush=True)
    app = await build_app(settings)
    try:
        result = await ask(app, args.text, args.lang)
    finally:
        await app.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(result["answer"])
        if result["suggestions"]:
            print("\n" + ", ".join(result["suggestions"]))
    return 0


async def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from intents.language import choose, detect
    from knowledge.evaluation import evaluate, load_items, report

    def language(text: str, matched: str | None) -> tuple[str | None, str]:
        return detect(text)[0], choose(None, text, None, matched)

    matcher_kb, matcher = load_matcher()
    try:
        items = load_items(args.file)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    result = evaluate(matcher, items, language)
    baseline = None
    if args.baseline:
        from bot.settings import cache_directory
        from knowledge.baseline import Baseline

        baseline = evaluate(Baseline(matcher_kb, cache=cache_directory()), items, language)
    if args.json:
        if baseline is not None:
            result["baseline"] = baseline
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(report(result["summary"]))
        if baseline is not None:
            print("\nbaseline (TF-IDF word + char n-grams, LinearSVC, same content):")
            print(report(baseline["summary"]))
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import serve

    try:
        settings.check_channels()
    except IncompleteSettings as exc:
        print(f"sello-bot run: {exc}", file=sys.stderr)
        return 2
    if not settings.telegram_enabled and not settings.whatsapp_enabled:
        print(
            "No channel is configured. Set SELLO_TELEGRAM_TOKEN (and optionally "
            "SELLO_TELEGRAM_WEBHOOK_URL) or the SELLO_WHATSAPP_* variables; see README.md.\n"
            "To try the assistant without a channel: sello-bot chat",
            file=sys.stderr,
        )
        return 2
    print(PREPARING_RUN, file=sys.stderr, flush=True)
    app = await build_app(settings)
    await serve(app)
    return 0


async def _kb(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge import checks, content

    if args.kb_command == "unanswered":
        return await _unanswered(settings, args)
    if args.kb_command == "feedback":
        return await _feedback(settings, args)
    kb = content.load()
    contract = args.topics or Path(content.__file__).with_name("topics.yaml")
    from intents.engine import FLOWS
    from intents.router import Router

    actions = Router(FLOWS).commands.next_steps  # the commands a topic may offer
    report = checks.check(kb, checks.contract_ids(contract), actions=actions)
    counts = report.counts
    print(
        f"{counts['topics']} topics, {counts['phrasings']} phrasings, "
        f"{counts['out_of_scope']} out-of-scope examples, "
        f"{counts['examples']} training examples, "
        f"{counts['facts']} answer facts checked for evidence"
    )
    for lang in LANGUAGES:
        pending = report.unreviewed.get(lang, [])
        print(f"  {lang}: {len(pending)} entries need native review")
    if report.stale:
        print(
            f"  {len(report.stale)} topics reviewed over {checks.STALE_AFTER.days} days ago "
            f"(re-check fees, phones, addresses): {', '.join(report.stale)}"
        )
    for error in report.errors:
        print(f"ERROR {error}")
    problems = len(report.errors)
    if args.eval:
        from knowledge.evaluation import load_items

        sentences = [str(item["text"]) for path in args.eval for item in load_items(path)]
        found = checks.leaks(kb, sentences)
        for leak in found:
            print(
                f"ERROR {leak.label}.{leak.lang}: phrasing {leak.phrasing!r} is "
                f"{leak.similarity:.0f}% the evaluation sentence {leak.sentence!r}"
            )
        print(f"  {len(sentences)} evaluation sentences: {len(found)} copied into the content")
        problems += len(found)
    print("OK" if not problems else f"{problems} problems")
    return 0 if not problems else 1


async def _unanswered(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge.grouping import group
    from knowledge.normalize import Normalizer
    from storage import questions

    app = await build_app(settings)
    kb = app.engine.services.kb
    try:
        async with app.sessions() as session:
            since = datetime.combine(args.since, time.min, UTC) if args.since else None
            rows = await questions.since(session, since)
    finally:
        await app.close()
    groups = group([(q.text, q.lang, q.best_topic) for q in rows], Normalizer(kb.synonyms))
    print(f"{len(rows)} unanswered questions in {len(groups)} groups")
    for g in groups:
        langs = ", ".join(f"{lang} {n}" for lang, n in g.languages.most_common())
        guess = g.guesses.most_common(1)[0][0] if g.guesses else "-"
        print(f"{g.count:5d}  {g.example[:80]!r}  [{langs}]  closest: {guess}")
    return 0


async def _feedback(settings: Settings, args: argparse.Namespace) -> int:
    """👍 / 👎 per topic and language (the least helpful first), then what the people who
    pressed 👎 had asked and were looking for (masked)."""
    from storage import feedback

    app = await build_app(settings)
    try:
        async with app.sessions() as session:
            since = datetime.combine(args.since, time.min, UTC) if args.since else None
            tallies = await feedback.tallies(session, since)
            complaints = await feedback.complaints(session, since)
    finally:
        await app.close()
    up = sum(t.helpful for t in tallies)
    down = sum(t.not_helpful for t in tallies)
    print(f"{up + down} ratings: {up} helpful, {down} not helpful")
    if tallies:
        width = max(len(t.topic) for t in tallies)
        print(f"{'topic':<{width}}  lang  helpful  not helpful")
        for t in tallies:
            print(f"{t.topic:<{width}}  {t.lang:<4}  {t.helpful:7d}  {t.not_helpful:11d}")
    if complaints:
        print("Not helpful, with what was asked / looked for:")
        for row in complaints:
            asked = repr(row.question[:80]) if row.question else "-"
            wanted = repr(row.looking_for[:80]) if row.looking_for else "-"
            print(f"  {row.topic} [{row.lang}] asked {asked}; looking for {wanted}")
    return 0


async def _comuna(settings: Settings, args: argparse.Namespace) -> int:
    from bot.directory import adhere, import_csv, list_adhered

    app = await build_app(settings)
    try:
        if args.comuna_command == "adhere":
            return await adhere(app, args.cut, args.since)
        if args.comuna_command == "withdraw":
            return await adhere(app, args.cut, None)
        if args.comuna_command == "import":
            return await import_csv(app, args.file)
        return await list_adhered(app)
    finally:
        await app.close()


async def _stats(settings: Settings, args: argparse.Namespace) -> int:
    from bot.statistics import import_edition, show

    app = await build_app(settings)
    try:
        if args.stats_command == "import":
            return await import_edition(app, args.directory, args.edition)
        return await show(app, args.place, as_json=args.json, lang=args.lang)
    finally:
        await app.close()


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def _officer(settings: Settings, args: argparse.Namespace) -> int:
    from bot.officers import add_officer, list_officers, remove_officer

    app: App = await build_app(settings)
    try:
        if args.officer_command == "add":
            return await add_officer(app, args, utcnow())
        if args.officer_command == "remove":
            return await remove_officer(app, args.id)
        return await list_officers(app)
    finally:
        await app.close()


async def _code(settings: Settings, args: argparse.Namespace) -> int:
    from storage import codes, directory

    app = await build_app(settings)
    try:
        async with app.sessions() as session, session.begin():
            comuna = await directory.comuna(session, args.comuna.strip().zfill(5))
            if comuna is None:
                print(f"unknown comuna code {args.comuna!r} (CUT, e.g. 13110)", file=sys.stderr)
                return 2
            code = await codes.issue(session, comuna.cut, utcnow())
            expires = code.expires_at.date().isoformat()
            print(f"enrollment code for {comuna.name} ({comuna.cut}), valid until {expires}:")
            print(code.code)
    finally:
        await app.close()
    return 0


async def _cases(settings: Settings, args: argparse.Namespace) -> int:
    from bot.reports import export_cases

    app = await build_app(settings)
    try:
        return await export_cases(app, args.region, args.csv_file)
    finally:
        await app.close()


async def _bulletin(settings: Settings, args: argparse.Namespace) -> int:
    from bot.broadcasts import send, status

    app = await build_app(settings)
    try:
        if args.bulletin_command == "send":
            return await send(app, args)
        return await status(app, args.id)
    finally:
        await app.close()


async def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console.cli import link

    app = await build_app(settings)
    try:
        return await link(app, args, utcnow())
    finally:
        await app.close()
