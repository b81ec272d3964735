"""The command-line contract of product.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SELLO_DATABASE_URL", url)
    for name in ("SELLO_TELEGRAM_TOKEN", "SELLO_WHATSAPP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_ask_json_has_the_contract_fields(capsys):
    code, out = run(capsys, "ask", "como saco el carnet chileno", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"topic", "score", "lang", "answer", "suggestions"}
    assert data["topic"] == "reg.cedula" and data["lang"] == "es"
    assert "https://" in data["answer"]


def test_ask_answers_in_the_asked_language(capsys):
    _, out = run(capsys, "ask", "como saco el carnet chileno", "--json", "--lang", "fr")
    data = json.loads(out)
    assert (
        data["lang"] == "fr"
        and "Registre civil" in data["answer"]
        or "Registro Civil" in data["answer"]
    )


def test_ask_out_of_scope(capsys):
    _, out = run(capsys, "ask", "receta de pan amasado", "--json")
    data = json.loads(out)
    assert data["topic"] is None and data["suggestions"] == []


def test_eval_prints_summary_and_items(capsys, tmp_path):
    labelled = tmp_path / "set.jsonl"
    labelled.write_text(
        "\n".join(
            json.dumps(item, ensure_ascii=False)
            for item in [
                {"text": "como saco el carnet chileno", "lang": "es", "topic": "reg.cedula"},
                {"text": "receta de pan amasado", "lang": "es", "topic": None},
                {"text": "mesi anpil", "lang": "ht", "topic": "bot.gracias"},
            ]
        ),
        encoding="utf-8",
    )
    code, out = run(capsys, "eval", str(labelled), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["summary"]["languages"]["es"]["top1"] == 1.0
    assert data["summary"]["out_of_scope"]["recall"] == 1.0
    assert {"text", "lang", "expected", "predicted", "score"} <= set(data["items"][0])
    code, out = run(capsys, "eval", str(labelled))
    assert "es: top-1 1.000" in out and "out of scope" in out


def test_eval_reports_the_textbook_baseline_beside_the_matcher(capsys, tmp_path):
    labelled = tmp_path / "set.jsonl"
    items = [
        {"text": "como saco el carnet chileno", "lang": "es", "topic": "reg.cedula"},
        {"text": "receta de pan amasado", "lang": "es", "topic": None},
    ]
    labelled.write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    code, out = run(capsys, "eval", str(labelled), "--baseline", "--json")
    data = json.loads(out)
    assert code == 0 and data["baseline"]["summary"]["items"] == 2
    assert data["baseline"]["items"][0]["predicted"] == "reg.cedula"
    assert data["baseline"]["items"][1]["predicted"] is None
    code, out = run(capsys, "eval", str(labelled), "--baseline")
    assert "baseline (TF-IDF word + char n-grams, LinearSVC" in out
    code, out = run(capsys, "eval", str(labelled))
    assert "baseline" not in out


def test_eval_of_a_missing_file_fails_cleanly(capsys, tmp_path):
    assert main(["eval", str(tmp_path / "nope.jsonl")]) == 2


def test_run_without_channels_explains(capsys):
    code = main(["run"])
    err = capsys.readouterr().err
    assert code == 2 and "SELLO_TELEGRAM_TOKEN" in err and "sello-bot chat" in err


def test_db_upgrade_and_officers(capsys):
    assert run(capsys, "db", "upgrade") == (0, "database is up to date\n")
    code, out = run(
        capsys,
        "officer",
        "add",
        "--region",
        "5",
        "--telegram",
        "4242",
        "--name",
        "Rosa Inventada",
        "--email",
        "rosa@example.org",
    )
    assert code == 0 and "region 05" in out
    code, out = run(
        capsys, "officer", "add", "--region", "05", "--telegram", "4242", "--name", "Otra Persona"
    )
    assert code == 2 and "already exists" in out
    assert run(capsys, "officer", "add", "--region", "99", "--telegram", "1", "--name", "X")[0] == 2
    code, out = run(capsys, "officer", "list")
    assert "Rosa Inventada" in out and "telegram=4242" in out


def test_kb_check_passes(capsys):
    code, out = run(capsys, "kb", "check")
    assert code == 0 and out.strip().endswith("OK")
    # Every Kreyòl entry awaits a native reviewer: one per topic of the shipped contract.
    from knowledge import checks, content

    topics = len(checks.contract_ids(Path(content.__file__).with_name("topics.yaml")))
    assert f"ht: {topics} entries need native review" in out


def test_chat_reads_lines_until_eof(capsys, monkeypatch):
    lines = iter(["hola", "/idioma", "2"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "Sello Migrante" in out and "Kreyòl" in out
    # Not a silent wait while the matcher is prepared (20 s on the first start).
    assert out.startswith("Preparando el buscador de respuestas")


def test_comuna_adhere_withdraw_and_list(capsys):
    code, out = run(capsys, "comuna", "adhere", "13110", "--since", "2018-03-15")
    assert code == 0 and "La Florida" in out
    assert run(capsys, "comuna", "adhere", "99999", "--since", "2018-03-15")[0] == 2
    code, out = run(capsys, "comuna", "list")
    assert "13110\tLa Florida\t2018-03-15" in out and "10 adhered comunas" in out
    run(capsys, "comuna", "withdraw", "13110")
    assert "9 adhered comunas" in run(capsys, "comuna", "list")[1]


def test_comuna_import_is_all_or_nothing(capsys, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("cut,since\n13110,2018-03-15\n5101,2020-01-02\n", encoding="utf-8")
    code, out = run(capsys, "comuna", "import", str(good))
    assert code == 0 and "2 comunas" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("cut,since\n01101,2021-05-05\n77777,2020-01-02\n08101,ayer\n", encoding="utf-8")
    code, out = run(capsys, "comuna", "import", str(bad))
    assert code == 2 and "77777" in out and "line 4" in out and "nothing imported" in out
    # Valparaíso (05101) was in the shipped directory already: 9 + La Florida.
    listing = run(capsys, "comuna", "list")[1]
    assert "10 adhered comunas" in listing
    assert (
        "05101\tValparaíso\t2020-01-02\trenovada\thttps://web.municipalidaddevalparaiso" in listing
    )


def test_kb_unanswered_groups_similar_questions(capsys, database):
    import asyncio
    from datetime import UTC, datetime

    from storage import questions
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    async def seed() -> None:
        engine = create_engine(database)
        await upgrade(engine)
        async with session_factory(engine)() as s, s.begin():
            for text in (
                "como saco la licencia de conducir",
                "donde saco licencia de conducir?",
                "licencia de conducir para extranjeros",
                "horario del metro",
            ):
                await questions.log_unanswered(
                    s,
                    text=text,
                    lang="es",
                    channel="telegram",
                    best_topic=None,
                    score=0.1,
                    now=datetime(2026, 11, 1, tzinfo=UTC),
                )
        await engine.dispose()

    asyncio.run(seed())
    code, out = run(capsys, "kb", "unanswered")
    assert code == 0 and "4 unanswered questions in 2 groups" in out
    first = out.splitlines()[1]
    assert first.strip().startswith("3") and "licencia" in first
    assert "0 unanswered" in run(capsys, "kb", "unanswered", "--since", "2026-11-02")[1]


class _Terminal:
    """A stand-in for a terminal: what the progress bar writes, and `isatty()` true."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_bulletin_progress_bar_redraws_in_a_terminal(tmp_path, monkeypatch):
    text = tmp_path / "boletin.txt"
    text.write_text("Boletín de prueba", encoding="utf-8")
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    code = main(["bulletin", "send", "--text-file", str(text), "--wait"])
    out = "".join(terminal.written)
    assert code == 0
    bar = next(chunk for chunk in terminal.written if "sent 0" in chunk)
    # A real carriage return starts the bar, which is redrawn in place; never a literal "\r".
    assert bar.startswith("\r") and "\n" not in bar
    assert "\\r" not in out and "\\n" not in out
    assert "0/0" in bar


