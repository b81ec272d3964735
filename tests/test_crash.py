"""kill -9 in the middle of a burst of WhatsApp messages, then a restart: every message that
got a 200 is answered, and duplicates stay within the messages in flight at the kill."""

from __future__ import annotations

from tests.crash import crash_run


async def test_kill_9_mid_burst_loses_no_acknowledged_whatsapp_message(database_url):
    figures = await crash_run("whatsapp", database_url, messages=150, timeout=60)
    assert figures.acknowledged == figures.messages  # every call delivered in the end
    assert figures.acknowledged_before_kill < figures.messages  # killed mid-burst
    assert figures.answered_before_kill < figures.acknowledged_before_kill  # work was pending
    assert figures.lost == 0, figures
    assert figures.duplicates <= figures.in_flight, figures
