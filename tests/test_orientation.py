"""/papeles: the guided orientation for "how do I get my papers?" (issue 12, item 2)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.channels.console import Console
from bot.settings import Settings
from intents.flows.orientation import ENTRY_TOPICS, QUESTIONS, decide
from intents.i18n import texts
from tests.conftest import Chat, bot_settings, shipped
from tests.fakes.graph_api import ids_of, text_of
from tests.shipped import KB, MATCHER
from tests.test_whatsapp import graph, wa  # noqa: F401  (the WhatsApp fixtures)

# Every branch: the answers pressed, and the topic answered at the end.
BRANCHES = [
    (["situation:minor"], "reg.nna"),
    (["situation:fear"], "reg.refugio"),
    (["situation:none", "entry:irregular"], "reg.ingreso_irregular"),
    (["situation:nose", "entry:border", "family:yes"], "reg.rt_familia"),
    (["situation:none", "entry:nose", "family:yes"], "reg.rt_familia"),
    (["situation:none", "entry:border", "family:no", "job:yes"], "reg.rt_trabajo"),
    (["situation:none", "entry:border", "family:nose", "job:no"], "reg.residencia_temporal"),
    (["situation:none", "entry:border", "family:no", "job:nose"], "reg.residencia_temporal"),
]
LANGS = ["es", "ht", "fr", "en"]


def _start(lang: str, topic: str) -> str:
    return KB.topic(topic).entry(lang).answer[:40]


def test_the_table_covers_every_answer_of_every_question():
    for step, question in QUESTIONS.items():
        for key in [k for k, _ in question.answers] + ["nose"]:
            outcome = decide(step, key)
            if isinstance(outcome, str):
                assert outcome in QUESTIONS
            else:
                assert 1 <= len(outcome) <= 3 and all(t in KB for t in outcome)
    with pytest.raises(ValueError):
        decide("nowhere", "yes")


def test_at_most_four_questions_and_two_unless_the_first_answer_decides():
    for presses, _ in BRANCHES:
        decisive = presses[0] in ("situation:minor", "situation:fear")
        assert (len(presses) == 1) if decisive else (2 <= len(presses) <= 4)


@pytest.mark.parametrize(("presses", "topic"), BRANCHES)
@pytest.mark.parametrize("lang", LANGS)
async def test_every_branch_ends_in_its_answer_in_every_language(app, presses, topic, lang):
    chat = Chat(app, user=f"o-{lang}", lang=lang)
    t = texts(lang)
    out = await chat.say("/papeles")
    assert t._("Guíame según mi caso") not in out  # the flow itself, not the offer
    assert t._("No sé") in out and t._("Salir") in out
    for press in presses:
        out = await chat.press(f"ori:{press}")
    assert t._("Según tus respuestas, esto es lo que más te sirve:") in out
    assert _start(lang, topic) in out
    assert "ori:start" in _payloads(chat)
    if any(p.endswith(":nose") for p in presses):
        assert (
            t._("Como no estabas seguro de algo, te dejo también los temas que lo aclaran.") in out
        )
    async with app.sessions() as s:
        from sqlalchemy import select

        from storage.models import User

        user = await s.scalar(select(User).where(User.external_id == f"o-{lang}"))
        assert user is not None and user.flow is None


def _payloads(chat: Chat) -> list[str]:
    return [b.payload for b in chat.console._buttons]


async def test_start_again_from_the_end(chat: Chat):
    await chat.say("/papeles")
    for press in ("situation:nose", "entry:nose", "family:no", "job:no"):
        await chat.press(f"ori:{press}")
    replies = await chat.app.engine.handle(_incoming(chat, "ori:start"))  # restart works
    assert "ori:situation:minor" in [b.payload for r in replies for b in r.flat_buttons]


def _incoming(chat: Chat, payload: str):
    from intents.messages import Incoming

    return Incoming("console", chat.console.user, chat.console.user, payload=payload)


async def test_unsure_answers_add_their_topics_as_buttons(chat: Chat):
    await chat.say("/papeles")
    for press in ("situation:nose", "entry:nose", "family:nose", "job:nose"):
        out = await chat.press(f"ori:{press}")
    payloads = set(_payloads(chat))
    assert {"kb:reg.refugio", "kb:reg.ingreso_irregular", "kb:reg.rt_familia"} <= payloads
    assert "kb:contacto.oficina_municipal" in payloads
    assert _start("es", "reg.residencia_temporal") in out
    # The colon announces the answer: the unsure sentence comes before it, not after.
    assert out.index("Como no estabas seguro") < out.index("lo que más te sirve:")


async def test_survives_a_restart_in_the_middle(app, database_url):
    chat = Chat(app, user="r1")
    await chat.say("/papeles")
    await chat.press("ori:situation:none")
    restarted = await build_app(Settings(database_url=database_url), **shipped())
    try:
        again = Chat(restarted, user="r1")
        out = await again.press("ori:entry:border")
        assert "pregunta 3" in out
        out = await again.press("ori:family:yes")
        assert _start("es", "reg.rt_familia") in out
    finally:
        await restarted.close()


async def test_the_terminal_restarted_in_the_middle_asks_the_same_question_again(app, database_url):
    """The terminal starts with /continuar: an unfinished orientation's question again (it
    showed the greeting and the menu, so a typed "1" picked a menu section), in the user's
    language; the greeting when nothing is unfinished or it expired."""
    first = io.StringIO()
    lines = ["/papeles", "3"]  # question 1's third answer: "none of these"

    def read() -> str:
        if not lines:
            raise EOFError
        return lines.pop(0)

    await Console(app.engine, user="t1", lang="fr", out=first).run(read)
    assert "question 2" in first.getvalue().lower()
    restarted = await build_app(Settings(database_url=database_url), **shipped())
    try:
        again = io.StringIO()
        lines[:] = ["1"]  # question 2's first answer, as shown again
        await Console(restarted.engine, user="t1", lang="fr", out=again).run(read)
        shown = again.getvalue()
        resumed, _, after = shown.partition(texts("fr")._("Seguimos donde quedamos:"))
        assert after and "question 2" in after.split("[1]")[0].lower()
        assert texts("fr")._("Temas principales") not in shown
        assert "question 3" in after.lower()  # "1" answered question 2
        # Nothing unfinished: the greeting and the menu, as before.
        fresh = io.StringIO()
        await Console(restarted.engine, user="t2", lang="fr", out=fresh).run(read)
        assert texts("fr")._("Seguimos donde quedamos:") not in fresh.getvalue()
    finally:
        await restarted.close()


async def test_the_terminal_start_keeps_a_case_draft_and_continuar_is_a_plain_word(
    app, database_url
):
    """The start is a press, not a command: a case draft pending at the terminal's start is
    kept and said so (/start ended it), and "continuar" typed at the draft's last step is an
    answer to that step, not a command that greets and drops the draft (a review of the
    twelfth session)."""
    from datetime import UTC, datetime

    from storage import codes
    from storage.models import User

    async with app.sessions() as s, s.begin():
        code = (await codes.issue(s, "13110", datetime.now(UTC))).code
    chat = Chat(app, user="draft1")
    await chat.say(f"/registro {code}")
    await chat.say("/caso")
    await chat.press("case:cat:salud")
    await chat.say("Familia Ejemplo sin atención en el CESFAM")
    await chat.press("case:urg:normal")  # step 4/4: review and confirm
    out = await chat.say("continuar")
    assert texts("es")._("Seguimos donde quedamos:") not in out and "¡Hola!" not in out
    restarted = await build_app(Settings(database_url=database_url), **shipped())
    try:
        shown = io.StringIO()
        await Console(restarted.engine, user="draft1", out=shown).run(_lines([]))
        assert "a medio hacer" in shown.getvalue() and "¡Hola!" not in shown.getvalue()
        async with restarted.sessions() as s:
            user = (await s.execute(select(User).where(User.external_id == "draft1"))).scalar_one()
            assert user.flow == "case" and user.flow_data
    finally:
        await restarted.close()


async def test_a_resume_press_in_a_group_shows_only_the_menu(chat: Chat):
    """Only the terminal sends it; pressed in a group (forged), it neither shows the sender's
    pending orientation question there nor ends it."""
    from intents.flows.menu import Resume
    from intents.messages import Incoming

    await chat.say("/papeles")
    await chat.press("ori:situation:none")
    group = Incoming("console", chat.console.user, "group-1", payload=Resume().pack())
    group = replace(group, private=False)
    out = " ".join(r.text for r in await chat.app.engine.handle(group))
    assert "pregunta 2" not in out and texts("es")._("Seguimos donde quedamos:") not in out
    out = await chat.press("ori:entry:border")  # still in its private chat
    assert "pregunta 3" in out


def _lines(lines: list[str]):
    def read() -> str:
        if not lines:
            raise EOFError
        return lines.pop(0)

    return read


async def test_leaving_at_any_step(chat: Chat):
    await chat.say("/papeles")
    out = await chat.press("ori:exit")
    assert "salimos de la orientación" in out
    await chat.say("/papeles")
    await chat.press("ori:situation:none")
    out = await chat.say("/cancelar")
    assert "lo dejamos aquí" in out
    # Pressing an answer after leaving does not resume it.
    out = await chat.press("ori:entry:border")
    assert "ya no está activa" in out and "pregunta 3" not in out


async def test_typed_answers_and_a_typed_question_leave_the_steps(chat: Chat):
    await chat.say("/papeles")
    out = await chat.say("no sé")
    assert "pregunta 2" in out
    await chat.press("ori:entry:border")
    out = await chat.say("sí")
    assert _start("es", "reg.rt_familia") in out
    await chat.say("/papeles")
    out = await chat.say("me atienden en el consultorio si no tengo papeles?")
    assert "FONASA" in out  # a new question: answered, the orientation left
    out = await chat.press("ori:situation:minor")
    assert "ya no está activa" in out


@pytest.mark.parametrize(
    ("lang", "typed", "topic"),
    [
        # A button's label typed: "con control" was read as a question and answered with the
        # page for those who entered WITHOUT control.
        ("es", ["ninguna", "con control", "si"], "reg.rt_familia"),
        ("es", ["ninguna", "sin control"], "reg.ingreso_irregular"),
        ("es", ["Ninguna", "por el aeropuerto", "no", "sí"], "reg.rt_trabajo"),
        ("es", ["ningna", "con contrl", "no", "no"], "reg.residencia_temporal"),  # typos
        ("ht", ["okenn", "ak kontwòl", "wi"], "reg.rt_familia"),
        ("fr", ["aucune", "sans contrôle"], "reg.ingreso_irregular"),
        ("en", ["none of these", "through a check", "yes"], "reg.rt_familia"),
        ("en", ["under 18"], "reg.nna"),
    ],
)
async def test_a_typed_button_label_answers_the_step(app, lang, typed, topic):
    chat = Chat(app, user=f"typed-{lang}-{len(typed)}-{topic}", lang=lang)
    t = texts(lang)
    await chat.say("/papeles")
    for said in typed[:-1]:
        out = await chat.say(said)  # the next question, still in the orientation
        assert t._("No sé") in out and t._("Salir") in out, (said, out)
    out = await chat.say(typed[-1])
    assert _start(lang, topic) in out, (typed, out)


async def test_replayed_unknown_and_out_of_order_presses_are_refused(chat: Chat):
    await chat.say("/papeles")
    for payload in ("ori:job:yes", "ori:situation:maybe", "ori:zzz", "ori:", "ori:entry"):
        out = await chat.press(payload)
        assert "ya no está activa" in out, payload
    out = await chat.press("ori:situation:minor")  # the current step still works
    assert _start("es", "reg.nna") in out
    out = await chat.press("ori:situation:minor")  # replayed after the end
    assert "ya no está activa" in out


async def test_entry_points(chat: Chat):
    for word in ("papeles", "papye", "/orientacion"):
        out = await chat.say(word)
        assert "pregunta 1" in out, word
        await chat.say("/cancelar")
    await chat.press("menu:reg")
    assert _payloads(chat)[0] == "ori:start"
    await chat.say("que tipos de permisos hay")  # the broad overview answer
    assert MATCHER.match("que tipos de permisos hay").topic in ENTRY_TOPICS
    assert _payloads(chat)[0] == "ori:start"
    await chat.say("me atienden en el consultorio si no tengo papeles?")  # a precise one
    assert "ori:start" not in _payloads(chat)


@pytest.mark.parametrize(
    "said",
    [
        "como me regularizo",
        "quiero regularizar mi situación",
        "kijan pou m regilarize m",
        "comment régulariser ma situation au Chili",
        "how do I regularize my situation",
        "mwen vle rete Chili",  # product.md's "I want to stay in Chile", in Kreyòl
        "I want to stay in Chile",
        # product.md's own examples, and the issue's: the fallback, a list of documents, or a
        # greeting only, before (a new-user trial of 2026-12-07).
        "cómo saco papeles",
        "kouman pou m jwenn papye",
        "mwen se ayisyen, kijan pou m jwenn papye?",
        "Bonjour, je suis haïtien, comment je peux avoir mes papiers au Chili?",
        "how do i get my papers",
        "hola, necesito ayuda con mis papeles",
        # "I would like to know", "I have been here 3 years", Kreyòl "ed": a greeting, the
        # fallback or "did you mean: Greeting?" before (a new-user trial, tenth session).
        "hola buenas, como saco mis papeles?? llevo 3 años aca",
        "bonjou, m bezwen ed pou papye m",
        "I would like to know how to get my papers",
        "Bonjour, je voudrais savoir comment avoir mes papiers",
        "quisiera saber como regularizarme",
        "how can I get my papers, I have been here 6 months",
        "kijan pou m fè papye m, m gen 2 lane isit",
    ],
)
async def test_a_broad_papers_question_starts_the_orientation(app, said):
    """product.md: broad questions are answered with the guided orientation. These got the
    municipalities' Sello line 4, the fallback, a document list or a greeting."""
    chat = Chat(app, user=said[:20], lang=None)
    await chat.say(said)
    assert "ori:situation:minor" in _payloads(chat) and "ori:exit" in _payloads(chat)