def test_bulletin_progress_without_a_terminal_prints_plain_lines(capsys, tmp_path):
    text = tmp_path / "boletin.txt"
    text.write_text("Boletín de prueba", encoding="utf-8")
    code, out = run(capsys, "bulletin", "send", "--text-file", str(text), "--wait")
    assert code == 0
    assert "\r" not in out and "\\r" not in out
    assert any(line.startswith("█") and "0/0" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("lang", "preparing", "banner"),
    [
        ("fr", "Préparation de la recherche", "écrivez votre question"),
        ("en", "Preparing the answer search", "type your question"),
        ("ht", "N ap prepare rechèch repons yo", "ekri kesyon w lan"),
    ],
)
def test_chat_speaks_the_asked_language_from_its_first_line(
    capsys, monkeypatch, lang, preparing, banner
):
    """`chat --lang fr|en|ht` said its first two lines in Spanish."""

    def no_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_input)
    assert main(["chat", "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert out.startswith(preparing)
    assert banner in out and "escribe tu pregunta" not in out


def test_ask_says_it_is_preparing_the_matcher_on_stderr(capsys):
    """The first start trains the matcher for tens of seconds: `ask` said nothing meanwhile.
    The line goes to stderr: stdout is the answer (`--json` is read by programs)."""
    code = main(["ask", "como saco el carnet chileno", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.startswith("Preparando el buscador de respuestas")
    assert json.loads(captured.out)["topic"]
