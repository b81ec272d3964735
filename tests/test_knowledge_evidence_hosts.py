"""Where the knowledge base's evidence points: pages a person can open on the official site.

A quote read on a staging copy of an official site (www-pre., wp-web.dev., test.), on the help
centre's old Freshdesk host or on a Scribd copy of an official document is not a page the user
can check, and it may not say what the live page says; a topic's source is the link shown under
every answer, so it must be an official page (issue 12: the Sello topics linked a UN page)."""

from __future__ import annotations

from urllib.parse import urlparse

from knowledge import content

STAGING_OR_COPY = (
    "www-pre.serviciomigraciones.cl",
    "wp-web.dev.senamig.cl",
    "test.chileatiende.cl",
    "sernamig.freshdesk.com",
    "scribd.com",
)
OFFICIAL = (
    "serviciomigraciones.cl",  # SERMIG and its help centre (ayuda.)
    "gob.cl",  # ChileAtiende, ministries, SernamEG, SENCE, consulates
    "registrocivil.cl",
    "pdichile.cl",
    "bcn.cl",  # Ley Chile
    "ayudamineduc.cl",
    "minsal.cl",
    "pjud.cl",
)


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def test_no_evidence_or_source_is_a_staging_page_or_a_copy():
    kb = content.load()
    found = [
        f"{topic.id}: {url}"
        for topic in kb.topics.values()
        for url in (topic.source, *(item.url for item in topic.evidence if item.url))
        if _within(_host(url), STAGING_OR_COPY)
    ]
    assert found == []


def test_every_topic_source_is_an_official_page():
    kb = content.load()
    found = [
        f"{topic.id}: {topic.source}"
        for topic in kb.topics.values()
        if not _within(_host(topic.source), OFFICIAL)
        or _within(_host(topic.source), STAGING_OR_COPY)
    ]
    assert found == []