@pytest.mark.parametrize(
    "said",
    ["que papeles necesito para la definitiva", "papeles para mi hijo", "que papeles piden"],
)
async def test_a_question_about_some_papers_is_answered(app, said):
    chat = Chat(app, user=said[:20], lang=None)
    await chat.say(said)
    assert "ori:situation:minor" not in _payloads(chat)


async def test_an_unclear_question_about_papers_offers_the_orientation_first(chat: Chat):
    text = "necesito papeles para trabajar"
    match = MATCHER.match(text)
    if match.topic is not None or not any(s.startswith("reg.") for s in match.suggestions):
        pytest.fail(f"the matcher changed: pick another unclear question ({match})")
    await chat.say(text)
    assert _payloads(chat)[0] == "ori:start"
    out = await chat.press("ori:start")
    assert "pregunta 1" in out


async def test_orientation_on_telegram_in_french(telegram, run_bot, database_url):
    user = 5550888
    await run_bot(bot_settings(database_url, telegram))
    telegram.message(user, "/papeles", lang="fr")
    sent = await telegram.wait_sent(user, 2)
    t = texts("fr")
    assert sent[1].text.startswith("Orientation, question 1")
    assert [b["text"] for b in sent[1].buttons][-2:] == [t._("No sé"), t._("Salir")]
    telegram.press(user, "ori:situation:fear", lang="fr")
    sent = await telegram.wait_sent(user, 4)
    assert _start("fr", "reg.refugio") in sent[3].text


