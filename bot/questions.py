"""One question to the knowledge base, answered as the bot would (used by `sello-bot ask`)."""

from __future__ import annotations

from typing import Any

from bot.app import App
from intents.answers import topic_reply
from intents.context import Context
from intents.flows.faq import fallback
from intents.i18n import texts
from intents.language import choose
from intents.messages import Incoming
from knowledge.matcher import MatchKind
from storage.models import User


async def ask(app: App, text: str, lang: str | None) -> dict[str, Any]:
    services = app.engine.services
    match = services.matcher.match(text)
    answer_lang = choose(lang, text, None, match.lang)
    incoming = Incoming("cli", "cli", "cli", text=text, language_hint=answer_lang)
    # A throw-away user: `ask` reads the database but never writes to it.
    user = User(
        channel="cli", external_id="cli", chat_id="cli", role="migrant", language=answer_lang
    )
    async with app.sessions() as session:
        ctx = Context(session, user, incoming, texts(answer_lang), app.engine.clock(), services)
        if match.kind is MatchKind.FULL and match.topic:
            answer = (await topic_reply(ctx, match.topic))[0].text
        elif match.kind is MatchKind.PARTIAL:
            titles = [services.kb.topic(s).entry(answer_lang).title for s in match.suggestions]
            answer = (
                ctx.t._("No estoy seguro de haber entendido. ¿Te refieres a…?")
                + "\n"
                + "\n".join(f"• {title}" for title in titles)
            )
        else:
            answer = fallback(ctx).text
    return {
        "topic": match.topic,
        "score": round(match.score, 4),
        "lang": answer_lang,
        "answer": answer,
        "suggestions": list(match.suggestions),
    }