async def test_orientation_on_whatsapp_in_kreyol(wa, graph):  # noqa: F811
    phone = "56900000041"
    # A broad question starts it at once.
    await wa.say(phone, "Bonjou, mwen bezwen konnen kijan pou m jwenn papye mwen isit la")
    sent = await graph.wait(phone, 2)
    assert text_of(sent[0]).startswith("Gen plizyè chemen")
    assert "ori:situation:minor" in ids_of(sent[1]) and "ori:exit" in ids_of(sent[1])
    await wa.press(phone, "ori:situation:none", kind="list_reply")
    sent = await graph.wait(phone, 3)
    assert text_of(sent[2]).startswith("Oryantasyon, kesyon 2")
    await wa.press(phone, "ori:entry:irregular", kind="list_reply")
    sent = await graph.wait(phone, 5)
    assert _start("ht", "reg.ingreso_irregular") in text_of(sent[4])
    assert graph.problems == []


async def test_changing_the_language_in_the_middle_asks_the_question_again_in_it(chat: Chat):
    """/idioma during the orientation ended it without a word (a new-user trial of
    2026-12-07): the current question comes back, in the new language."""
    await chat.say("/papeles")
    await chat.press("ori:situation:none")
    await chat.say("/idioma")
    out = await chat.press("lang:ht")
    assert out.startswith(texts("ht")._("Listo, te escribiré en español.")), out
    assert "Oryantasyon, kesyon 2" in out, out
    out = await chat.press("ori:entry:irregular")
    assert _start("ht", "reg.ingreso_irregular") in out, out


@pytest.mark.parametrize(
    ("at", "said", "not_this"),
    [
        ([], "no tengo miedo", "reg.refugio"),
        ([], "no temo volver", "reg.refugio"),
        (["ori:situation:none"], "por la frontera sin control", None),
        (["ori:situation:none"], "with a check", "reg.ingreso_irregular"),
    ],
)
async def test_a_negated_answer_is_not_read_backwards(app, at, said, not_this):
    """A close ratio read "no tengo miedo" as "afraid to go back" and "with a check" as "no
    check" (the review of 2026-12-07)."""
    chat = Chat(app, user=f"neg-{said[:12]}", lang="es")
    await chat.say("/papeles")
    for press in at:
        await chat.press(press)
    out = await chat.say(said)
    if not_this:
        assert _start("es", not_this) not in out, out
    assert "Orientación, pregunta 3" not in out, out  # never on to the family question
